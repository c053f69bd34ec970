"""The edge service with a fake sink and a real SQLite outbox: submit, forward, live, alerts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson

from omdp.delivery.outbox import Entry
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.edge.samples import sample_reading
from omdp.edge.service import EdgeService
from omdp.edge.settings import EdgeSettings, ThresholdRule


class FakeSink:
    """Records what it gets; acknowledges at once unless ``hold`` is set."""

    def __init__(self) -> None:
        self.sent: list[Entry] = []
        self.hold = False
        self.held: list[asyncio.Future[None]] = []

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        self.sent.append(entry)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.hold:
            self.held.append(future)
        else:
            future.set_result(None)
        return future

    @property
    def reconnects(self) -> int:
        return 0

    @property
    def connected(self) -> bool:
        return not self.hold


async def _until(check: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():  # type: ignore[operator]
            await asyncio.sleep(0.01)


def test_submit_forwards_unchanged_and_updates_live(tmp_path: Path) -> None:
    """CO-2, APP-1, APP-4: in-process submit is durable, forwarded byte for byte, seen live."""
    rule = ThresholdRule(id="high", property_id="OBIS_1.7.0", above=5.0)
    settings = EdgeSettings(outbox_path=tmp_path / "o.sqlite3", rules=[rule], concentrator_id="e1")
    good = sample_reading("m1", 1, import_kw=6.0)
    bad = b'{"not": "a reading"'

    async def main() -> tuple[FakeSink, EdgeService]:
        outbox = await SqliteOutbox.open(settings.outbox_path)
        sink = FakeSink()
        service = EdgeService(settings, outbox=outbox, sink=sink)
        runner = asyncio.create_task(service.run())
        try:
            await service.submit("smartMeterMessage/m1/readings", good)
            await service.submit("smartMeterMessage/m1/readings", bad)
            await _until(lambda: len(sink.sent) == 3 and outbox.depth() == 0)
        finally:
            service.stop()
            await runner
            await outbox.close()
        return sink, service

    sink, service = asyncio.run(main())
    assert [e.payload for e in sink.sent[:2]] == [good, bad]
    alert = sink.sent[2]
    assert alert.topic == "concentrator/e1/alerts/high/m1"
    assert orjson.loads(alert.payload)["state"] == "raised"
    assert service.counters.malformed == 1
    assert service.live.meters["m1"].import_kw == 6.0
    assert service.status()["messages"] == {
        "in": 3,
        "out": 3,
        "inflight": 0,
        "malformed": 1,
        "oversized": 0,
        "rejectedTopics": 0,
        "liveDropped": 0,
    }


def test_full_outbox_pauses_submit(tmp_path: Path) -> None:
    """CO-2: when the outbox is full, intake waits (back-pressure) instead of dropping."""
    settings = EdgeSettings(outbox_path=tmp_path / "o.sqlite3", outbox_max_messages=10)

    async def main() -> None:
        outbox = await SqliteOutbox.open(settings.outbox_path)
        sink = FakeSink()
        sink.hold = True
        service = EdgeService(settings, outbox=outbox, sink=sink)
        runner = asyncio.create_task(service.run())
        try:
            for i in range(10):
                await service.submit("smartMeterMessage/m1/readings", b"%d" % i)
            assert not service.room.is_set()
            blocked = asyncio.create_task(service.submit("smartMeterMessage/m1/readings", b"x"))
            await asyncio.sleep(0.2)
            assert not blocked.done()
            assert service.status()["outbox"]["full"]
            for future in sink.held:
                future.set_result(None)
            sink.hold = False
            await asyncio.wait_for(blocked, 5)
            await _until(lambda: outbox.depth() == 0)
            assert [e.payload for e in sink.sent][:10] == [b"%d" % i for i in range(10)]
        finally:
            service.stop()
            await runner
            await outbox.close()

    asyncio.run(main())
