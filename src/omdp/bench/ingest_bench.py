"""Benchmark: end-to-end cloud ingest (publish -> Mosquitto -> ``omdp cloud ingest`` -> commit).

Beside it, in the same run and with the same payloads, the raw broker rate: a paho QoS 1
publisher, Mosquitto and a paho subscriber in another process that only counts. Target: ingest
at 40 % or more of the raw rate, on SQLite and on PostgreSQL. The benchmark starts its own
throwaway Mosquitto and PostgreSQL (:mod:`omdp.testing.services`).
"""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import paho.mqtt.client as paho
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from omdp.bench.validation_bench import sample_reading
from omdp.cloud.model import ReadingFilter
from omdp.cloud.storage import open_store
from omdp.testing.services import Mosquitto, PostgresCluster

VALUES_PER_READING = 13
START = datetime(2024, 6, 1, tzinfo=UTC)


def payloads(count: int, prefix: str) -> list[tuple[str, bytes]]:
    """``count`` 13-value readings with distinct ids, 100 meters, one reading per 15 minutes."""
    doc = orjson.loads(sample_reading())
    out = []
    for i in range(count):
        meter = f"meter-{i % 100:03d}"
        doc["meterReadingIdentifier"] = f"{prefix}-{i:08d}"
        doc["meterIndividual"]["meterIndividualId"] = meter
        when = START + timedelta(minutes=15 * (i // 100))
        doc["readingTime"] = when.isoformat()
        topic = f"concentrator/edge-{i % 4}/smartMeterMessage/{meter}/readings"
        out.append((topic, orjson.dumps(doc)))
    return out


def publish(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish with QoS 1, up to 1,000 in flight, and wait for every PUBACK."""
    client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{time.time_ns()}")
    client.max_inflight_messages_set(1000)
    client.max_queued_messages_set(0)
    done = threading.Semaphore(0)
    client.on_publish = lambda *_a: done.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        for topic, payload in messages:
            client.publish(topic, payload, qos=1)
        for _ in messages:
            if not done.acquire(timeout=60):
                msg = "broker did not acknowledge within 60 s"
                raise TimeoutError(msg)
    finally:
        client.disconnect()
        client.loop_stop()


def _count_subscriber(port: int, count: int, ready: object, result: object) -> None:
    got = 0
    finished = threading.Event()
    stamps: list[float] = []

    def on_message(_c: object, _u: object, _m: object) -> None:
        nonlocal got
        got += 1
        if got == 1:
            stamps.append(time.time())
        if got == count:
            stamps.append(time.time())
            finished.set()

    client = paho.Client(CallbackAPIVersion.VERSION2, client_id="bench-raw-sub")
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.subscribe("concentrator/#", qos=1)
    client.loop_start()
    time.sleep(0.5)
    ready.set()  # type: ignore[attr-defined]
    finished.wait(120)
    client.disconnect()
    client.loop_stop()
    result.put(stamps[-1] if finished.is_set() else float("nan"))  # type: ignore[attr-defined]


def raw_rate(port: int, messages: list[tuple[str, bytes]]) -> float:
    """Messages/s from the first publish to the subscriber's last receipt."""
    ctx = multiprocessing.get_context("spawn")
    ready, result = ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_count_subscriber, args=(port, len(messages), ready, result))
    proc.start()
    ready.wait(20)
    start = time.time()
    publish(port, messages)
    end = result.get(timeout=120)
    proc.join(10)
    return float(len(messages) / (end - start))


def ingest_rate(port: int, url: str, messages: list[tuple[str, bytes]], workdir: Path) -> float:
    """Readings/s from the first publish until the store holds them all (committed)."""
    config = workdir / f"ingest-{time.time_ns()}.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "mqtt": {"port": port},
                "db": {"url": url},
                "ingest": {"client_id": f"bench-{time.time_ns()}", "batch_size": 2000},
            }
        )
    )
    log = workdir / "ingest.log"
    store = open_store(url)
    with log.open("ab") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own command
            [sys.executable, "-m", "omdp", "cloud", "ingest", "--config", str(config)],
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 30
        while b"subscribed" not in log.read_bytes():
            if time.monotonic() > deadline or proc.poll() is not None:
                msg = f"ingest did not start: {log.read_text()[-2000:]}"
                raise RuntimeError(msg)
            time.sleep(0.05)
        start = time.time()
        publish(port, messages)
        while store.count_readings(ReadingFilter()) < len(messages):
            if time.time() - start > 300:
                msg = "ingest did not store every reading within 300 s"
                raise TimeoutError(msg)
            time.sleep(0.05)
        return len(messages) / (time.time() - start)
    finally:
        proc.terminate()
        proc.wait(30)
        store.close()


def run(*, quick: bool) -> None:
    """Print ingest rates on SQLite and PostgreSQL beside the raw broker rate."""
    count = 5_000 if quick else 30_000
    with tempfile.TemporaryDirectory(prefix="omdp-bench-") as tmp:
        workdir = Path(tmp)
        broker = Mosquitto(workdir / "mosquitto").start()
        cluster = PostgresCluster().start()
        try:
            raw = raw_rate(broker.port, payloads(count, "raw"))
            print(f"raw broker QoS 1 (paho -> Mosquitto -> paho): {raw:,.0f} msg/s")
            targets = {
                "sqlite": f"sqlite:///{workdir / 'bench.sqlite3'}",
                "postgres": cluster.create_database(),
            }
            for name, url in targets.items():
                rate = ingest_rate(broker.port, url, payloads(count, name), workdir)
                print(
                    f"ingest {name:8s}: {rate:,.0f} readings/s, "
                    f"{rate * VALUES_PER_READING:,.0f} values/s = {rate / raw:.0%} of raw "
                    f"({count:,} readings of {VALUES_PER_READING} values)"
                )
        finally:
            broker.kill()
            cluster.destroy()
