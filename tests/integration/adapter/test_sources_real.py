"""Meter sources against the simulators over real sockets and pseudo-terminals, and JSON meters
through a real Mosquitto broker (AD-1)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from decimal import Decimal

import orjson
import pytest
from tests.support.mosquitto import Mosquitto

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import Backoff, MeterSource, open_source
from omdp.domain.adapter_file import MeterConnection
from omdp.mqtt.client import MqttClient
from omdp.mqtt.settings import MqttSettings
from omdp.simulators.dsmr_meter import DsmrMeter, MeterStreamServer
from omdp.simulators.profiles import HouseholdProfile
from omdp.simulators.sml_meter import SmlMeter

pytestmark = pytest.mark.integration


class FakeClock:
    """Simulated time: every frame is ten minutes later."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 600
        return self.now


async def take(source: MeterSource, n: int, *, timeout: float = 10.0) -> list[MeterSample]:
    """The first ``n`` samples; the source is closed afterwards."""
    out: list[MeterSample] = []
    gen = source.samples()
    try:
        async with asyncio.timeout(timeout):
            async for sample in gen:
                out.append(sample)
                if len(out) == n:
                    break
    finally:
        await gen.aclose()  # type: ignore[attr-defined]
    return out


def plain(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return value


@pytest.mark.parametrize("link", ["tcp", "pty"])
def test_dsmr_source_reads_the_simulator(link: str) -> None:
    meter = DsmrMeter(profile=HouseholdProfile(seed=21, pv_peak_w=3000))

    async def run() -> list[MeterSample]:
        clock = FakeClock(meter.profile.origin)
        async with MeterStreamServer(meter.telegram_at, interval=0.05, clock=clock) as server:
            where = {"tcp": f"127.0.0.1:{server.port}"} if link == "tcp" else {}
            if link == "pty":
                where = {"serial": server.open_pty()}
            conn = MeterConnection.model_validate({"kind": "dsmr", "interval": 0.05, **where})
            return await take(open_source(conn), 3)

    samples = asyncio.run(run())
    assert len(samples) == 3
    for sample in samples:
        assert sample.meter_time is not None
        held = meter.values_at(sample.meter_time.timestamp())
        got = {v.fields["obis"]: v.value for v in sample.values}
        assert {str(i.obis): plain(i.value) for i in held} == {
            str(i.obis): plain(got[str(i.obis)]) for i in held
        }


@pytest.mark.parametrize("link", ["tcp", "pty"])
def test_sml_source_reads_the_simulator(link: str) -> None:
    meter = SmlMeter(profile=HouseholdProfile(seed=22))
    clock = FakeClock(meter.profile.origin)
    start = clock.now

    async def run() -> list[MeterSample]:
        async with MeterStreamServer(meter.file_at, interval=0.05, clock=clock) as server:
            where = {"tcp": f"127.0.0.1:{server.port}"} if link == "tcp" else {}
            if link == "pty":
                where = {"serial": server.open_pty()}
            conn = MeterConnection.model_validate({"kind": "sml", "interval": 0.05, **where})
            return await take(open_source(conn), 2)

    samples = asyncio.run(run())
    sent = [start + 600 * k for k in range(1, round((clock.now - start) / 600) + 1)]
    for sample in samples:
        got = {v.fields["obis"]: v.value for v in sample.values}
        assert any(
            all(got[str(i.obis)] == plain(i.value) for i in meter.values_at(t)) for t in sent
        )


def test_dsmr_bad_crc_garbage_and_silence_over_tcp(caplog: pytest.LogCaptureFixture) -> None:
    """AD-1: over a real socket, garbage and a bad CRC are dropped with the reason, silence is a
    timeout followed by a reconnect, and the good telegrams still come through."""
    meter = DsmrMeter(profile=HouseholdProfile(seed=23))
    t0 = meter.profile.origin + 7200
    good, bad = meter.telegram_at(t0), meter.telegram_at(t0 + 10)
    bad = bad.replace(b"1-0:1.8.2(00", b"1-0:1.8.2(09", 1)
    connections = 0

    async def client(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            if connections == 1:
                for chunk in (b"\x7f\x00garbage\r\n", bad, good):
                    writer.write(chunk)
                    await writer.drain()
                    await asyncio.sleep(0.01)
            else:
                writer.write(meter.telegram_at(t0 + 20))
            await asyncio.sleep(30)  # then silence
        finally:
            writer.close()

    async def run() -> MeterSource:
        server = await asyncio.start_server(client, "127.0.0.1", 0)
        async with server:
            port = server.sockets[0].getsockname()[1]
            conn = MeterConnection(kind="dsmr", tcp=f"127.0.0.1:{port}", interval=0.1)
            source = open_source(conn, name="p1", backoff=Backoff(initial=0.01, cap=0.05))
            samples = await take(source, 2)
            server.close()
        assert [s.meter_time.timestamp() for s in samples if s.meter_time] == [t0, t0 + 20]
        return source

    with caplog.at_level(logging.WARNING):
        source = asyncio.run(run())
    stats = source.stats
    assert (stats.ok, stats.decode_errors, stats.timeouts, stats.reconnects) == (2, 2, 1, 1)
    reasons = [r.getMessage() for r in caplog.records if getattr(r, "meter_source", "") == "p1"]
    assert any("CRC mismatch: telegram says" in r for r in reasons), reasons
    assert any("noise outside a telegram" in r for r in reasons), reasons
    assert any("no valid frame" in r for r in reasons), reasons


def test_json_source_reads_a_real_broker(
    mosquitto: Mosquitto, caplog: pytest.LogCaptureFixture
) -> None:
    """AD-1: JSON published to Mosquitto arrives as documents; malformed JSON is logged, skipped."""
    settings = MqttSettings(host="127.0.0.1", port=mosquitto.port)
    docs = [{"power": {"import": 1.25}, "time": "2024-06-01T12:00:00+02:00"}, {"power": 2}]

    async def run() -> tuple[list[MeterSample], MeterSource]:
        conn = MeterConnection.model_validate(
            {"kind": "json-mqtt", "topic": "house/+/meter", "brokerHost": "127.0.0.1",
             "brokerPort": mosquitto.port, "timePath": "$.time", "interval": 5}
        )  # fmt: skip
        source = open_source(conn, name="json")
        reader = asyncio.ensure_future(take(source, 2))
        async with MqttClient(settings, client_id="device-1", clean_start=True) as device:
            for _ in range(50):  # until the source has subscribed
                await device.publish("house/1/meter", b"{not json", qos=1)
                await asyncio.sleep(0.05)
                if source.stats.decode_errors:
                    break
            for doc in docs:
                await device.publish("house/1/meter", orjson.dumps(doc), qos=1)
            samples = await asyncio.wait_for(reader, 10)
        return samples, source

    with caplog.at_level(logging.WARNING):
        samples, source = asyncio.run(run())
    assert [s.document for s in samples] == docs
    assert samples[0].meter_time is not None
    assert samples[0].meter_time.isoformat() == "2024-06-01T12:00:00+02:00"
    assert samples[1].meter_time is None
    assert source.stats.decode_errors >= 1
    assert any("malformed JSON on house/1/meter" in r.getMessage() for r in caplog.records)


def test_json_source_survives_a_broker_restart(mosquitto: Mosquitto) -> None:
    """AD-1: the source keeps reading after the broker went away and came back."""
    settings = MqttSettings(host="127.0.0.1", port=mosquitto.port)

    async def run() -> list[MeterSample]:
        conn = MeterConnection.model_validate(
            {"kind": "json-mqtt", "topic": "dev/m", "brokerHost": "127.0.0.1",
             "brokerPort": mosquitto.port, "interval": 1, "timeout": 2}
        )  # fmt: skip
        source = open_source(conn, backoff=Backoff(initial=0.1, cap=0.5))
        reader = asyncio.ensure_future(take(source, 1, timeout=20))
        await asyncio.sleep(0.5)
        await asyncio.to_thread(mosquitto.restart)
        async with MqttClient(settings, client_id="device-2", clean_start=True) as device:
            while not reader.done():
                await device.publish("dev/m", b'{"n": 1}', qos=1)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(asyncio.shield(reader), 0.2)
        return reader.result()

    assert asyncio.run(run())[0].document == {"n": 1}
