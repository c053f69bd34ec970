"""The demo's data folder: its state, its secrets and the configuration files of every part.

Layout of ``--data-dir`` (default ``./data``)::

    demo.json                  what the first run did (history origin, backfill finished)
    secrets.json               API token and HMAC keys, mode 600, generated at the first run
    meter-keys.json            the DLMS meter's key, as its network operator would hand it out
    adapter-secret.key         Fernet key of the adapter files' secrets, mode 600
                               (OMDP_ADAPTER_SECRET_KEY_FILE of ``omdp adapter run``)
    omdp.sqlite3               the cloud's store
    edge-outbox.sqlite3        the edge's outbox
    adapters/<meter>.outbox.sqlite3   each adapter's outbox
    device-credentials.json    devices created through the API (CL-10)
    config/cloud.yaml          omdp cloud run --config ...   (mode 600: holds keys)
    config/edge.yaml           omdp edge run --config ...
    config/adapters/<meter>.yaml   omdp adapter run --config ...  (mode 600, AD-5; the DLMS
                               meter's key in it encrypted with adapter-secret.key)
    mosquitto/                 the broker's folder with --broker mosquitto

The configuration files are written at every start (ports may differ between runs); the state
and the secrets only at the first.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml
from cryptography.fernet import Fernet

from omdp.auth.principal import hash_token
from omdp.demo.layout import (
    CONCENTRATOR_ID,
    METERS,
    RADIO_ADAPTER_ID,
    READING_INTERVAL_S,
    TIMEZONE,
    DemoMeter,
    Ports,
)
from omdp.security.protect import encrypt_secrets

PRIVATE = 0o600


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file readable by its owner only (created so, never widened)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(PRIVATE)


@dataclass(frozen=True, slots=True)
class Secrets:
    """Generated once per data folder."""

    api_token: str
    bulk_secret: str
    pseudonym_key: str

    @classmethod
    def load_or_create(cls, data: Path) -> Secrets:
        """The folder's secrets, generated and stored (mode 600) when missing."""
        path = data / "secrets.json"
        if path.exists():
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        made = cls(
            api_token=f"omdp-demo-{secrets.token_urlsafe(24)}",
            bulk_secret=secrets.token_urlsafe(32),
            pseudonym_key=secrets.token_urlsafe(32),
        )
        write_private(path, json.dumps(asdict(made)))
        return made


@dataclass(frozen=True, slots=True)
class MeterKeys:
    """The DLMS meter's AES key, generated once per data folder (mode 600).

    The simulated meter ciphers its pushes with it, as a real one does with the key its network
    operator hands the household; the adapter file holds it encrypted at rest (AD-5).
    """

    dlms_key: str

    @classmethod
    def load_or_create(cls, data: Path) -> MeterKeys:
        """The folder's meter keys, generated and stored (mode 600) when missing."""
        path = data / "meter-keys.json"
        if path.exists():
            return cls(**json.loads(path.read_text(encoding="utf-8")))
        made = cls(dlms_key=secrets.token_hex(16).upper())
        write_private(path, json.dumps(asdict(made)))
        return made


def adapter_fernet(files: SiteFiles) -> Fernet:
    """The key that encrypts the adapter files' secrets, created (mode 600) at the first use."""
    path = files.adapter_secret_key
    if not path.exists():
        write_private(path, Fernet.generate_key().decode())
    return Fernet(path.read_bytes().strip())


@dataclass(slots=True)
class DemoState:
    """What earlier runs did; ``demo.json`` in the data folder."""

    history_origin: float
    history_end: float
    backfilled: bool = False

    @classmethod
    def load(cls, data: Path) -> DemoState | None:
        """The stored state, or None at the first run."""
        path = data / "demo.json"
        if not path.exists():
            return None
        doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            history_origin=float(doc["history_origin"]),
            history_end=float(doc["history_end"]),
            backfilled=bool(doc.get("backfilled", False)),
        )

    def save(self, data: Path) -> None:
        """Store the state."""
        doc = {
            "history_origin": self.history_origin,
            "history_end": self.history_end,
            "backfilled": self.backfilled,
        }
        (data / "demo.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")


def _dump(doc: dict[str, Any]) -> str:
    return yaml.safe_dump(doc, sort_keys=False, default_flow_style=False)


@dataclass(frozen=True, slots=True)
class SiteFiles:
    """Paths of the configuration files the demo writes."""

    data: Path

    @property
    def config(self) -> Path:
        """``data/config``."""
        return self.data / "config"

    @property
    def cloud(self) -> Path:
        """The cloud's settings."""
        return self.config / "cloud.yaml"

    @property
    def edge(self) -> Path:
        """The edge's settings."""
        return self.config / "edge.yaml"

    def adapter(self, meter: DemoMeter) -> Path:
        """A meter's adapter file (the radio meters share one: :attr:`radio_adapter`)."""
        if meter.kind == "wmbus":
            return self.radio_adapter
        return self.config / "adapters" / f"{meter.meter_id}.yaml"

    @property
    def radio_adapter(self) -> Path:
        """The adapter file of the radio receiver and its meters."""
        return self.config / "adapters" / f"{RADIO_ADAPTER_ID}.yaml"

    @property
    def db_url(self) -> str:
        """The cloud store's URL."""
        return f"sqlite:///{self.data / 'omdp.sqlite3'}"

    @property
    def adapter_secret_key(self) -> Path:
        """The Fernet key of the adapter files' encrypted secrets."""
        return self.data / "adapter-secret.key"


def cloud_doc(files: SiteFiles, ports: Ports, keys: Secrets, protocol: str = "5") -> dict[str, Any]:
    """The cloud's settings (``omdp cloud run --config``)."""
    return {
        "mqtt": {"host": "127.0.0.1", "port": ports.mqtt, "protocol": protocol},
        "db": {"url": files.db_url},
        "http_host": "127.0.0.1",
        "http_port": ports.http,
        "edge_url": f"http://127.0.0.1:{ports.edge}",
        "ingest": {"client_id": "omdp-demo-ingest", "flush_interval_s": 0.2},
        "api": {
            "tokens": {
                hash_token(keys.api_token): {"subject": "demo-operator", "scopes": ["operate"]}
            },
            "bulk_secret": keys.bulk_secret,
            "pseudonym_key": keys.pseudonym_key,
            "credentials_file": str(files.data / "device-credentials.json"),
            "adapter_broker": {"host": "127.0.0.1", "port": ports.mqtt, "protocol": protocol},
        },
    }


def edge_doc(
    files: SiteFiles, ports: Ports, protocol: str = "5", keys: Secrets | None = None
) -> dict[str, Any]:
    """The edge's settings (``omdp edge run --config``): the demo broker is local and cloud.

    The live API takes the demo's operator token and the tokens the cloud's app proxy signs
    for each logged-in caller; it knows each meter's household from the demo's layout.
    """
    broker = {"host": "127.0.0.1", "port": ports.mqtt, "protocol": protocol}
    issuer = {
        "issuer": f"http://127.0.0.1:{ports.http}",
        "audience": "omdp-edge",
        "refetch_interval_s": 5,
    }
    tokens = {}
    if keys is not None:
        tokens = {hash_token(keys.api_token): {"subject": "demo-operator", "scopes": ["operate"]}}
    return {
        "concentrator_id": CONCENTRATOR_ID,
        "api": {"tokens": tokens, "auth": {"external": [issuer]}},
        "meter_households": {m.meter_id: m.household_id for m in METERS},
        "local": broker,
        "cloud": broker,
        "outbox_path": str(files.data / "edge-outbox.sqlite3"),
        "http_host": "127.0.0.1",
        "http_port": ports.edge,
        "timezone": TIMEZONE,
        "rules": [
            {
                "kind": "threshold",
                "id": "high-import",
                "property_id": "OBIS_1.7.0",
                "above": 2.5,
                "duration_s": 30,
                "message": "Drawing more than 2.5 kW for half a minute",
            },
            {
                "kind": "silence",
                "id": "meter-silent",
                "interval_s": READING_INTERVAL_S,
                "intervals": 6,
                "message": "No reading for 30 s",
            },
        ],
    }


def adapter_doc(
    files: SiteFiles, meter: DemoMeter, tcp: str, mqtt_port: int, protocol: str = "5"
) -> dict[str, Any]:
    """A meter's adapter file (``omdp adapter run --config``)."""
    source: dict[str, Any] = {
        "kind": meter.kind,
        "tcp": tcp,
        "interval": READING_INTERVAL_S,
        "profile": meter.profile,
    }
    if meter.kind == "mbus":
        source |= {"address": meter.address, "timezone": TIMEZONE, "timeout": 2.0}
    if meter.kind == "dlms":  # the household's key, encrypted at rest below (AD-5)
        source |= {"key": MeterKeys.load_or_create(files.data).dlms_key, "timezone": TIMEZONE}
    outbox = files.data / "adapters" / f"{meter.meter_id}.outbox.sqlite3"
    doc = {
        "MeterIndividualId": meter.meter_id,
        "Meter": source,
        "Broker": {
            "host": "127.0.0.1",
            "port": mqtt_port,
            "protocol": protocol,
            "clientId": f"omdp-adapter-{meter.meter_id}",
        },
        "Adapter": {
            "timezone": TIMEZONE,
            "householdId": meter.household_id,
            "outboxPath": str(outbox),
        },
    }
    return encrypt_secrets(doc, adapter_fernet(files)) if "key" in source else doc


def radio_adapter_doc(
    files: SiteFiles, serial: str, mqtt_port: int, protocol: str = "5"
) -> dict[str, Any]:
    """The radio receiver's adapter file: one dongle, the demo's radio meters with their keys."""
    from omdp.simulators.wmbus_meters import simulated_key  # noqa: PLC0415

    radios = [m for m in METERS if m.kind == "wmbus"]
    outbox = files.data / "adapters" / f"{RADIO_ADAPTER_ID}.outbox.sqlite3"
    return {
        "MeterIndividualId": RADIO_ADAPTER_ID,
        "Meter": {
            "kind": "wmbus",
            "dongle": "im871a",
            "linkMode": "T1",
            "serial": serial,
            "timezone": TIMEZONE,
            "radioMeters": [
                {
                    "id": m.address,
                    "meterIndividualId": m.meter_id,
                    "key": simulated_key(m.address or "").hex().upper(),
                    "profile": m.profile,
                    "householdId": m.household_id,
                    "silentAfter": 6 * READING_INTERVAL_S,
                }
                for m in radios
            ],
        },
        "Broker": {
            "host": "127.0.0.1",
            "port": mqtt_port,
            "protocol": protocol,
            "clientId": f"omdp-adapter-{RADIO_ADAPTER_ID}",
        },
        "Adapter": {"timezone": TIMEZONE, "outboxPath": str(outbox)},
    }


def write_site(
    files: SiteFiles,
    ports: Ports,
    keys: Secrets,
    meter_tcp: dict[str, str],
    *,
    protocol: str = "5",
) -> None:
    """Write every configuration file for this run.

    Args:
        files: the data folder.
        ports: where the broker and the HTTP servers listen.
        keys: the folder's secrets.
        meter_tcp: ``host:port`` of each meter's simulator, by meter id.
        protocol: the broker's MQTT version (``3.1.1`` for the embedded amqtt).
    """
    write_private(files.cloud, _dump(cloud_doc(files, ports, keys, protocol)))
    write_private(files.edge, _dump(edge_doc(files, ports, protocol, keys)))
    for meter in METERS:
        if meter.kind == "wmbus":
            continue
        doc = adapter_doc(files, meter, meter_tcp[meter.meter_id], ports.mqtt, protocol)
        write_private(files.adapter(meter), _dump(doc))
    radio = next((meter_tcp[m.meter_id] for m in METERS if m.kind == "wmbus"), None)
    if radio is not None:
        doc = radio_adapter_doc(files, radio, ports.mqtt, protocol)
        write_private(files.radio_adapter, _dump(doc))
