"""The DSMR P1 source against the simulator (TCP and pty) and against a misbehaving bridge."""

from __future__ import annotations

import asyncio
import logging
from decimal import Decimal

import pytest

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import Backoff, MeterSource, dsmr_source, open_source
from omdp.adapter.sources.dsmr import DsmrFrameDecoder
from omdp.adapter.sources.push import PushSource
from omdp.adapter.sources.streams import ByteStream, TcpStream
from omdp.domain.adapter_file import MeterConnection
from omdp.simulators.dsmr_meter import DsmrMeter, MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile


class FakeClock:
    """Simulated time for the simulator: every frame is ten minutes later."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 600
        return self.now


async def no_sleep(_: float) -> None:
    """A back-off sleep that does not wait."""
    await asyncio.sleep(0)


def fast_backoff() -> Backoff:
    """A back-off that retries at once."""
    return Backoff(initial=0.0, cap=0.0, sleep=no_sleep)


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


def norm(value: object) -> object:
    """Exact numbers as float; digit strings ("0001" tariff, "003" device type) as int."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def assert_matches_meter(sample: MeterSample, meter: DsmrMeter) -> None:
    """Every value the simulator held at the sample's time is in the sample, unchanged."""
    assert sample.meter_time is not None
    held = meter.values_at(sample.meter_time.timestamp())
    got = {str(v.fields["obis"]): v.value for v in sample.values}
    for item in held:
        assert norm(got[str(item.obis)]) == norm(item.value), item.obis
    assert sample.meter_serial == meter.meter_id


def test_reads_the_simulator_over_tcp() -> None:
    meter = DsmrMeter(profile=HouseholdProfile(seed=3))

    async def run() -> tuple[list[MeterSample], PushSource]:
        clock = FakeClock(meter.profile.origin)
        async with MeterStreamServer(meter.telegram_at, interval=0.02, clock=clock) as server:
            conn = MeterConnection(kind="dsmr", tcp=f"127.0.0.1:{server.port}", interval=0.02)
            source = open_source(conn)
            assert isinstance(source, PushSource)
            return await take(source, 3), source

    samples, source = asyncio.run(run())
    for sample in samples:
        assert_matches_meter(sample, meter)
    assert source.stats.ok == 3
    assert source.stats.decode_errors == 0


def test_reads_the_simulator_over_a_pty() -> None:
    meter = DsmrMeter(profile=HouseholdProfile(seed=4), gas=False)

    async def run() -> list[MeterSample]:
        clock = FakeClock(meter.profile.origin)
        async with MeterStreamServer(meter.telegram_at, interval=0.02, clock=clock) as server:
            source = dsmr_source("p1", serial=server.open_pty(), interval=0.02)
            return await take(source, 2)

    for sample in asyncio.run(run()):
        assert_matches_meter(sample, meter)


def corrupt_crc(telegram: bytes) -> bytes:
    """The telegram with one digit of a register changed (its CRC no longer matches)."""
    return telegram.replace(b"1-0:1.8.1(00", b"1-0:1.8.1(01", 1)


async def serve_chunks(chunks: list[bytes]) -> tuple[asyncio.Server, int]:
    """A bridge that sends ``chunks`` (with short pauses) to each client, then stays silent."""

    async def client(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for chunk in chunks:
                writer.write(chunk)
                await writer.drain()
                await asyncio.sleep(0.01)
            await asyncio.sleep(30)
        finally:
            writer.close()

    server = await asyncio.start_server(client, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def test_garbled_bytes_and_bad_crc_are_logged_counted_and_skipped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """AD-1: noise, a truncated telegram and a bad CRC are logged with the reason; reads go on."""
    meter = DsmrMeter(profile=HouseholdProfile(seed=5))
    t0 = meter.profile.origin + 3600
    good = meter.telegram_at(t0)
    later = meter.telegram_at(t0 + 10)
    chunks = [b"\x00\xffline noise", good[:40], corrupt_crc(good), later]

    async def run() -> tuple[list[MeterSample], PushSource]:
        server, port = await serve_chunks(chunks)
        async with server:
            source = dsmr_source("garbled", tcp=("127.0.0.1", port), interval=1.0)
            samples = await take(source, 1)
            server.close()
        return samples, source

    with caplog.at_level(logging.WARNING):
        samples, source = asyncio.run(run())
    assert samples[0].meter_time is not None
    assert samples[0].meter_time.timestamp() == t0 + 10  # only the last telegram was good
    assert source.stats.decode_errors == 3
    assert source.stats.ok == 1
    reasons = [
        r.getMessage() for r in caplog.records if getattr(r, "meter_source", "") == "garbled"
    ]
    assert any("noise" in r for r in reasons)
    assert any("truncated" in r for r in reasons)
    assert any("CRC mismatch: telegram says" in r for r in reasons)


def test_silence_is_a_timeout_then_the_source_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    """AD-1: no telegram for 3 x interval is logged and counted, and the source reconnects."""
    meter = DsmrMeter(profile=HouseholdProfile(seed=6))
    telegram = meter.telegram_at(meter.profile.origin + 60)
    connections = 0

    async def client(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            if connections > 1:  # the first connection stays silent
                writer.write(telegram)
                await writer.drain()
            await asyncio.sleep(30)
        finally:
            writer.close()

    async def run() -> PushSource:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            source = dsmr_source(
                "quiet", tcp=("127.0.0.1", port), interval=0.05, backoff=fast_backoff()
            )
            await take(source, 1)
            server.close()
        return source

    with caplog.at_level(logging.WARNING):
        source = asyncio.run(run())
    assert source.stats.timeouts == 1
    assert source.stats.reconnects == 1
    assert source.stats.ok == 1
    assert any("no valid frame from tcp 127.0.0.1" in r.getMessage() for r in caplog.records)


def test_refused_connection_backs_off_and_retries() -> None:
    """AD-1: a bridge that is down is retried with growing, jittered delays until it answers."""
    delays: list[float] = []
    attempts = 0

    async def record(delay: float) -> None:
        delays.append(delay)

    async def run() -> PushSource:
        meter = DsmrMeter(profile=HouseholdProfile(seed=7))
        async with MeterStreamServer(
            meter.telegram_at, interval=0.02, clock=FakeClock(meter.profile.origin)
        ) as server:

            async def connect() -> ByteStream:
                nonlocal attempts
                attempts += 1
                port = server.port if attempts > 3 else 1  # port 1: refused
                return await TcpStream.connect("127.0.0.1", port, timeout=1)

            source = PushSource(
                "down",
                connect=connect,
                decoder=DsmrFrameDecoder,
                interval=0.02,
                backoff=Backoff(initial=1.0, cap=3.0, sleep=record),
            )
            await take(source, 1)
        return source

    source = asyncio.run(run())
    assert attempts == 4
    assert len(delays) == 3
    assert 0.5 <= delays[0] <= 1.0
    assert 1.0 <= delays[1] <= 2.0
    assert 1.5 <= delays[2] <= 3.0  # capped
    assert source.stats.last_error is not None
    assert "cannot connect to tcp 127.0.0.1:1" in source.stats.last_error


def test_backoff_is_capped_jittered_and_resets() -> None:
    backoff = Backoff(initial=0.5, cap=4.0)
    delays = [backoff.next_delay() for _ in range(8)]
    ceilings = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0, 4.0, 4.0]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings, strict=True))
    backoff.reset()
    assert backoff.next_delay() <= 0.5
