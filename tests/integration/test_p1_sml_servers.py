"""Simulated meters served over TCP (a ser2net-like P1 bridge) and a pseudo-terminal."""

from __future__ import annotations

import asyncio
import os

import pytest

from omdp.decoders.dsmr import TelegramSplitter, decode_telegram
from omdp.decoders.sml import SmlStreamDecoder
from omdp.simulators.dsmr_meter import DsmrMeter, MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile
from omdp.simulators.sml_meter import SmlMeter

pytestmark = pytest.mark.integration


class FakeClock:
    """Simulated time: every call advances ten minutes."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 600
        return self.now


async def _read_dsmr_over_tcp() -> list[object]:
    meter = DsmrMeter(profile=HouseholdProfile(seed=9))
    clock = FakeClock(meter.profile.origin)
    async with MeterStreamServer(meter.telegram_at, interval=0.02, clock=clock) as server:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        splitter = TelegramSplitter()
        telegrams: list[object] = []
        try:
            while len(telegrams) < 3:
                chunk = await asyncio.wait_for(reader.read(1024), timeout=5)
                assert chunk, "server closed early"
                telegrams += [decode_telegram(t) for t in splitter.feed(chunk)]
        finally:
            writer.close()
            await writer.wait_closed()
    return telegrams


def test_dsmr_over_tcp() -> None:
    telegrams = asyncio.run(_read_dsmr_over_tcp())
    stamps = [t.timestamp for t in telegrams]  # type: ignore[attr-defined]
    assert stamps == sorted(stamps)
    assert len(set(stamps)) == 3


async def _read_sml_over_pty() -> int:
    meter = SmlMeter()
    clock = FakeClock(meter.profile.origin)
    async with MeterStreamServer(meter.file_at, interval=0.02, clock=clock) as server:
        path = server.open_pty()
        fd = os.open(path, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            decoder = SmlStreamDecoder()
            files: list[object] = []
            for _ in range(250):
                await asyncio.sleep(0.02)
                try:
                    files += decoder.feed(os.read(fd, 4096))
                except BlockingIOError:
                    continue
                if len(files) >= 2:
                    break
            return len(files)
        finally:
            os.close(fd)


def test_sml_over_pty() -> None:
    assert asyncio.run(_read_sml_over_pty()) >= 2
