"""The adapter's clock jumps forward and backward (DM-1, DM-2, AD-1).

Readings keep unique identifiers and increasing sequence numbers whatever the clock does; the
meter's own clock disagreeing with the jumped adapter clock is flagged in ``faultCode``
(METER_CLOCK_SKEW); every reading is stored, none lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from omdp.adapter.config import load_adapter_file
from omdp.adapter.samples import MeterSample
from omdp.adapter.service import Adapter
from omdp.adapter.sources.base import SourceStats
from omdp.catalog import default_catalog
from tests.faults.chain import Chain, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

T0 = datetime(2024, 6, 1, 12, tzinfo=UTC)
COUNT = 400
#: adapter clock offset per reading index: forward 2 h, back 3 h, forward a day, back a day
JUMPS = (
    (100, timedelta(hours=2)),
    (180, timedelta(hours=-3)),
    (260, timedelta(days=1)),
    (330, timedelta(days=-1)),
)


def offset(index: int) -> timedelta:
    """The adapter clock's error at reading ``index`` (zero between the jumps)."""
    current = timedelta()
    for start, jump in JUMPS:
        if index >= start:
            current = jump
    return current if index % 40 < 30 else timedelta()  # each jump lasts 30 readings


class ScriptedMeter:
    """A meter with a correct clock: one sample per step, value ``n`` on ``$.n``."""

    name = "scripted"

    def __init__(self) -> None:
        self.stats = SourceStats()
        self.index = 0

    async def samples(self) -> AsyncIterator[MeterSample]:
        for n in range(COUNT):
            self.index = n
            yield MeterSample(values=(), document={"n": n}, meter_time=T0 + timedelta(minutes=n))
            await asyncio.sleep(0.002)
        await asyncio.Event().wait()  # a real meter never ends


def test_adapter_clock_jumps(make_chain: Callable[..., Chain], tmp_path: Path) -> None:
    """DM-1, DM-2, AD-1: 400 readings while the adapter's clock jumps +2 h, -3 h, +1 d, -1 d."""
    chain = make_chain()
    file = tmp_path / "adapter.yaml"
    file.write_text(
        yaml.safe_dump(
            {
                "MeterIndividualId": "clock-meter",
                "OperationalPropertyMapping": [{"from": "$.n", "to": "OBIS_1.8.0", "unit": "kWh"}],
                "Broker": {"host": "127.0.0.1", "port": chain.local.port},
                "Adapter": {"timezone": "Europe/Berlin", "outboxPath": "outbox.sqlite3"},
            }
        )
    )
    os.chmod(file, 0o600)
    meter = ScriptedMeter()
    adapter = Adapter(
        load_adapter_file(file), catalog=default_catalog(), base_dir=tmp_path, source=meter
    )
    adapter.factory.clock = lambda: T0 + timedelta(minutes=meter.index) + offset(meter.index)

    def rows() -> list[tuple[object, ...]]:
        return chain.query(
            "SELECT r.reading_id, r.seq, r.fault, v.num FROM readings r "
            "JOIN reading_values v ON v.rid = r.rid WHERE r.meter_id = 'clock-meter'"
        )

    async def main() -> None:
        task = asyncio.create_task(adapter.run())
        try:
            await asyncio.to_thread(
                wait_until, lambda: len(rows()) >= COUNT, 60, "every reading stored", 0.5
            )
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    with contextlib.suppress(AssertionError):
        asyncio.run(main())
    got = rows()
    values = {int(num) for _, _, _, num in got}  # type: ignore[call-overload]
    ids = {str(rid) for rid, _, _, _ in got}
    faulted = {int(num) for _, _, fault, num in got if fault and "METER_CLOCK_SKEW" in str(fault)}  # type: ignore[call-overload]
    expected_faults = {n for n in range(COUNT) if abs(offset(n)) > timedelta(hours=1)}
    account = chain.account(
        "adapter clock jumping +2 h, -3 h, +1 d, -1 d",
        ids,
        notes=[
            f"readings made {COUNT}, stored {len(got)}, unique ids {len(ids)}",
            f"flagged METER_CLOCK_SKEW: {len(faulted)} (expected {len(expected_faults)})",
        ],
    )
    lost = sorted(set(range(COUNT)) - values)
    print(f"  readings lost: {len(lost)}")
    assert lost == []
    assert len(ids) == len(got) == COUNT, "one reading per sample, each with its own id"
    assert sorted(int(s) for _, s, _, _ in got) == list(range(1, COUNT + 1))  # type: ignore[call-overload]
    assert faulted == expected_faults
    assert account.quarantined == 0
