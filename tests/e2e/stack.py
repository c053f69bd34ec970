"""The platform the app's end-to-end tests drive: broker, edge, cloud with the app, meters.

- a throwaway Mosquitto (the edge's local broker, and its "cloud" broker too: nothing ingests);
- the edge (``omdp edge run``) with a threshold rule ``high-power`` (import above 5 kW);
- the cloud API with the app mounted (``omdp.webapp.devserver``) over a SQLite store seeded with
  a year of household ``h-home`` (:mod:`omdp.testing.household`: grid, PV, battery, water,
  gas and heat meters), the edge proxied; access tokens of the password grant live 30 s;
- simulated meters publishing a reading of ``meter-main``, ``meter-pv``, ``meter-battery`` and
  ``meter-annex`` every second to the local broker, continuing the seeded registers;
  ``meter.override_kw`` forces the main meter's import power, ``meter.silenced`` stops meters.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import paho.mqtt.client as mqtt
import yaml

from omdp.auth.principal import hash_token
from omdp.cloud.storage import open_store
from omdp.security.users import UserStore
from omdp.testing.household import Model, seed
from omdp.testing.services import Mosquitto, free_port, wait_for_port

OWNER_TOKEN = "owner-e2e-token"  # noqa: S105 - throwaway test tokens
OTHER_OWNER_TOKEN = "other-owner-e2e-token"  # noqa: S105
OPERATOR_TOKEN = "operator-e2e-token"  # noqa: S105
USER, PASSWORD = "alice", "alice-e2e-password-1"
ACCESS_TTL_S = 30
THRESHOLD_KW = 5.0
LIVE_METERS = ("meter-main", "meter-pv", "meter-battery", "meter-annex")
ANNEX_KW = 0.5


@dataclass
class Meter:
    """Publishes a reading of each live meter every ``period`` seconds."""

    port: int
    model: Model
    period: float = 1.0
    override_kw: float | None = None
    silenced: set[str] = field(default_factory=set)
    sent: int = 0
    annex_kwh: float = 120.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> Meter:
        self._thread = threading.Thread(target=self._run, name="e2e-meter", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _payloads(self, now: datetime, seq: int) -> list[tuple[str, bytes]]:
        f = self.model.flows(now, self.period)
        if self.override_kw is not None:
            f.grid_in, f.grid_out = self.override_kw, 0.0
        self.model.advance(f, self.period, now)
        self.annex_kwh += ANNEX_KW * self.period / 3600
        stamp = now.isoformat()
        out = []
        for meter in LIVE_METERS:
            if meter in self.silenced:
                continue
            values = (
                (("OBIS_1.8.0", round(self.annex_kwh, 4), "kWh"), ("OBIS_1.7.0", ANNEX_KW, "kW"))
                if meter == "meter-annex"
                else self.model.values(meter, f)
            )
            doc = {
                "meterReadingIdentifier": f"live-{meter}-{int(now.timestamp() * 1000)}-{seq}",
                "readingTime": stamp,
                "sequenceNumber": seq,
                "propertyValues": [
                    {
                        "unit": unit,
                        "date": stamp,
                        "numericalValue": value,
                        "operationalPropertyDefinition": {
                            "propertyId": prop,
                            "allowedUnits": [unit],
                        },
                    }
                    for prop, value, unit in values
                ],
                "meterIndividual": {"meterIndividualId": meter},
            }
            out.append((meter, json.dumps(doc).encode()))
        return out

    def _run(self) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-meter")
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        seq = 0
        try:
            while not self._stop.is_set():
                seq += 1
                for meter, payload in self._payloads(datetime.now(UTC), seq):
                    client.publish(f"smartMeterMessage/{meter}/readings", payload, qos=1)
                self.sent = seq
                self._stop.wait(self.period)
        finally:
            client.loop_stop()
            client.disconnect()


@dataclass
class Stack:
    """Everything started, and how to reach it."""

    workdir: Path
    broker: Mosquitto | None = None
    edge: subprocess.Popen[bytes] | None = None
    cloud: subprocess.Popen[bytes] | None = None
    meter: Meter | None = None
    cloud_port: int = 0
    edge_port: int = 0
    db_url: str = ""

    @property
    def app_url(self) -> str:
        return f"http://127.0.0.1:{self.cloud_port}/app/"

    def stop(self) -> None:
        if self.meter is not None:
            self.meter.stop()
        for proc in (self.cloud, self.edge):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
        if self.broker is not None:
            self.broker.kill()


def _wait_http(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            msg = f"{url}: the process ended ({proc.returncode}): {log.read_text()[-2000:]}"
            raise RuntimeError(msg)
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    msg = f"{url} did not answer within {timeout} s"
    raise TimeoutError(msg)


def cloud_config(workdir: Path, db_url: str, port: int = 8080) -> Path:
    """The cloud's YAML: the store, the tokens (owners of h-home and h-other, operator), and
    the issuer's short-lived access tokens (a user ``alice`` of h-home logs in by password);
    ``port`` names the embedded issuer (http://127.0.0.1:port), which the edge trusts."""
    path = workdir / "cloud.yaml"
    tokens = {
        hash_token(OWNER_TOKEN): {
            "subject": "alice",
            "scopes": ["readings:read"],
            "household_id": "h-home",
        },
        hash_token(OTHER_OWNER_TOKEN): {
            "subject": "otto",
            "scopes": ["readings:read"],
            "household_id": "h-other",
        },
        hash_token(OPERATOR_TOKEN): {"subject": "operator", "scopes": ["operate"]},
    }
    config = {
        "db": {"url": db_url},
        "http_port": port,
        "api": {
            "tokens": tokens,
            "bulk_secret": "e2e-bulk-secret",
            "pseudonym_key": "e2e-pseudonym-key",
            "credentials_file": str(workdir / "credentials.json"),
            "auth": {"token_ttl_s": ACCESS_TTL_S, "token_rate_per_minute": 1000},
        },
    }
    path.write_text(yaml.safe_dump(config))
    users = UserStore(workdir / "users.sqlite3")
    if not any(a.name == USER for a in users.accounts()):
        users.add(USER, PASSWORD, role="owner", household="h-home")
    return path


def start_cloud(
    workdir: Path, db_url: str, *, edge_url: str | None, port: int | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    """The cloud API with the app, in a subprocess; answers when ready."""
    port = port or free_port()
    log = workdir / "cloud.log"
    args = [sys.executable, "-m", "omdp.webapp.devserver", "--config"]
    args += [str(cloud_config(workdir, db_url, port)), "--port", str(port)]
    if edge_url is not None:
        args += ["--edge-url", edge_url]
    with log.open("wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    _wait_http(f"http://127.0.0.1:{port}/healthz", proc, log)
    return proc, port


def start(workdir: Path) -> Stack:
    """Start the whole stack; stop it with :meth:`Stack.stop`."""
    stack = Stack(workdir)
    try:
        stack.broker = Mosquitto(workdir / "mosquitto", persistence=False).start()
        db_url = stack.db_url = f"sqlite:///{workdir / 'cloud.sqlite3'}"
        store = open_store(db_url)
        try:
            model = seed(store, end=datetime.now(UTC))
        finally:
            store.close()
        stack.edge_port, cloud_port = free_port(), free_port()
        edge_yaml = workdir / "edge.yaml"
        broker = {"host": "127.0.0.1", "port": stack.broker.port}
        edge_yaml.write_text(
            yaml.safe_dump(
                {
                    "concentrator_id": "edge-e2e",
                    "local": broker,
                    "cloud": broker,
                    "outbox_path": str(workdir / "outbox.sqlite3"),
                    "http_port": stack.edge_port,
                    "timezone": "Europe/Brussels",
                    # the live API trusts the cloud's issuer (its app proxy signs for each
                    # caller) and knows whose live meters are
                    "api": {
                        "auth": {
                            "external": [
                                {
                                    "issuer": f"http://127.0.0.1:{cloud_port}",
                                    "audience": "omdp-edge",
                                    "refetch_interval_s": 1,
                                }
                            ]
                        }
                    },
                    "meter_households": dict.fromkeys(LIVE_METERS, "h-home"),
                    "rules": [
                        {
                            "kind": "threshold",
                            "id": "high-power",
                            "property_id": "OBIS_1.7.0",
                            "above": THRESHOLD_KW,
                            "message": f"Using more than {THRESHOLD_KW:g} kW",
                        }
                    ],
                }
            )
        )
        log = workdir / "edge.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("OMDP_")}
        with log.open("wb") as out:
            stack.edge = subprocess.Popen(
                [sys.executable, "-m", "omdp", "edge", "run", "--config", str(edge_yaml)],
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
            )
        _wait_http(f"http://127.0.0.1:{stack.edge_port}/healthz", stack.edge, log)
        edge_url = f"http://127.0.0.1:{stack.edge_port}"
        stack.cloud, stack.cloud_port = start_cloud(
            workdir, db_url, edge_url=edge_url, port=cloud_port
        )
        stack.meter = Meter(stack.broker.port, model).start()
        wait_for_port(stack.cloud_port)
    except BaseException:
        stack.stop()
        raise
    return stack
