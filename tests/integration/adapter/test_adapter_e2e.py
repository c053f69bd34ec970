"""The adapter end to end: simulated meters -> adapter -> real Mosquitto (AD-1..AD-6)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml

from omdp.adapter.config import load_adapter_file
from omdp.adapter.service import Adapter
from omdp.catalog import default_catalog
from omdp.domain.reading import MeterReading
from omdp.domain.validation import parse_reading
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings
from omdp.simulators.dsmr_meter import DsmrMeter, MeterStreamServer
from omdp.simulators.mbus_meters import mbus_meters
from omdp.simulators.mbus_slave import MBusSlaveSimulator, PtySlave
from omdp.simulators.profiles import HouseholdProfile
from omdp.simulators.sml_meter import SmlMeter
from omdp.testing.services import Mosquitto

pytestmark = pytest.mark.integration

T0 = 1_717_243_200.0  # 2024-06-01T12:00:00Z: a frozen simulator clock, so values are known


def adapter_for(
    tmp_path: Path, broker: Mosquitto, meter: dict[str, Any], *, frozen: bool = True, **extra: Any
) -> Adapter:
    doc = {
        "MeterIndividualId": "meter-1",
        "Meter": meter,
        "Broker": {"host": "127.0.0.1", "port": broker.port},
        "Adapter": {"timezone": "Europe/Berlin", "outboxPath": "outbox.sqlite3"},
        **extra,
    }
    file = tmp_path / "adapter.yaml"
    file.write_text(yaml.safe_dump(doc))
    os.chmod(file, 0o600)
    adapter = Adapter(load_adapter_file(file), catalog=default_catalog(), base_dir=tmp_path)
    if frozen:
        adapter.factory.clock = lambda: datetime.fromtimestamp(T0, UTC)  # the meter's era
    return adapter


@contextlib.asynccontextmanager
async def running(adapter: Adapter) -> AsyncIterator[None]:
    task = asyncio.create_task(adapter.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def collect(
    broker: Mosquitto, count: int, *, client_id: str = "checker", timeout: float = 30
) -> list[tuple[str, MeterReading]]:
    """Subscribe with a persistent session; return (topic, reading) of ``count`` messages."""
    got: list[tuple[str, MeterReading]] = []
    async with MqttClient(MqttSettings(port=broker.port), client_id=client_id) as sub:
        await sub.subscribe("smartMeterMessage/#")
        async with asyncio.timeout(timeout):
            while len(got) < count:
                message = await sub.messages.get()
                got.append((message.topic, parse_reading(message.payload)))  # the validator
    return got


def values(reading: MeterReading) -> dict[str, tuple[float | None, str | None]]:
    return {v.property_id: (v.numerical_value, v.unit) for v in reading.property_values}


def run(coro: Callable[[], Any]) -> Any:
    return asyncio.run(coro())


def test_ad6_dsmr_over_tcp_publishes_valid_readings(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """AD-2, AD-6: a DSMR 5 meter over a TCP bridge -> valid readings with its values in kWh/kW."""
    meter = DsmrMeter(HouseholdProfile(seed=3, pv_peak_w=3000, origin=T0 - 86_400))
    expected = {str(v.obis): v for v in meter.values_at(T0)}

    async def main() -> list[tuple[str, MeterReading]]:
        async with MeterStreamServer(meter.telegram_at, interval=0.2, clock=lambda: T0) as sim:
            adapter = adapter_for(
                tmp_path,
                mosquitto,
                {"kind": "dsmr", "tcp": f"127.0.0.1:{sim.port}", "interval": 0.2,
                 "profile": "dsmr5"},
                StaticValues=[{"to": "HOUSEHOLD_size", "numericalValue": 3}],
            )  # fmt: skip
            async with running(adapter):
                return await collect(mosquitto, 2)

    [(topic, first), (_, second)] = run(main)
    assert topic == "smartMeterMessage/meter-1/readings"
    got = values(first)
    assert got["OBIS_1.8.1"] == (float(expected["1-0:1.8.1"].value), "kWh")
    assert got["OBIS_2.7.0"] == (float(expected["1-0:2.7.0"].value), "kW")
    assert got["OBIS_32.7.0"] == (float(expected["1-0:32.7.0"].value), "V")
    assert got["HOUSEHOLD_size"] == (3.0, None)  # AD-3
    assert first.reading_time.utcoffset() is not None
    assert first.reading_time.isoformat().endswith("+02:00")  # the meter's summer time
    assert first.meter_id == "meter-1"
    assert second.sequence_number == (first.sequence_number or 0) + 1
    assert second.meter_reading_identifier != first.meter_reading_identifier


def test_ad6_sml_over_a_pseudo_terminal(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """AD-1, AD-6: an SML eHZ meter read from a serial line (a pty) -> readings in kWh."""
    meter = SmlMeter(HouseholdProfile(seed=5, origin=T0 - 86_400))
    expected = {str(v.obis): v for v in meter.values_at(T0)}

    async def main() -> list[tuple[str, MeterReading]]:
        async with MeterStreamServer(meter.file_at, interval=0.2, clock=lambda: T0) as sim:
            adapter = adapter_for(
                tmp_path, mosquitto,
                {"kind": "sml", "serial": sim.open_pty(), "interval": 0.2, "profile": "sml-ehz"},
            )  # fmt: skip
            async with running(adapter):
                return await collect(mosquitto, 1)

    [(_, reading)] = run(main)
    got = values(reading)
    wh = float(expected["1-0:1.8.0"].value)
    assert got["OBIS_1.8.0"] == (pytest.approx(wh / 1000), "kWh")  # Wh converted (AD-2)
    assert got["OBIS_16.7.0"][1] == "kW"


@pytest.mark.parametrize("link", ["tcp", "pty"])
def test_ad6_mbus_meters_over_gateway_and_serial(
    tmp_path: Path, mosquitto: Mosquitto, link: str
) -> None:
    """AD-1, AD-2, AD-6: a 3-phase M-Bus meter (two telegrams) over TCP and over a serial line."""
    profile = HouseholdProfile(seed=1, origin=T0 - 86_400, tz=ZoneInfo("Europe/Berlin"))
    energy = profile.energy(T0)
    bus = MBusSlaveSimulator(mbus_meters(["electricity"], profile, clock=lambda: T0))

    async def main() -> list[tuple[str, MeterReading]]:
        meter: dict[str, Any] = {
            "kind": "mbus", "address": "1", "interval": 0.3, "timeout": 1,
            "profile": "mbus-electricity-3phase", "timezone": "Europe/Berlin",
        }  # fmt: skip
        if link == "tcp":
            async with bus.serve_tcp() as port:
                meter["tcp"] = f"127.0.0.1:{port}"
                async with running(adapter_for(tmp_path, mosquitto, meter)):
                    return await collect(mosquitto, 1)
        async with PtySlave(bus) as pty:
            meter["serial"] = pty.path
            async with running(adapter_for(tmp_path, mosquitto, meter)):
                return await collect(mosquitto, 1)

    [(_, reading)] = run(main)
    got = values(reading)
    assert got["OBIS_1.8.0"] == (round(energy.import_wh) / 1000, "kWh")
    assert got["OBIS_32.7.0"] == (230.0, "V")
    assert got["OBIS_72.7.0"] == (pytest.approx(231.4), "V")
    assert reading.reading_time.isoformat() == "2024-06-01T14:00:00+02:00"  # meter clock


def test_ad6_broker_outage_loses_nothing(tmp_path: Path, mosquitto: Mosquitto) -> None:
    """AD-6: readings taken while the broker is down are published later, in order, none lost."""
    meter = DsmrMeter(HouseholdProfile(seed=2, origin=time.time()))  # registers start now

    async def main() -> tuple[list[tuple[str, MeterReading]], int, int]:
        async with MeterStreamServer(meter.telegram_at, interval=0.05) as sim:
            adapter = adapter_for(
                tmp_path, mosquitto,
                {"kind": "dsmr", "tcp": f"127.0.0.1:{sim.port}", "interval": 0.05,
                 "profile": "dsmr5"},
                frozen=False,
            )  # fmt: skip
            # register the checker's persistent session first, so nothing is missed
            async with MqttClient(MqttSettings(port=mosquitto.port), client_id="checker") as c:
                await c.subscribe("smartMeterMessage/#")
                await asyncio.sleep(0.2)
            async with running(adapter):
                await asyncio.sleep(1.0)
                await asyncio.to_thread(mosquitto.stop)
                await asyncio.sleep(2.0)  # readings pile up in the outbox meanwhile
                await asyncio.to_thread(mosquitto.start)
                await asyncio.sleep(1.0)
                taken, missed = adapter.stats.readings, adapter.stats.missed
                async with asyncio.timeout(30):
                    while adapter.factory.sequence < taken or (
                        await asyncio.to_thread(_outbox_depth, tmp_path)
                    ):
                        await asyncio.sleep(0.1)
            return await collect(mosquitto, taken, timeout=30), taken, missed

    got, taken, missed = run(main)
    sequences = [r.sequence_number for _, r in got]
    ids = {r.meter_reading_identifier for _, r in got}
    duplicates = len(got) - len(ids)
    print(f"outage: taken {taken} (missed {missed}), received {len(got)}, duplicates {duplicates}")
    assert taken > 20
    # none lost: the first `taken` readings carry `taken` distinct numbers, each at most the
    # readings taken plus the numbers skipped for polls a loaded machine missed (AD-6, gaps)
    assert len(set(sequences)) == taken
    assert sequences[0] >= 1
    assert max(sequences) <= taken + missed
    assert sequences == sorted(sequences)  # in order
    assert duplicates == 0


def _outbox_depth(tmp_path: Path) -> int:
    import sqlite3

    with contextlib.closing(sqlite3.connect(tmp_path / "outbox.sqlite3")) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox").fetchone()[0])


def test_ad4_cli_once_reads_a_simulated_meter(tmp_path: Path) -> None:
    """AD-4: `omdp adapter run --config F --once` prints one valid MeterReading and exits 0."""
    import subprocess
    import sys

    sim = subprocess.Popen(
        [sys.executable, "-m", "omdp", "simulate", "dsmr", "--tcp-port", "0", "--interval", "0.2"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        port = sim.stdout.readline().split(":")[-1].strip()  # "listening tcp 127.0.0.1:PORT"
        config = tmp_path / "a.yaml"
        config.write_text(
            "MeterIndividualId: cli-meter\n"
            f"Meter: {{kind: dsmr, tcp: '127.0.0.1:{port}', interval: 0.2, profile: dsmr5}}\n"
        )
        out = subprocess.run(
            [sys.executable, "-m", "omdp", "adapter", "run", "--config", str(config), "--once"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        reading = parse_reading(out.stdout)
        assert reading.meter_id == "cli-meter"
        assert "OBIS_1.8.1" in values(reading)
        broken = "OperationalPropertyMapping: [{from: x, to: NOPE}]\n"
        config.write_text(config.read_text() + broken)
        bad = subprocess.run(
            [sys.executable, "-m", "omdp", "adapter", "check", "--config", str(config)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert bad.returncode == 1
        assert "unknown operational property 'NOPE'" in bad.stderr
    finally:
        sim.terminate()
        sim.wait(10)
        if sim.stdout is not None:
            sim.stdout.close()
