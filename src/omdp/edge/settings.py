"""The edge's settings (``OMDP_EDGE_``) and its alert rules (APP-4, CO-4)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic_settings import SettingsConfigDict

from omdp.cloud.api.settings import ApiSettings
from omdp.cloud.settings import DatabaseSettings, RetentionSettings
from omdp.domain.identifiers import Identifier
from omdp.mqtt.settings import MqttSettings
from omdp.settings import ComponentSettings


class _RuleBase(BaseModel):
    """Fields every edge alert rule has (APP-4, CO-4)."""

    model_config = ConfigDict(extra="forbid")

    id: Identifier = Field(description="Rule id; a level of the alert topic.")
    meter_id: Identifier | None = Field(default=None, description="Only this meter; all if unset.")
    message: str | None = Field(default=None, max_length=256, description="Text of the alert.")


class ThresholdRule(_RuleBase):
    """A property above ``above`` or below ``below`` for at least ``duration_s`` seconds."""

    kind: Literal["threshold"] = "threshold"
    property_id: Identifier
    above: float | None = None
    below: float | None = None
    duration_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_bound(self) -> ThresholdRule:
        if self.above is None and self.below is None:
            msg = "a threshold rule needs above or below"
            raise ValueError(msg)
        return self


class SilenceRule(_RuleBase):
    """A meter silent for longer than ``intervals`` reading intervals of ``interval_s`` seconds."""

    kind: Literal["silence"] = "silence"
    interval_s: float = Field(default=60.0, gt=0)
    intervals: int = Field(default=3, ge=1)


class BackwardsRule(_RuleBase):
    """A cumulative register (``OBIS_x.8.y``) whose value goes down; all of them if unset."""

    kind: Literal["register_backwards"] = "register_backwards"
    property_id: Identifier | None = None


class RangeRule(_RuleBase):
    """A value outside its physical range ``[minimum, maximum]``."""

    kind: Literal["physical_range"] = "physical_range"
    property_id: Identifier
    minimum: float | None = None
    maximum: float | None = None


EdgeRule = Annotated[
    ThresholdRule | SilenceRule | BackwardsRule | RangeRule, Field(discriminator="kind")
]
"""One configured alert rule of the edge, told apart by ``kind``."""


class EdgeRegistrySettings(BaseModel):
    """Where an edge that forwards to a cloud reads which meter belongs to which household."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, description="The cloud API, e.g. https://cloud:8443/api.")
    client_id: str = Field(min_length=1, description="A client of role concentrator.")
    client_secret: SecretStr
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the cloud.")
    refresh_s: float = Field(default=30.0, ge=1, le=3600, description="How often it is read.")


class EdgeSettings(ComponentSettings):
    """The concentrator / IoT edge."""

    model_config = SettingsConfigDict(env_prefix="OMDP_EDGE_")

    concentrator_id: Identifier = "edge-1"
    local: MqttSettings | None = Field(
        default=MqttSettings(),
        description="The local broker the adapters publish to (CO-1); null: none, the edge then "
        "takes readings only from its in-process adapters.",
    )
    cloud: MqttSettings | None = Field(
        default=MqttSettings(),
        description="The cloud broker (CO-3); null, or left unset, when store is set.",
    )
    store: DatabaseSettings | None = Field(
        default=None,
        description="No-cloud mode: keep the history in this store and answer the cloud's query "
        "API (api group) on http_port instead of forwarding to a cloud broker.",
    )
    api: ApiSettings = Field(
        default_factory=ApiSettings,
        description="The query API of a no-cloud edge: tokens, keys, limits, as the cloud's.",
    )
    retention: RetentionSettings = Field(
        default_factory=RetentionSettings,
        description="How long a no-cloud edge's store keeps readings (CL-13), as the cloud's.",
    )
    catalog_files: list[Path] = Field(
        default_factory=list,
        description="Extra property catalogues, for the in-process adapters and the store.",
    )
    adapters: list[Path] = Field(
        default_factory=list,
        description="Adapter configuration files run inside the edge process (adapter and edge "
        "on one device): their readings are handed over without a broker.",
    )
    meter_households: dict[Identifier, Identifier] = Field(
        default_factory=dict,
        description="Meter id -> household id: who sees which live data. The registry (the "
        "store of a no-cloud edge, or the cloud's registry) adds the meters it knows.",
    )
    registry: EdgeRegistrySettings | None = Field(
        default=None, description="The cloud registry to read meter households from."
    )
    outbox_path: Path = Path("data/edge-outbox.sqlite3")
    outbox_max_messages: int = Field(default=1_000_000, ge=1)
    outbox_max_bytes: int = Field(
        default=1024**3,
        ge=1024,
        description="Most payload bytes the outbox holds; intake pauses above (as when full).",
    )
    max_message_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        le=256 * 1024 * 1024,
        description="Larger messages are dropped at intake (counted, logged), never stored; "
        "smaller ones too big for the cloud are forwarded, to be quarantined there with why.",
    )
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8081, ge=0, le=65535)
    timezone: str = Field(default="UTC", description="The household's IANA timezone (APP-1).")
    rules: list[EdgeRule] = Field(default_factory=list, description="Local alert rules (APP-4).")
    outbox_batch: int = Field(default=2000, ge=1, le=50_000, description="Messages per commit.")
    forward_window: int = Field(
        default=1000, ge=1, le=20_000, description="Publishes in flight to the cloud."
    )
    cloud_receipts: bool = Field(
        default=True,
        description="Delete a forwarded message from the outbox only on the cloud ingest's "
        "receipt (omdp/receipts/{concentrator_id}); false: on the cloud broker's PUBACK, for a "
        "cloud that sends no receipts (a broker restart or crash can then lose messages).",
    )
    receipt_timeout_s: float = Field(
        default=30.0, ge=1, le=3600, description="Send a message again after this long unreceipted."
    )
    receipt_window: int = Field(
        default=20_000, ge=1, le=1_000_000, description="Messages waiting for a receipt at most."
    )
    local_queue_size: int = Field(
        default=50_000, ge=100, le=500_000, description="Received messages held in memory."
    )
    outbox_warn_ratio: float = Field(default=0.8, gt=0, le=1, description="Warn when this full.")
    recent_alerts: int = Field(default=200, ge=1, le=10_000, description="Alerts kept for the API.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown timezone {value!r} (use an IANA name such as Europe/Brussels)"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _deployment(self) -> EdgeSettings:
        """One destination (cloud broker or store) and at least one source (broker, adapters)."""
        if self.store is not None:
            if self.cloud is not None and "cloud" in self.model_fields_set:
                msg = "set store (keep the history on the edge) or cloud, not both"
                raise ValueError(msg)
            self.cloud = None
        elif self.retention.limits_anything:
            msg = "retention applies to the edge's own store: set store, or drop retention"
            raise ValueError(msg)
        elif self.cloud is None:
            msg = "cloud is null and no store is set: forwarded readings would have nowhere to go"
            raise ValueError(msg)
        if self.local is None and not self.adapters:
            msg = "local is null and no adapters are set: the edge would take no readings"
            raise ValueError(msg)
        return self
