"""The adapter's own state (AD-1, CO-2): one locked outbox per meter, sequence numbers that go on
across restarts and skip the readings that were missed, counted in metrics and the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
from prometheus_client import generate_latest

from omdp.adapter.config import load_adapter_file
from omdp.adapter.metrics import adapter_registry
from omdp.adapter.samples import MeterSample, SourceValue
from omdp.adapter.service import Adapter, adapter_status, missed_between
from omdp.adapter.sources import SourceStats
from omdp.catalog import default_catalog
from omdp.delivery.outbox import Entry
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.errors import StorageError
from omdp.ops.status import parse_prometheus

INTERVAL = 10.0


class ListSource:
    """Yields one sample per entry of ``times`` (setting the adapter's clock), then waits."""

    def __init__(self, adapter_clock: list[float], times: list[float]) -> None:
        self.name = "list"
        self.stats = SourceStats()
        self.clock = adapter_clock
        self.times = times
        self.done = asyncio.Event()

    async def samples(self) -> AsyncIterator[MeterSample]:
        for at in self.times:
            self.clock[0] = at
            yield MeterSample(values=(SourceValue({"path": "$.n"}, 1.0),), document={"n": 1.0})
        self.done.set()
        await asyncio.Event().wait()


class KeepingSink:
    """Acknowledges every entry at once and keeps its payload (the next hop)."""

    def __init__(self) -> None:
        self.payloads: list[bytes] = []

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        self.payloads.append(entry.payload)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    reconnects = 0
    connected = True


def _file(folder: Path, meter: str) -> Path:
    path = folder / f"{meter}.yaml"
    path.write_text(
        f"MeterIndividualId: {meter}\n"
        "OperationalPropertyMapping: [{from: $.n, to: OBIS_1.8.0, unit: kWh}]\n"
        f"Meter: {{kind: json-mqtt, topic: devices/{meter}, interval: {INTERVAL}}}\n"
    )
    os.chmod(path, 0o600)
    return path


async def _run(path: Path, state: Path, times: list[float]) -> tuple[list[int], Adapter, str]:
    clock = [0.0]
    adapter = Adapter(
        load_adapter_file(path),
        catalog=default_catalog(),
        base_dir=path.parent,
        state_dir=state,
        clock=lambda: clock[0],
    )
    source = ListSource(clock, times)
    adapter.source = source
    sink = KeepingSink()
    task = asyncio.create_task(adapter.run(sink=sink))
    async with asyncio.timeout(10):
        await source.done.wait()
        while adapter.outbox is None or adapter.outbox.depth():
            await asyncio.sleep(0.01)
    metrics = generate_latest(adapter_registry(lambda: [adapter_status(adapter)])).decode()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    return [orjson.loads(p)["sequenceNumber"] for p in sink.payloads], adapter, metrics


def test_sequence_numbers_go_on_across_restarts_and_skip_missed_readings(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """AD-1: the first run numbers 1-3 with one poll missed between 2 and 3 (numbers 1, 2, 4);
    the adapter is then down for 60 s (five readings of a 10 s meter never taken): the next
    run starts at 10, not at 1. The outbox is named after the meter, in the state folder;
    missed readings are counted in the metrics and logged."""
    path = _file(tmp_path, "meter-x")
    state = tmp_path / "state"
    caplog.set_level(logging.WARNING, logger="omdp.adapter.service")
    first, adapter, _ = asyncio.run(_run(path, state, [1000.0, 1010.0, 1030.0]))
    assert adapter.outbox_path == state / "meter-x.outbox.sqlite3"
    assert first == [1, 2, 4]
    assert adapter.stats.missed == 1
    second, adapter, metrics = asyncio.run(_run(path, state, [1090.0, 1100.0]))
    assert second == [10, 11]
    assert adapter.stats.missed == 5
    values = parse_prometheus(metrics)
    assert values["omdp_adapter_missed_total"] == 5.0
    assert values["omdp_adapter_sequence"] == 11.0
    assert values["omdp_adapter_readings_total"] == 2.0
    assert any("5 reading(s) missed" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("last", "now", "expected"),
    [(None, 5.0, 0), (0.0, 10.0, 0), (0.0, 17.0, 0), (0.0, 18.0, 1), (0.0, 30.0, 2), (9, 1, 0)],
)
def test_missed_between_tolerates_jitter(last: float | None, now: float, expected: int) -> None:
    """AD-1: a sample up to 1.75 intervals late is jitter, not a missed reading."""
    assert missed_between(last, now, INTERVAL) == expected


def test_a_second_process_on_the_same_outbox_is_refused(tmp_path: Path) -> None:
    """AD-1, CO-2: an outbox is locked by its owner; a second opener gets a clear error naming
    the owner's pid, and can open it once the first closed it."""

    async def main() -> str:
        path = tmp_path / "m.outbox.sqlite3"
        first = await SqliteOutbox.open(path)
        try:
            with pytest.raises(StorageError, match="in use by another process") as caught:
                await SqliteOutbox.open(path)
        finally:
            await first.close()
        again = await SqliteOutbox.open(path)
        await again.close()
        return str(caught.value)

    message = asyncio.run(main())
    assert f"pid {os.getpid()}" in message
