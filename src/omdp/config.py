"""Settings of each process: a YAML file, overridden by environment variables.

Each component has one settings model with its own prefix (``OMDP_EDGE_``, ``OMDP_CLOUD_``);
nested groups are reached with ``__``: ``OMDP_CLOUD_DB__URL=postgresql://...`` overrides
``db: {url: ...}`` of the file. Secrets are :class:`~pydantic.SecretStr` and never printed.
:func:`load_settings` is called once, by the entry point, and the result passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from omdp.domain.identifiers import Identifier
from omdp.domain.reading import MeterClass
from omdp.domain.validation import problems_of
from omdp.errors import ConfigError


class MqttSettings(BaseModel):
    """A connection to an MQTT broker."""

    host: str = "127.0.0.1"
    protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        description="MQTT version; 3.1.1 for brokers without MQTT 5 (e.g. amqtt): no shared "
        "subscriptions then.",
    )
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = None
    keepalive: int = Field(default=60, ge=5, le=3600)


class DatabaseSettings(BaseModel):
    """Where the cloud (or a no-cloud edge) stores readings."""

    url: str = Field(
        default="sqlite:///data/omdp.sqlite3",
        description="sqlite:///PATH or postgresql://user@host:port/db",
    )
    pool_size: int = Field(default=5, ge=1, le=100)


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


class ComponentSettings(BaseSettings):
    """Base of every component's settings: YAML file first, environment overrides it."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


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


ApiScope = Literal[
    "readings:read", "readings:delete", "registry:read", "registry:write", "operate"
]
"""A right a REST API caller may hold (CL-6, CL-11)."""


class ApiTokenGrant(BaseModel):
    """Who a static bearer token stands for; the key of the mapping is its SHA-256 (hex)."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=256, description="Caller name, for audits.")
    scopes: list[ApiScope] = Field(default_factory=list)
    household_id: Identifier | None = Field(
        default=None, description="Set for a household owner: the data they are entitled to."
    )


class AdapterBrokerSettings(BaseModel):
    """The broker written into created adapter configuration files (CL-10)."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = "5"
    tls: bool = False
    ca_file: str | None = Field(
        default=None,
        max_length=1024,
        description="The CA file on the adapter's device that verifies the broker (with tls).",
    )


JwtAlgorithm = Literal["RS256", "ES256", "EdDSA"]
"""An asymmetric JWS algorithm accepted on access tokens (CL-6); never ``none`` or HMAC."""
_ALL_JWT_ALGORITHMS: tuple[JwtAlgorithm, ...] = ("RS256", "ES256", "EdDSA")


class OidcIssuerSettings(BaseModel):
    """An external OpenID Connect issuer whose JWT access tokens the API accepts (CL-6)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, description="The issuer URL, exactly as in the iss claim.")
    audience: str = Field(min_length=1, description="The aud this API expects.")
    discovery_url: str | None = Field(
        default=None, description="Default: {issuer}/.well-known/openid-configuration."
    )
    algorithms: list[JwtAlgorithm] = Field(default_factory=lambda: list(_ALL_JWT_ALGORITHMS))
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the issuer.")
    leeway_s: int = Field(default=30, ge=0, le=300)
    refetch_interval_s: float = Field(
        default=30.0, ge=0, le=3600, description="Least time between JWKS fetches."
    )


class AuthSettings(BaseModel):
    """Tokens of users and services (CL-6, CL-14): the embedded issuer and external ones."""

    model_config = ConfigDict(extra="forbid")

    static_tokens: bool = Field(default=True, description="Also accept api.tokens.")
    issuer_enabled: bool = Field(default=True, description="Run the embedded token issuer.")
    issuer_url: str | None = Field(
        default=None, description="iss of the embedded issuer; default from host, port, prefix."
    )
    audience: str = Field(default="omdp-api", min_length=1)
    users_db: Path | None = Field(
        default=None, description="Users, clients, tokens; default beside credentials_file."
    )
    keys_dir: Path | None = Field(
        default=None, description="Signing keys of the issuer; default beside credentials_file."
    )
    token_ttl_s: int = Field(default=900, ge=30, le=86400)
    refresh_ttl_s: int = Field(
        default=7 * 86400,
        ge=60,
        le=366 * 86400,
        description="Life of a refresh token; each refresh starts a new one (the app's session).",
    )
    token_rate_per_minute: int = Field(
        default=20, ge=1, le=10_000, description="Token requests per client address and minute."
    )
    login_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Failed logins of one account from one address before that pair waits.",
    )
    login_failure_window_s: int = Field(default=900, ge=10, le=86400)
    login_slowdown_failures_per_minute: int = Field(
        default=100,
        ge=1,
        description="Failed logins a minute (all accounts) above which every login is slowed.",
    )
    login_slowdown_s: float = Field(default=1.0, ge=0, le=30)
    external: list[OidcIssuerSettings] = Field(default_factory=list)
    edge_audience: str = Field(
        default="omdp-edge",
        min_length=1,
        description="aud of the short-lived tokens the app's edge proxy sends the edge for its "
        "caller; the edge trusts this issuer for this audience (api.auth.external).",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)


class HttpsSettings(BaseModel):
    """TLS of the cloud's HTTP interface (CL-7): HTTPS on http_port, a redirect on plain HTTP."""

    model_config = ConfigDict(extra="forbid")

    cert_file: Path | None = Field(default=None, description="Server certificate (PEM).")
    key_file: Path | None = Field(default=None, description="Its private key (PEM, mode 600).")
    client_ca_file: Path | None = Field(default=None, description="CA of client certificates.")
    redirect_port: int | None = Field(
        default=None, ge=0, le=65535, description="Plain-HTTP port answering 308 to HTTPS."
    )

    @property
    def enabled(self) -> bool:
        """Whether a certificate and key are configured."""
        return self.cert_file is not None and self.key_file is not None


class ApiSettings(BaseModel):
    """The cloud's REST API (CL-3..CL-13)."""

    model_config = ConfigDict(extra="forbid")

    tokens: dict[str, ApiTokenGrant] = Field(
        default_factory=dict,
        description="Static bearer tokens: SHA-256 hex of the token -> the caller it stands for.",
    )
    bulk_secret: SecretStr | None = Field(
        default=None, description="Key of bulk links (AEAD); random per process when unset."
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of meter pseudonyms; random per process (unstable) when unset.",
    )
    bulk_link_ttl_s: int = Field(default=3600, ge=10, le=7 * 86400)
    json_max_rows: int = Field(
        default=10_000, ge=1, description="Above this many rows an unpaged query answers bulk."
    )
    min_result_rows: int = Field(default=20, ge=1, description="CL-8: smaller results refused.")
    parquet_row_group: int = Field(default=100_000, ge=1000, le=10_000_000)
    credentials_file: Path = Field(
        default=Path("data/device-credentials.json"),
        description="Password hashes of devices created by /v1/adapterConfigurations.",
    )
    adapter_broker: AdapterBrokerSettings = AdapterBrokerSettings()
    auth: AuthSettings = AuthSettings()
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without a token (default: an operator's token is needed).",
    )


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


class CloudSettings(ComponentSettings):
    """The cloud: ingest and API."""

    model_config = SettingsConfigDict(env_prefix="OMDP_CLOUD_")

    mqtt: MqttSettings = MqttSettings()
    db: DatabaseSettings = DatabaseSettings()
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    path_prefix: str = ""
    catalog_files: list[Path] = Field(default_factory=list)
    edge_url: str | None = Field(
        default=None,
        description="The edge's live API (http://edge:8081) that the app at /app/ shows live "
        "data from; the cloud proxies it for logged-in users.",
    )
    ingest: IngestSettings = IngestSettings()
    retention: RetentionSettings = RetentionSettings()
    api: ApiSettings = ApiSettings()
    tls: HttpsSettings = HttpsSettings()


S = TypeVar("S", bound=ComponentSettings)


def load_settings(cls: type[S], path: str | Path | None = None, **overrides: Any) -> S:
    """Load ``cls`` from the YAML file at ``path`` (optional) and the environment.

    Raises:
        ConfigError: naming the file, the setting and the reason.
    """
    source = str(path) if path is not None else "environment"
    if path is not None and not Path(path).is_file():
        msg = f"{path}: configuration file not found"
        raise ConfigError(msg)
    bound = type(cls.__name__, (cls,), {"model_config": {**cls.model_config, "yaml_file": path}})
    try:
        return bound(**overrides)  # type: ignore[no-any-return]
    except ValidationError as exc:
        details = "; ".join(f"{p.removeprefix('$.')}: {r}" for p, r in problems_of(exc))
        msg = f"{source}: invalid settings: {details}"
        raise ConfigError(msg) from None
    except (ValueError, yaml.YAMLError) as exc:  # malformed YAML
        msg = f"{source}: cannot read settings: {exc}"
        raise ConfigError(msg) from None
