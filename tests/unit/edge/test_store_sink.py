"""The no-cloud edge's store sink on a real SQLite store: classify, batch, ack (CO-2, CL-1)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from omdp.cloud.model import ReadingFilter
from omdp.cloud.storage import open_store
from omdp.delivery.outbox import Entry
from omdp.edge.samples import sample_reading
from omdp.edge.store_sink import StoreSink
from omdp.topics import alert_topic


def _entry(number: int, topic: str, payload: bytes) -> Entry:
    return Entry(number, topic, payload, 0.0)


def test_store_sink_stores_quarantines_and_skips_alerts(tmp_path: Path) -> None:
    """CL-1, CO-2, CO-4: a valid reading is stored once (a replay is a duplicate), a malformed
    message and a meter mismatch go to the quarantine, an alert is acknowledged and not stored;
    every future resolves only after the commit."""
    store = open_store(f"sqlite:///{tmp_path / 'edge.sqlite3'}")
    alert = orjson.dumps({"ruleId": "high", "meterId": "m1", "state": "raised"})
    entries = [
        _entry(1, "smartMeterMessage/m1/readings", sample_reading("m1", 1)),
        _entry(2, "smartMeterMessage/m1/readings", sample_reading("m1", 1)),  # replayed
        _entry(3, "smartMeterMessage/m1/readings", b"{not json"),
        _entry(4, "smartMeterMessage/m2/readings", sample_reading("m1", 2)),  # wrong meter
        _entry(5, alert_topic("e1", "high", "m1"), alert),
    ]

    async def main() -> StoreSink:
        async with StoreSink(store, "e1", linger=0.01) as sink:
            futures = [await sink.send(entry) for entry in entries]
            assert not any(f.done() for f in futures)  # nothing acknowledged before the commit
            await asyncio.wait_for(asyncio.gather(*futures), 10)
        return sink

    try:
        sink = asyncio.run(main())
        stored = list(store.query_readings(ReadingFilter()))
        quarantined = store.list_quarantine()
    finally:
        store.close()
    assert (sink.stats.stored, sink.stats.duplicates) == (1, 1)
    assert (sink.stats.quarantined, sink.stats.alerts) == (2, 1)
    assert sink.stats.batches == 1  # what arrived within the linger time: one commit
    assert [(r.meter_id, r.concentrator_id) for r in stored] == [("m1", "e1")]
    assert sorted(q.topic for q in quarantined) == [
        "concentrator/e1/smartMeterMessage/m1/readings",
        "concentrator/e1/smartMeterMessage/m2/readings",
    ]


def test_store_sink_batches_under_load_and_fails_pending_on_close(tmp_path: Path) -> None:
    """CL-1: 3,000 readings sent with a window of 1,000 are written in few commits; a sink that
    is closed fails what it still holds (it stays in the outbox) instead of acknowledging it."""
    store = open_store(f"sqlite:///{tmp_path / 'edge.sqlite3'}")
    count = 3000

    async def main() -> tuple[StoreSink, bool]:
        async with StoreSink(store, "e1", window=1000, batch=500) as sink:
            futures = []
            for i in range(count):
                meter = f"m{i % 7}"
                topic = f"smartMeterMessage/{meter}/readings"
                entry = _entry(i + 1, topic, sample_reading(meter, i))
                futures.append(await sink.send(entry))
            await asyncio.wait_for(asyncio.gather(*futures), 30)
        late = await sink.send(_entry(count + 1, "smartMeterMessage/m1/readings", b"{}"))
        return sink, late.exception() is not None

    try:
        sink, refused = asyncio.run(main())
        total = store.count_readings(ReadingFilter())
    finally:
        store.close()
    assert total == count
    assert sink.stats.stored == count
    assert sink.stats.batches <= count // 100  # grouped, not one commit per reading
    assert refused
