"""A simulated encrypted DLMS meter -> adapter -> real Mosquitto; a wrong key, replayed frame
counters and corrupted frames give precise errors and never stop the source (AD-1, AD-2, AD-6)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable
from pathlib import Path

import pytest
from tests.integration.adapter.test_adapter_e2e import (
    T0,
    adapter_for,
    collect,
    run,
    running,
    values,
)

from omdp.adapter.sources import dlms_source
from omdp.adapter.sources.base import Backoff
from omdp.decoders.dlms import DlmsKeys
from omdp.domain.reading import MeterReading
from omdp.simulators.dlms_meter import DEMO_KEY, DlmsMeter
from omdp.simulators.dsmr_meter import MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile
from omdp.testing.services import Mosquitto

pytestmark = pytest.mark.integration

KEYS = DlmsKeys.from_hex(DEMO_KEY, DEMO_KEY)


def ticking() -> itertools.count[float]:
    return itertools.count(T0, 1.0)  # a meter's clock: every push a new frame counter


def test_ad6_encrypted_dlms_meter_over_mbus_publishes_readings(
    tmp_path: Path, mosquitto: Mosquitto
) -> None:
    """AD-2, AD-6: an AES-GCM (authenticated) Kaifa MA309 push over M-Bus -> readings in kWh."""
    meter = DlmsMeter(HouseholdProfile(seed=7, origin=T0 - 86_400), keys=KEYS)
    clock = ticking()

    async def main() -> list[tuple[str, MeterReading]]:
        server = MeterStreamServer(meter.frame_at, interval=0.2, clock=lambda: next(clock))
        async with server as sim:
            adapter = adapter_for(
                tmp_path, mosquitto,
                {"kind": "dlms", "tcp": f"127.0.0.1:{sim.port}", "interval": 0.2,
                 "profile": "dlms-kaifa-ma309", "key": DEMO_KEY, "authKey": DEMO_KEY},
            )  # fmt: skip
            async with running(adapter):
                return await collect(mosquitto, 2)

    [(topic, first), (_, second)] = run(main)
    assert topic == "smartMeterMessage/meter-1/readings"
    got = values(first)
    kwh, unit = got["OBIS_1.8.0"]
    assert unit == "kWh"
    assert kwh is not None
    assert kwh == pytest.approx(int(meter.profile.energy(T0).import_wh) / 1000, abs=0.01)
    assert got["OBIS_32.7.0"] == (pytest.approx(230.1), "V")
    assert second.sequence_number == (first.sequence_number or 0) + 1


async def _read_problems(
    frame_at: Callable[[float], bytes], keys: DlmsKeys, *, frozen: bool
) -> tuple[int, str]:
    ticks = ticking()
    clock = (lambda: T0) if frozen else (lambda: next(ticks))
    async with MeterStreamServer(frame_at, interval=0.05, clock=clock) as sim:
        source = dlms_source(
            "dlms-test", tcp=("127.0.0.1", sim.port), keys=keys, interval=0.05,
            backoff=Backoff(initial=0.01, cap=0.05),
        )  # fmt: skip
        samples = 0

        async def consume() -> None:
            nonlocal samples
            async for _ in source.samples():
                samples += 1

        task = asyncio.create_task(consume())
        async with asyncio.timeout(20):
            while source.stats.decode_errors < 3:
                await asyncio.sleep(0.05)
        assert not task.done()  # the source reads on after every error
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return samples, source.stats.last_error or ""


def test_ad1_wrong_key_is_reported_and_source_reads_on() -> None:
    meter = DlmsMeter(HouseholdProfile(origin=T0 - 3600), keys=KEYS)
    samples, last = asyncio.run(
        _read_problems(meter.frame_at, DlmsKeys.from_hex("11" * 16, DEMO_KEY), frozen=False)
    )
    assert samples == 0
    assert "WrongKeyError" in last
    assert "wrong key or authentication key" in last


def test_ad1_replayed_frame_counter_is_refused() -> None:
    meter = DlmsMeter(HouseholdProfile(origin=T0 - 3600), keys=KEYS)
    samples, last = asyncio.run(_read_problems(meter.frame_at, KEYS, frozen=True))
    assert samples == 1  # the first push; its copies are replays
    assert "ReplayError" in last


def test_ad1_corrupted_frames_are_reported() -> None:
    meter = DlmsMeter(HouseholdProfile(origin=T0 - 3600), keys=KEYS)

    def corrupted(t: float) -> bytes:
        frame = bytearray(meter.frame_at(t))
        frame[30] ^= 0x01
        return bytes(frame)

    samples, last = asyncio.run(_read_problems(corrupted, KEYS, frozen=False))
    assert samples == 0
    assert "checksum" in last
