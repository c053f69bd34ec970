"""The M-Bus source: polled reads through the master against the slave simulator over TCP."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import Backoff, MBusBus, MBusSource, open_source, sample_from_frames
from omdp.decoders.mbus import DataRecord, DateTimeValue, Header, manufacturer_code
from omdp.decoders.mbus.application import CI_VARIABLE
from omdp.decoders.mbus.encode import make_frame, make_record, vib_for
from omdp.domain.adapter_file import MeterConnection
from omdp.mbus import TcpTransport
from omdp.simulators.mbus_slave import MBusSlaveSimulator, MeterSpec

BERLIN = ZoneInfo("Europe/Berlin")


def clock_record() -> DataRecord:
    stamp = DateTimeValue("F", 2024, 3, 5, 14, 30)
    return make_record(vib_for("Time point (date & time)", "-"), stamp, coding="int32")


def meters() -> list[MeterSpec]:
    """An electricity meter answering in two telegrams, and a water meter."""
    electricity = [
        [clock_record(), make_record(vib_for("Energy", "Wh", 1000.0), 4321, coding="bcd8")],
        [
            make_record(vib_for("Energy", "Wh", 1000.0), 17, coding="bcd8", tariff=2),
            make_record(vib_for("Power", "W"), 512, storage=1),
        ],
    ]
    water = [[make_record(vib_for("Volume", "m^3", 0.001), 123456)]]
    return [
        MeterSpec(5, "11223344", "EMH", 1, 0x02, electricity),
        MeterSpec(6, "55667788", "ZRI", 1, 0x07, water),
    ]


class FlakyBus(MBusSlaveSimulator):
    """Garbles the first ``garble`` data answers, as a noisy bus does."""

    def __init__(self, specs: list[MeterSpec], *, garble: int) -> None:
        super().__init__(specs)
        self.garble = garble

    def handle(self, request: bytes) -> bytes:
        answer = super().handle(request)
        if len(answer) > 1 and self.garble:
            self.garble -= 1
            return answer[:-2] + bytes(((answer[-2] + 1) & 0xFF, 0x16))
        return answer


async def first(source: MBusSource, n: int = 1) -> list[MeterSample]:
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


def test_primary_multi_telegram_readout_and_meter_clock() -> None:
    async def run() -> tuple[MeterSample, MBusSource]:
        async with MBusSlaveSimulator(meters()).serve_tcp() as port:
            conn = MeterConnection.model_validate(
                {"kind": "mbus", "tcp": f"127.0.0.1:{port}", "address": "5", "interval": 0.01,
                 "timezone": "Europe/Berlin", "timeout": 0.5}
            )  # fmt: skip
            source = open_source(conn)
            assert isinstance(source, MBusSource)
            samples = await asyncio.wait_for(first(source, 2), 5)
        return samples[-1], source

    sample, source = asyncio.run(run())
    fields = [dict(v.fields) for v in sample.values]
    assert [v.value for v in sample.values] == [4321000, 17000, 512]
    assert fields[1] == {
        "quantity": "Energy",
        "function": "instantaneous",
        "storage": 0,
        "tariff": 2,
        "subunit": 0,
        "unit": "Wh",
    }
    assert fields[2]["storage"] == 1
    assert sample.meter_time == datetime(2024, 3, 5, 14, 30, tzinfo=BERLIN)
    assert sample.meter_serial == "11223344"
    assert sample.fault is None
    assert source.stats.ok == 2


def test_secondary_address_and_two_meters_share_one_bus() -> None:
    async def run() -> list[MeterSample]:
        async with (
            MBusSlaveSimulator(meters()).serve_tcp() as port,
            MBusBus(TcpTransport("127.0.0.1", port), timeout=0.5) as bus,
        ):
            a = bus.source("elec", "11223344", interval=0.01)
            b = bus.source("water", 6, interval=0.01)
            got = await asyncio.wait_for(asyncio.gather(first(a, 3), first(b, 3)), 5)
        return [s for both in got for s in both]

    samples = asyncio.run(run())
    serials = {s.meter_serial for s in samples}
    assert serials == {"11223344", "55667788"}
    water = next(s for s in samples if s.meter_serial == "55667788")
    assert water.values[0].value == 123.456
    assert water.values[0].fields["quantity"] == "Volume"


def test_absent_meter_times_out_and_garbled_answers_are_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """AD-1: an absent meter is a logged timeout; garbled answers are repeated and counted."""

    async def run() -> tuple[MBusSource, MBusSource]:
        async with (
            FlakyBus(meters(), garble=2).serve_tcp() as port,
            MBusBus(TcpTransport("127.0.0.1", port), timeout=0.1, retries=1) as bus,
        ):
            absent = bus.source("absent", 9, interval=0.01)
            gen = absent.samples()
            task = asyncio.ensure_future(gen.__anext__())
            await asyncio.sleep(0.5)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await gen.aclose()
            flaky = bus.source("flaky", 6, interval=0.01)
            await asyncio.wait_for(first(flaky), 5)
        return absent, flaky

    with caplog.at_level(logging.WARNING):
        absent, flaky = asyncio.run(run())
    assert absent.stats.timeouts >= 1
    assert absent.stats.ok == 0
    assert absent.stats.last_error is not None
    assert "address 9: no valid acknowledge after 2 tries" in absent.stats.last_error
    assert flaky.stats.ok == 1
    assert flaky.stats.decode_errors == 2
    assert any(getattr(r, "meter_source", "") == "absent" for r in caplog.records)


def test_lost_gateway_is_reconnected() -> None:
    """AD-1: a gateway that is down is retried with back-off until it answers."""
    delays: list[float] = []

    async def record(delay: float) -> None:
        delays.append(delay)
        await asyncio.sleep(0.01)

    async def run() -> MBusSource:
        sim = MBusSlaveSimulator(meters())
        server = await asyncio.start_server(sim._tcp_client, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()  # nothing listens: connections are refused
        bus = MBusBus(TcpTransport("127.0.0.1", port), timeout=0.2)
        source = MBusSource(
            "gw", bus, 6, interval=0.01, backoff=Backoff(initial=0.01, sleep=record), owns_bus=True
        )
        gen = source.samples()
        task = asyncio.ensure_future(gen.__anext__())
        await asyncio.sleep(0.1)
        server = await asyncio.start_server(sim._tcp_client, "127.0.0.1", port)
        async with server:
            await asyncio.wait_for(task, 5)
            await gen.aclose()
            server.close()
        return source

    source = asyncio.run(run())
    assert delays
    assert source.stats.reconnects == 1
    assert source.stats.ok == 1


def test_status_byte_is_the_fault() -> None:
    header = Header("87654321", manufacturer_code("EMH"), 1, 2, 7, 0x04, 0)
    frame = make_frame(CI_VARIABLE, (clock_record(),), header=header)
    sample = sample_from_frames([frame], tz=BERLIN)
    assert sample.fault == "MBUS_STATUS_0x04"
    assert sample.values == ()
    assert sample.meter_serial == "87654321"
    manufacturer_bits = Header("87654321", manufacturer_code("EMH"), 1, 2, 7, 0x80, 0)
    ok = sample_from_frames([make_frame(CI_VARIABLE, (), header=manufacturer_bits)])
    assert ok.fault is None
