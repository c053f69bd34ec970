"""The master against the slave simulator over TCP and a pseudo-terminal (AD-1)."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from omdp.decoders.mbus import DataRecord
from omdp.decoders.mbus.encode import make_record, vib_for
from omdp.mbus import MBusMaster, MBusTimeoutError, SerialTransport, TcpTransport
from omdp.mbus.master import COLLISION, SINGLE
from omdp.simulators.mbus_slave import MBusSlaveSimulator, MeterSpec, PtySlave

pytestmark = pytest.mark.integration


def energy(kwh: int) -> DataRecord:
    """An energy record in kWh (BCD, 8 digits)."""
    return make_record(vib_for("Energy", "Wh", 1000.0), kwh, coding="bcd8")


def meters() -> list[MeterSpec]:
    """Three meters; the second answers in three telegrams."""
    return [
        MeterSpec(1, "12345678", "PAD", 1, 7, [[energy(1)]]),
        MeterSpec(2, "12345679", "ELS", 2, 4, [[energy(2)], [energy(3)], [energy(4)]]),
        MeterSpec(3, "22000001", "KAM", 1, 2, lambda: [[energy(5), energy(6)]]),
    ]


class FlakySimulator(MBusSlaveSimulator):
    """Loses or garbles the first answers to REQ_UD2, as a noisy bus does."""

    def __init__(self, specs: list[MeterSpec], *, drop: int = 0, garble: int = 0) -> None:
        super().__init__(specs)
        self.drop = drop
        self.garble = garble

    def handle(self, request: bytes) -> bytes:
        answer = super().handle(request)
        if len(answer) > 1 and self.drop:
            self.drop -= 1
            return b""
        if len(answer) > 1 and self.garble:
            self.garble -= 1
            return answer[:-2] + bytes(((answer[-2] + 1) & 0xFF, 0x16))
        return answer


def values(frames: list) -> list[list[float]]:
    """The record values of each telegram."""
    return [[r.value for r in f.records if r.function == "instantaneous"] for f in frames]


def test_tcp_primary_multi_telegram_and_secondary() -> None:
    """Primary readout follows "more records follow"; secondary selection with wildcards."""

    async def run() -> None:
        sim = MBusSlaveSimulator(meters())
        async with sim.serve_tcp() as port:
            master = MBusMaster(TcpTransport("127.0.0.1", port), timeout=0.3, retries=1)
            async with master:
                assert values(await master.read(2)) == [[2000], [3000], [4000]]
                assert values(await master.read(1)) == [[1000]]
                frames = await master.read_secondary("22FFFFFF")
                assert frames[0].header is not None
                assert frames[0].header.id == "22000001"
                assert values(frames) == [[5000, 6000]]
                assert await master.select("1234567F") == COLLISION
                assert await master.select("1234567F", manufacturer="ELS") == SINGLE

    asyncio.run(run())


def test_tcp_secondary_scan() -> None:
    """The wildcard scan finds every meter exactly once."""

    async def run() -> None:
        sim = MBusSlaveSimulator(meters())
        async with (
            sim.serve_tcp() as port,
            MBusMaster(TcpTransport("127.0.0.1", port), timeout=0.1) as master,
        ):
            found = await master.scan_secondary()
        assert sorted(a.id for a in found) == ["12345678", "12345679", "22000001"]
        assert {a.manufacturer for a in found} == {"PAD", "ELS", "KAM"}

    asyncio.run(run())


def test_retry_keeps_fcb_and_gets_the_same_telegram() -> None:
    """AD-1: a lost answer is re-requested with the same FCB; the slave repeats, none is lost."""

    async def run() -> None:
        sim = FlakySimulator(meters(), drop=2)
        async with sim.serve_tcp() as port:
            master = MBusMaster(TcpTransport("127.0.0.1", port), timeout=0.2, retries=2)
            async with master:
                assert values(await master.read(2)) == [[2000], [3000], [4000]]

    asyncio.run(run())


def test_garbled_answer_is_retried() -> None:
    """AD-1: an answer with a bad checksum is dropped, counted and the request repeated."""

    async def run() -> None:
        sim = FlakySimulator(meters(), garble=1)
        async with sim.serve_tcp() as port:
            master = MBusMaster(TcpTransport("127.0.0.1", port), timeout=0.2, retries=2)
            async with master:
                assert values(await master.read(1)) == [[1000]]
                assert master.garbled == 1

    asyncio.run(run())


def test_absent_meter_times_out_with_clear_error() -> None:
    """AD-1: a silent address raises MBusTimeoutError naming the address and the tries."""

    async def run() -> None:
        sim = MBusSlaveSimulator(meters())
        async with sim.serve_tcp() as port:
            master = MBusMaster(TcpTransport("127.0.0.1", port), timeout=0.05, retries=2)
            async with master:
                with pytest.raises(MBusTimeoutError) as info:
                    await master.read(42)
        assert info.value.address == 42
        assert "3 tries" in str(info.value)
        assert sim.requests == 3

    asyncio.run(run())


def test_serial_over_pty() -> None:
    """The master reads a meter through pyserial on a pseudo-terminal (2400 8E1 settings)."""

    async def run() -> None:
        async with PtySlave(MBusSlaveSimulator(meters())) as pty:
            master = MBusMaster(SerialTransport(pty.path), timeout=0.5, retries=1)
            async with master:
                assert values(await master.read(2)) == [[2000], [3000], [4000]]
                frames = await master.read_secondary("12345678")
                assert values(frames) == [[1000]]

    asyncio.run(run())


@pytest.fixture
def tcp_simulator() -> Iterator[int]:
    """Run the simulator in a thread with its own loop, for the CLI; yield its port."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    port: list[int] = []

    async def serve() -> None:
        async with MBusSlaveSimulator(meters()).serve_tcp() as p:
            port.append(p)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),))
    thread.start()
    assert ready.wait(5)
    yield port[0]
    loop.call_soon_threadsafe(stop.set)
    thread.join(5)
    loop.close()


def test_cli_read_and_scan(tcp_simulator: int) -> None:
    """``omdp mbus read`` prints one JSON object per telegram; ``scan`` lists the meters."""
    from omdp.cli.mbus_cmd import mbus

    runner = CliRunner()
    gw = f"127.0.0.1:{tcp_simulator}"
    result = runner.invoke(mbus, ["read", "--tcp", gw, "--address", "2", "--timeout", "0.3"])
    assert result.exit_code == 0, result.output
    telegrams = json.loads(result.output)
    assert [t["records"][0]["value"] for t in telegrams] == [2000, 3000, 4000]
    assert telegrams[0]["header"]["manufacturer"] == "ELS"
    result = runner.invoke(mbus, ["read", "--tcp", gw, "--secondary", "2200000F"])
    assert json.loads(result.output)[0]["header"]["id"] == "22000001"
    result = runner.invoke(mbus, ["scan", "--tcp", gw, "--timeout", "0.1"])
    assert result.exit_code == 0, result.output
    assert len(json.loads(result.output)) == 3
    missing = runner.invoke(
        mbus, ["read", "--tcp", gw, "--address", "9", "--timeout", "0.05", "--retries", "0"]
    )
    assert missing.exit_code == 1
    assert "address 9" in missing.output
