"""Scale-out (issue 10): three ``omdp cloud ingest`` processes share one MQTT 5 subscription.

CL-2: ingress is a QoS 1 shared subscription ``$share/{group}/concentrator/#`` on a real
Mosquitto; CL-15: ingest scales out by adding processes against one PostgreSQL. One of the
three is SIGKILLed mid-stream and restarted with the same client id (as a supervisor would):
its unacknowledged messages are redelivered to its session, and every reading is stored
exactly once, with its values and rollups.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
import pytest
import yaml
from tests.support.ingest_process import IngestProcess
from tests.support.mosquitto import Mosquitto

from omdp.bench.ingest_bench import VALUES_PER_READING, payloads
from omdp.bench.paho_load import publish
from omdp.cloud.storage import open_store

pytestmark = pytest.mark.integration

SENT = 10_000


class Ingest(IngestProcess):
    """One ``omdp cloud ingest`` child process in the shared group."""

    def __init__(self, tmp_path: Path, name: str, port: int, url: str) -> None:
        config = tmp_path / f"{name}.yaml"
        settings = {
            "mqtt": {"port": port},
            "db": {"url": url},
            "ingest": {
                "client_id": f"ingest-{name}",
                "shared_group": "cloud",
                "batch_size": 1000,
                "flush_interval_s": 0.1,
            },
        }
        config.write_text(yaml.safe_dump(settings))
        super().__init__(config, tmp_path / f"{name}.log")


def _counts(url: str) -> tuple[int, int, int, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(*), count(DISTINCT reading_id),"
            " (SELECT count(*) FROM reading_values),"
            " (SELECT coalesce(sum(n), 0) FROM rollups) FROM readings"
        ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1]), int(row[2]), int(row[3])


def _rollups(url: str) -> list[tuple[object, ...]]:
    """Every rollup row, sums rounded: merged partials add in another order than a rebuild."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT meter_id, property_id, width, bucket, n, vmin, vmax, vsum, first_v, last_v,"
            " internal FROM rollups ORDER BY 1, 2, 3, 4"
        ).fetchall()
    return [(*r[:7], round(r[7], 6), *r[8:10], round(r[10], 6)) for r in rows]


def test_three_shared_ingests_store_each_reading_once_across_a_sigkill(
    tmp_path: Path, mosquitto: Mosquitto, postgres_url: str
) -> None:
    """CL-2, CL-15: 10,000 readings through three shared-subscription ingests into one
    PostgreSQL, one SIGKILLed at 40 % and restarted: count = count distinct = sent, every
    value stored once, and the rollups the concurrent writers merged equal a full rebuild.
    """
    open_store(postgres_url).close()  # migrate once, before three processes race to
    ingests = [Ingest(tmp_path, f"i{n}", mosquitto.port, postgres_url) for n in range(3)]
    for ingest in ingests:
        ingest.start()
    messages = payloads(SENT, "scale")
    cut = SENT * 4 // 10
    try:
        publish(mosquitto.port, messages[:cut])
        ingests[1].kill()
        publish(mosquitto.port, messages[cut:])
        ingests[1].start()
        deadline = time.monotonic() + 40
        while (got := _counts(postgres_url))[0] < SENT:
            assert time.monotonic() < deadline, f"stored {got[0]} of {SENT}"
            time.sleep(0.2)
        time.sleep(1.0)  # nothing more may arrive
        assert _counts(postgres_url) == (
            SENT,
            SENT,
            SENT * VALUES_PER_READING,
            SENT * VALUES_PER_READING,
        )
    finally:
        codes = [ingest.stop() for ingest in ingests]
    assert codes == [0, 0, 0]
    merged = _rollups(postgres_url)
    store = open_store(postgres_url)
    try:
        store.rebuild_rollups()
    finally:
        store.close()
    assert _rollups(postgres_url) == merged
