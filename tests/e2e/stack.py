"""The platform the app's end-to-end tests drive: broker, edge, cloud with the app, a meter.

- a throwaway Mosquitto (the edge's local broker, and its "cloud" broker too: nothing ingests);
- the edge (``omdp edge run``) with a threshold rule ``high-power`` (import above 5 kW);
- the cloud API with the app mounted (``omdp.webapp.devserver``) over a SQLite store seeded with
  a year of 15-minute data of household ``h-home`` (meter ``meter-main``), the edge proxied;
- a simulated meter publishing a reading of ``meter-main`` every second to the local broker,
  continuing the seeded registers; ``meter.override_kw`` forces its import power.
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

from omdp.cloud.api import hash_token
from omdp.cloud.storage import open_store
from omdp.testing.services import Mosquitto, free_port, wait_for_port
from omdp.webapp.devserver import METER, Registers, household_power, seed_year

OWNER_TOKEN = "owner-e2e-token"  # noqa: S105 - throwaway test tokens
OPERATOR_TOKEN = "operator-e2e-token"  # noqa: S105
THRESHOLD_KW = 5.0


@dataclass
class Meter:
    """Publishes a reading of ``meter-main`` every ``period`` seconds."""

    port: int
    regs: Registers
    period: float = 1.0
    override_kw: float | None = None
    sent: int = 0
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

    def _payload(self, now: datetime, seq: int, rng_value: float) -> bytes:
        imp, exp, volts = household_power(now, _Rng(rng_value))
        if self.override_kw is not None:
            imp, exp = self.override_kw, 0.0
        self.regs.imported += imp * self.period / 3600
        self.regs.exported += exp * self.period / 3600
        stamp = now.isoformat()
        values = (
            ("OBIS_1.8.0", round(self.regs.imported, 4), "kWh"),
            ("OBIS_2.8.0", round(self.regs.exported, 4), "kWh"),
            ("OBIS_1.7.0", imp, "kW"),
            ("OBIS_2.7.0", exp, "kW"),
            ("OBIS_32.7.0", volts, "V"),
        )
        doc = {
            "meterReadingIdentifier": f"live-{METER}-{int(now.timestamp() * 1000)}-{seq}",
            "readingTime": stamp,
            "sequenceNumber": seq,
            "propertyValues": [
                {
                    "unit": unit,
                    "date": stamp,
                    "numericalValue": value,
                    "operationalPropertyDefinition": {"propertyId": prop, "allowedUnits": [unit]},
                }
                for prop, value, unit in values
            ],
            "meterIndividual": {"meterIndividualId": METER},
        }
        return json.dumps(doc).encode()

    def _run(self) -> None:
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="e2e-meter")
        client.connect("127.0.0.1", self.port)
        client.loop_start()
        seq = 0
        try:
            while not self._stop.is_set():
                seq += 1
                payload = self._payload(datetime.now(UTC), seq, (seq * 0.618) % 1)
                client.publish(f"smartMeterMessage/{METER}/readings", payload, qos=1)
                self.sent = seq
                self._stop.wait(self.period)
        finally:
            client.loop_stop()
            client.disconnect()


class _Rng:
    """A stand-in for random.Random with a fixed draw (the live curve varies by sequence)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def random(self) -> float:
        return self.value

    def uniform(self, a: float, b: float) -> float:
        return a + (b - a) * self.value


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
    """The cloud's YAML: the store and the two tokens (owner of h-home, operator); ``port``
    names the embedded issuer (http://127.0.0.1:port), which the edge trusts."""
    path = workdir / "cloud.yaml"
    tokens = {
        hash_token(OWNER_TOKEN): {
            "subject": "alice",
            "scopes": ["readings:read"],
            "household_id": "h-home",
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
        },
    }
    path.write_text(yaml.safe_dump(config))
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
        db_url = f"sqlite:///{workdir / 'cloud.sqlite3'}"
        store = open_store(db_url)
        try:
            regs = seed_year(store, end=datetime.now(UTC))
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
                    # caller) and knows whose meter-main is
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
                    "meter_households": {METER: "h-home"},
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
        stack.meter = Meter(stack.broker.port, regs).start()
        wait_for_port(stack.cloud_port)
    except BaseException:
        stack.stop()
        raise
    return stack
