"""The SML source against the simulator (TCP and pty) and against bad files; the factory."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import (
    JsonMqttSource,
    MBusSource,
    MeterSource,
    PushSource,
    open_source,
    sml_source,
)
from omdp.domain.adapter_file import MeterConnection
from omdp.errors import ConfigError
from omdp.simulators.dsmr_meter import MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile
from omdp.simulators.sml_meter import SmlMeter


class FakeClock:
    """Simulated time for the simulator: every file is ten minutes later."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 600
        return self.now


async def take(source: MeterSource, n: int, *, timeout: float = 5.0) -> list[MeterSample]:
    """The first ``n`` samples of a source (then it is closed)."""

    async def _take() -> list[MeterSample]:
        out: list[MeterSample] = []
        gen = source.samples()
        try:
            async for sample in gen:
                out.append(sample)
                if len(out) == n:
                    break
        finally:
            await gen.aclose()  # type: ignore[attr-defined]
        return out

    return await asyncio.wait_for(_take(), timeout)


def assert_from_meter(sample: MeterSample, meter: SmlMeter, times: list[float]) -> None:
    """The sample equals what the simulator held at one of the times it sent a file."""
    got = {str(v.fields["obis"]): v.value for v in sample.values}

    def same(t: float) -> bool:
        held = meter.values_at(t)
        return all(
            got[str(i.obis)] == (float(i.value) if isinstance(i.value, Decimal) else i.value)
            for i in held
        )

    assert any(same(t) for t in times)


def run_against_simulator(*, pty: bool) -> tuple[list[MeterSample], SmlMeter, list[float]]:
    meter = SmlMeter(profile=HouseholdProfile(seed=11))
    clock = FakeClock(meter.profile.origin)
    start = clock.now

    async def run() -> list[MeterSample]:
        async with MeterStreamServer(meter.file_at, interval=0.02, clock=clock) as server:
            if pty:
                source = sml_source("ehz", serial=server.open_pty(), interval=0.02)
            else:
                source = sml_source("ehz", tcp=("127.0.0.1", server.port), interval=0.02)
            return await take(source, 2)

    samples = asyncio.run(run())
    times = [start + 600 * k for k in range(1, int((clock.now - start) / 600) + 1)]
    return samples, meter, times


@pytest.mark.parametrize("pty", [False, True], ids=["tcp", "pty"])
def test_reads_the_simulator(pty: bool) -> None:
    samples, meter, times = run_against_simulator(pty=pty)
    assert len(samples) == 2
    for sample in samples:
        assert_from_meter(sample, meter, times)
        assert sample.meter_serial == meter.server_id


def test_bad_crc_is_logged_counted_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    """AD-1: a file with a bad CRC is logged with both CRC values and skipped; reading goes on."""
    meter = SmlMeter(profile=HouseholdProfile(seed=12))
    t0 = meter.profile.origin + 600
    good = meter.file_at(t0)
    bad = bytearray(meter.file_at(t0 + 600))
    bad[-1] ^= 0xFF  # the file CRC

    async def client(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for chunk in (b"noise", bytes(bad), good):
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.01)
            await asyncio.sleep(30)
        finally:
            writer.close()

    async def run() -> tuple[list[MeterSample], PushSource]:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            source = sml_source("ehz-bad", tcp=("127.0.0.1", port), interval=1.0)
            samples = await take(source, 1)
            server.close()
        return samples, source

    with caplog.at_level(logging.WARNING):
        samples, source = asyncio.run(run())
    assert len(samples) == 1
    assert source.stats.decode_errors == 2
    messages = [
        r.getMessage() for r in caplog.records if getattr(r, "meter_source", "") == "ehz-bad"
    ]
    assert any("file CRC mismatch: file says" in m for m in messages)
    assert any("noise" in m for m in messages)


def test_factory_builds_each_kind() -> None:
    dsmr = open_source(MeterConnection(kind="dsmr", serial="/dev/ttyUSB0"))
    sml = open_source(MeterConnection(kind="sml", tcp="bridge:2001"), name="ehz")
    mbus = open_source(MeterConnection(kind="mbus", tcp="gw:10001", address="12345678"))
    json = open_source(MeterConnection.model_validate({"kind": "json-mqtt", "topic": "dev/+"}))
    assert isinstance(dsmr, PushSource)
    assert isinstance(sml, PushSource)
    assert sml.name == "ehz"
    assert isinstance(mbus, MBusSource)
    assert mbus.address == "12345678"
    assert isinstance(json, JsonMqttSource)


@pytest.mark.parametrize(
    ("conn", "reason"),
    [
        ({"kind": "dsmr"}, "exactly one of tcp and serial"),
        ({"kind": "sml", "tcp": "nohost"}, "is not host:port"),
        ({"kind": "mbus", "tcp": "gw:1"}, "needs an address"),
        ({"kind": "mbus", "tcp": "gw:1", "address": "251"}, "neither primary"),
        ({"kind": "mbus", "serial": "/dev/x", "address": "1", "serialFormat": "7E1"}, "8 data"),
        ({"kind": "json-mqtt"}, "needs a topic"),
        ({"kind": "json-mqtt", "topic": "t", "timePath": "time"}, "not a JSON path"),
        ({"kind": "dsmr", "tcp": "h:1", "timezone": "Mars/Olympus"}, "not an IANA zone"),
    ],
)
def test_factory_refuses_unusable_settings(conn: dict[str, str], reason: str) -> None:
    with pytest.raises(ConfigError, match=reason):
        open_source(MeterConnection.model_validate(conn))
