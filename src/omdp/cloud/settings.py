"""The cloud's settings: its broker, store, ingest, retention and API (``OMDP_CLOUD_``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field
from pydantic_settings import SettingsConfigDict

from omdp.cloud.api.settings import ApiServerSettings
from omdp.domain.identifiers import Identifier
from omdp.domain.reading import MeterClass
from omdp.mqtt.settings import MqttSettings
from omdp.settings import ComponentSettings


class DatabaseSettings(BaseModel):
    """Where the cloud (or a no-cloud edge) stores readings."""

    url: str = Field(
        default="sqlite:///data/omdp.sqlite3",
        description="sqlite:///PATH or postgresql://user@host:port/db",
    )
    pool_size: int = Field(default=5, ge=1, le=100)


class IngestSettings(BaseModel):
    """How the cloud ingest consumes ``concentrator/#`` and batches its writes (CL-2)."""

    client_id: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="MQTT client id of the ingest's persistent session; default derived from "
        "its broker password (stable, not guessable). Several ingest processes: one each.",
    )
    shared_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9._-]{1,64}$",
        description="MQTT 5 shared-subscription group: $share/{group}/concentrator/#.",
    )
    batch_size: int = Field(
        default=1000, ge=1, le=50_000, description="Most messages written in one commit."
    )
    flush_interval_s: float = Field(
        default=0.2,
        gt=0,
        le=60,
        description="Longest a message waits for its batch while the previous batch commits"
        " (with the writer free, a batch is written at once).",
    )
    max_message_bytes: int = Field(default=256 * 1024, ge=1024, le=16 * 1024 * 1024)
    quarantine_max_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Most payload bytes the quarantine holds; bad messages beyond are dropped "
        "(counted in omdp_ingest_quarantine_dropped, logged).",
    )
    site_refresh_s: float = Field(
        default=5.0, gt=0, le=3600, description="How often the meters' sites are read again."
    )
    require_site: bool = Field(
        default=False,
        description="Quarantine readings of meters that have no site (concentrator) registered.",
    )
    receipts: bool = Field(
        default=True,
        description="Publish a receipt per committed batch on omdp/receipts/{concentratorId}: "
        "edges delete what they forwarded only on it.",
    )
    metrics_port: int | None = Field(default=None, ge=0, le=65535)
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address of the metrics listener: loopback by default, for a local scraper.",
    )


class RetentionSettings(BaseModel):
    """How long readings are kept (CL-13); None keeps them for ever."""

    default_days: int | None = Field(default=None, ge=1)
    meter_class_days: dict[MeterClass, int] = Field(default_factory=dict)
    household_days: dict[Identifier, int] = Field(default_factory=dict)
    interval_s: float = Field(default=3600, gt=0, description="How often it is enforced.")

    @property
    def limits_anything(self) -> bool:
        """Whether these settings limit how long anything is kept."""
        return (
            self.default_days is not None
            or bool(self.meter_class_days)
            or bool(self.household_days)
        )


class CloudSettings(ComponentSettings, ApiServerSettings):
    """The cloud: ingest and API (the API's own fields: :class:`ApiServerSettings`)."""

    model_config = SettingsConfigDict(env_prefix="OMDP_CLOUD_")

    mqtt: MqttSettings = MqttSettings()
    db: DatabaseSettings = DatabaseSettings()
    catalog_files: list[Path] = Field(default_factory=list)
    edge_url: str | None = Field(
        default=None,
        description="The edge's live API (http://edge:8081) that the app at /app/ shows live "
        "data from; the cloud proxies it for logged-in users.",
    )
    ingest: IngestSettings = IngestSettings()
    retention: RetentionSettings = RetentionSettings()
