"""The adapter configuration file (CL-10, AD-4) that the cloud creates and an adapter reads.

The specification fixes three top-level keys: ``MeterIndividualId``,
``OperationalPropertyMapping: [{from, to}]`` and ``CloudAuth: {username?, password?, token?}``.
We add, with the same PascalCase style, ``StaticValues`` (facts the meter does not know, AD-3),
``Broker`` (the upstream connection) and ``Meter`` (how to reach the meter). Extra keys are
refused, so that a typo is an error rather than a silently ignored setting.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from omdp.domain.identifiers import Identifier


class _FileModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class PropertyMapping(_FileModel):
    """Maps one value of the meter (``from``) onto one operational property (``to``)."""

    source: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        alias="from",
        description=(
            "What to read: an OBIS code (1-0:1.8.0), an M-Bus record selector "
            "(mbus:quantity=energy,function=instantaneous,storage=0,tariff=0), or a JSON path "
            "($.power)."
        ),
    )
    target: Identifier = Field(alias="to", description="Operational property id.")
    unit: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, description="Unit to convert into; default: the property's first unit."
    )
    scale: float = Field(default=1.0, description="Extra factor applied before conversion.")


class StaticValue(_FileModel):
    """A fact from configuration, sent with every reading (AD-3), e.g. the household size."""

    to: Identifier
    numerical_value: float | None = Field(default=None, alias="numericalValue")
    text_value: Annotated[str, Field(max_length=4096)] | None = Field(
        default=None, alias="textValue"
    )
    unit: Annotated[str, Field(max_length=32)] | None = None


class CloudAuth(_FileModel):
    """How the adapter authenticates upstream (CL-10); secrets never printed."""

    username: Annotated[str, Field(max_length=256)] | None = None
    password: SecretStr | None = None
    token: SecretStr | None = None


class BrokerConnection(_FileModel):
    """The MQTT broker the adapter publishes to."""

    host: Annotated[str, Field(min_length=1, max_length=253)] = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = Field(default="5", description="MQTT version.")
    tls: bool = False
    ca_file: str | None = Field(default=None, alias="caFile")
    client_id: Annotated[str, Field(max_length=128)] | None = Field(default=None, alias="clientId")
    keepalive: int = Field(default=60, ge=5, le=3600)


class RadioMeter(_FileModel):
    """One wireless M-Bus meter heard by the receiver (``Meter.kind: wmbus``).

    Each radio meter is published as its own MeterIndividual, with its own mapping (its
    ``profile`` and ``mapping``, else the file's OperationalPropertyMapping).
    """

    id: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{8}$")] = Field(
        description="The meter's 8-digit identification number, as printed on it."
    )
    meter_individual_id: Identifier = Field(alias="meterIndividualId")
    key: SecretStr | None = Field(
        default=None,
        description="AES-128 key, 32 hex digits (encrypted at rest as enc:v1:...).",
    )
    manufacturer: Annotated[str, Field(pattern=r"^[A-Za-z@\[\\\]^_]{3}$")] | None = Field(
        default=None, description="Only telegrams with this M-field (three letters)."
    )
    profile: Annotated[str, Field(max_length=64)] | None = None
    mapping: list[PropertyMapping] = Field(default_factory=list, max_length=1024)
    household_id: Identifier | None = Field(default=None, alias="householdId")
    silent_after: float = Field(
        default=3600.0,
        gt=0,
        le=7 * 86400,
        alias="silentAfter",
        description="Seconds without a telegram after which the meter is flagged silent.",
    )


class MeterConnection(_FileModel):
    """How the adapter reaches its meter."""

    kind: Literal["mbus", "dsmr", "sml", "json-mqtt", "dlms", "wmbus"]
    tcp: Annotated[str, Field(max_length=300)] | None = Field(
        default=None, description="host:port of a TCP gateway or bridge."
    )
    serial: Annotated[str, Field(max_length=300)] | None = Field(
        default=None, description="Serial device, e.g. /dev/ttyUSB0."
    )
    baudrate: int | None = Field(default=None, ge=300, le=921600)
    address: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, description="M-Bus primary (0-250) or secondary (8 digits) address."
    )
    interval: float = Field(default=60.0, gt=0, le=86400, description="Seconds between reads.")
    profile: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="A shipped mapping profile, e.g. mbus-electricity-3phase."
    )
    serial_format: Literal["8N1", "7E1", "8E1"] | None = Field(
        default=None,
        alias="serialFormat",
        description=(
            "Serial byte format; default per kind: 8N1 (DSMR 4/5, SML), 8E1 (M-Bus). "
            "DSMR 2.2/3 meters use 7E1 at 9600 baud."
        ),
    )
    spec: Annotated[str, Field(max_length=32)] | None = Field(
        default=None, description="DSMR telegram specification (v2.2, v4, v5, belgian...); auto."
    )
    timeout: float | None = Field(
        default=None,
        gt=0,
        le=600,
        description="Seconds to wait for an answer (M-Bus) or to connect (TCP, broker).",
    )
    retries: int | None = Field(
        default=None, ge=0, le=10, description="M-Bus: repetitions of an unanswered request."
    )
    timezone: Annotated[str, Field(max_length=64)] | None = Field(
        default=None,
        description="IANA zone of the meter's own clock (M-Bus, JSON without offset); UTC.",
    )
    topic: Annotated[str, Field(min_length=1, max_length=512)] | None = Field(
        default=None, description="json-mqtt: the topic (filter) the device publishes JSON on."
    )
    broker_host: Annotated[str, Field(min_length=1, max_length=253)] | None = Field(
        default=None,
        alias="brokerHost",
        description="json-mqtt: the broker the device publishes to; default: the Broker's.",
    )
    broker_port: int | None = Field(default=None, ge=1, le=65535, alias="brokerPort")
    time_path: Annotated[str, Field(min_length=2, max_length=256)] | None = Field(
        default=None,
        alias="timePath",
        description="json-mqtt: JSON path of the device's own timestamp, e.g. $.time.",
    )
    key: Annotated[str, Field(min_length=1, max_length=400)] | None = Field(
        default=None,
        description=(
            "dlms: the household's encryption key (32 hex digits; enc:v1:... when encrypted at "
            "rest). A secret: the file must then be mode 600."
        ),
    )
    auth_key: Annotated[str, Field(min_length=1, max_length=400)] | None = Field(
        default=None,
        alias="authKey",
        description="dlms: the authentication key, where the operator uses one (32 hex digits).",
    )
    listen: Annotated[str, Field(max_length=300)] | None = Field(
        default=None,
        description="dlms: host:port to accept a pushing bridge on (instead of tcp or serial).",
    )
    dongle: Literal["im871a", "amb8465", "rtlwmbus"] | None = Field(
        default=None,
        description="wmbus: the receiver's protocol; rtlwmbus without serial/tcp reads stdin.",
    )
    link_mode: Literal["S1", "S1m", "T1", "T2", "C1", "C1a", "C1b", "C1T1"] | None = Field(
        default=None,
        alias="linkMode",
        description=(
            "wmbus: the meters' link mode, set in the dongle on every connection (iM871A: S1, "
            "S1m, T1, T2, C1 = C1a, C1b; AMB8465: S1, T1, C1, C1T1); unset: as the dongle is."
        ),
    )
    radio_meters: list[RadioMeter] = Field(
        default_factory=list,
        alias="radioMeters",
        max_length=1024,
        description="wmbus: the meters to listen to (others are ignored).",
    )


class AdapterOptions(_FileModel):
    """How the adapter itself runs (our extension)."""

    outbox_path: str | None = Field(
        default=None,
        alias="outboxPath",
        description="Durable outbox file; relative paths are relative to the config file. "
        "Default: {MeterIndividualId}.outbox.sqlite3 in the adapter's state folder (omdp "
        "adapter run --state-dir, else the config file's folder): one per meter, never shared.",
    )
    outbox_max_messages: int = Field(default=100_000, ge=10, alias="outboxMaxMessages")
    timezone: Annotated[str, Field(max_length=64)] = Field(
        default="UTC", description="IANA timezone of readingTime offsets, e.g. Europe/Berlin."
    )
    household_id: Identifier | None = Field(default=None, alias="householdId")
    max_clock_skew_s: float = Field(default=3600.0, gt=0, alias="maxClockSkewSeconds")
    trust_key: Annotated[str, Field(min_length=1, max_length=4096)] | None = Field(
        default=None,
        alias="trustKey",
        description=(
            "The cloud's public key to verify Signature with (AD-5): ed25519:<base64> or a PEM "
            "file path; OMDP_ADAPTER_TRUST_KEY overrides it."
        ),
    )


class FileSignature(_FileModel):
    """The cloud's Ed25519 signature over the file's canonical content (AD-5)."""

    alg: Literal["Ed25519"] = "Ed25519"
    key_id: Annotated[str, Field(max_length=64)] | None = Field(default=None, alias="keyId")
    value: Annotated[str, Field(min_length=1, max_length=256)] = Field(
        description="base64 of the signature over the document without Signature, as canonical "
        "JSON (sorted keys, no whitespace, UTF-8)."
    )


class AdapterConfigFile(_FileModel):
    """The whole adapter configuration file (CL-10)."""

    meter_individual_id: Identifier = Field(alias="MeterIndividualId")
    operational_property_mapping: list[PropertyMapping] = Field(
        alias="OperationalPropertyMapping", default_factory=list, max_length=1024
    )
    cloud_auth: CloudAuth = Field(alias="CloudAuth", default_factory=CloudAuth)
    static_values: list[StaticValue] = Field(
        alias="StaticValues", default_factory=list, max_length=256
    )
    broker: BrokerConnection | None = Field(alias="Broker", default=None)
    meter: MeterConnection | None = Field(alias="Meter", default=None)
    adapter: AdapterOptions = Field(alias="Adapter", default_factory=AdapterOptions)
    signature: FileSignature | None = Field(alias="Signature", default=None)
