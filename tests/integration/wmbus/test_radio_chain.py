"""Radio meters through the whole chain: simulated dongle on a pty -> wM-Bus adapter -> broker ->
edge -> broker -> cloud ingest -> store (AD-1, AD-2, AD-6, CO-1, CL-1).

Three simulated radio meters send encrypted OMS telegrams (water and gas with security mode 5,
heat with mode 7) through an iM871A-speaking pseudo-terminal; every third transmission is
repeated. The adapter's file names two of them, with their keys: each is published as its own
MeterIndividual with its own mapping, the gas meter is ignored, duplicates are dropped, and the
decrypted volume and energy arrive in the cloud's store unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.edge.support import running_edge
from tests.support.mosquitto import Mosquitto

from omdp.adapter.config import load_adapter_file
from omdp.adapter.radio import RadioAdapter
from omdp.catalog import default_catalog
from omdp.cloud.ingest import IngestService
from omdp.cloud.model import ReadingFilter, StoredReading
from omdp.cloud.settings import CloudSettings, DatabaseSettings, IngestSettings
from omdp.cloud.storage import open_store
from omdp.edge.settings import EdgeSettings
from omdp.mqtt.settings import MqttSettings
from omdp.simulators.wmbus_dongle import DongleServer, SimulatedDongle
from omdp.simulators.wmbus_meters import SimulatedRadio, heat_kwh, radio_meters, water_litres

pytestmark = pytest.mark.integration

INTERVAL = 0.3


def radio_file(
    folder: Path, serial: str, meters: list[Any], port: int, dongle: str = "im871a"
) -> Path:
    doc = {
        "MeterIndividualId": "radio-receiver-1",
        "Meter": {
            "kind": "wmbus",
            "dongle": dongle,
            "linkMode": "T1",
            "serial": serial,
            "timezone": "Europe/Berlin",
            "radioMeters": [
                {
                    "id": m.identity.id,
                    "meterIndividualId": f"radio-{m.kind}",
                    "key": m.key.hex(),
                    "profile": "mbus-water" if m.kind == "water" else "mbus-heat",
                    "householdId": "household-7",
                }
                for m in meters
            ],
        },
        "Broker": {"host": "127.0.0.1", "port": port},
        "Adapter": {"timezone": "Europe/Berlin", "outboxPath": "radio-outbox.sqlite3"},
    }
    path = folder / "radio.yaml"
    path.write_text(yaml.safe_dump(doc))
    os.chmod(path, 0o600)
    return path


@pytest.mark.parametrize("dongle", ["im871a", "amb8465"])
def test_radio_water_and_heat_meters_reach_the_cloud(
    tmp_path: Path, mosquitto: Mosquitto, dongle: str
) -> None:
    """AD-1, AD-2, AD-6, CO-1, CL-1: encrypted radio telegrams (modes 5 and 7) via a dongle pty,
    one adapter for many meters, edge and cloud: each meter stored as its own meter with its
    decrypted, unit-converted values; the unconfigured meter and repeated telegrams dropped.
    The dongle (iM871A or AMB8465 protocol) starts in another link mode: the adapter sets the
    file's ``linkMode`` on connect, or nothing would be heard.
    """
    origin = time.time() - 3600
    specs = radio_meters(["water", "heat", "gas"], origin=origin)
    radio = SimulatedRadio(specs, dongle=dongle)
    device = SimulatedDongle(dongle, meters_mode="T1", mode="S1")
    store = open_store(f"sqlite:///{tmp_path / 'cloud.sqlite3'}")
    cloud = CloudSettings(
        mqtt=MqttSettings(port=mosquitto.port),
        db=DatabaseSettings(url=f"sqlite:///{tmp_path / 'cloud.sqlite3'}"),
        ingest=IngestSettings(client_id="ingest-wmbus", flush_interval_s=0.1),
    )
    edge = EdgeSettings(
        concentrator_id="e1",
        local=MqttSettings(port=mosquitto.port),
        cloud=MqttSettings(port=mosquitto.port),
        outbox_path=tmp_path / "edge-outbox.sqlite3",
        http_port=0,
    )

    async def main() -> tuple[dict[str, list[StoredReading]], RadioAdapter]:
        ingest = IngestService(store, cloud)
        stop_cloud = asyncio.Event()
        ingesting = asyncio.create_task(ingest.run(stop_cloud))
        async with (
            DongleServer(device, radio.telegrams_at, interval=INTERVAL) as sim,
            running_edge(edge),
        ):
            await asyncio.wait_for(ingest.ready.wait(), 15)
            path = radio_file(tmp_path, sim.open_pty(), specs[:2], mosquitto.port, dongle)
            config = load_adapter_file(path)
            adapter = RadioAdapter(config, catalog=default_catalog(), base_dir=tmp_path)
            running = asyncio.create_task(adapter.run())
            try:
                by_meter: dict[str, list[StoredReading]] = {}
                async with asyncio.timeout(40):
                    while len(by_meter) < 2 or min(len(v) for v in by_meter.values()) < 3:
                        await asyncio.sleep(0.3)
                        found = await asyncio.to_thread(
                            lambda: list(store.query_readings(ReadingFilter()))
                        )
                        by_meter = {}
                        for r in found:
                            by_meter.setdefault(r.meter_id, []).append(r)
            finally:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
                stop_cloud.set()
                await asyncio.wait_for(ingesting, 15)
        return by_meter, adapter

    try:
        by_meter, adapter = asyncio.run(main())
    finally:
        store.close()
    assert set(by_meter) == {"radio-water", "radio-heat"}  # the gas meter is not ours
    now = time.time()
    water = by_meter["radio-water"][-1]
    got = {v.property_id: v for v in water.values}
    litres = got["WATER_volume_of_water"].numerical_value
    assert got["WATER_volume_of_water"].unit == "m3"
    assert water_litres(origin, now - 30) / 1000 <= litres <= water_litres(origin, now) / 1000
    heat = {v.property_id: v for v in by_meter["radio-heat"][-1].values}
    energy = heat["HEAT_energy"].numerical_value
    assert heat_kwh(origin, now - 30) <= energy <= heat_kwh(origin, now)
    assert heat["HEAT_flow_temperature"].numerical_value == pytest.approx(55.2)
    assert heat["HEAT_return_temperature"].numerical_value == pytest.approx(37.1)
    receiver = adapter.receiver
    assert receiver.foreign > 0  # the gas meter was heard and ignored
    assert receiver.source(specs[0].identity.id).radio.duplicates > 0
    assert receiver.source(specs[1].identity.id).stats.decode_errors == 0
    assert all(r.concentrator_id == "e1" for rs in by_meter.values() for r in rs)
    assert device.mode == "T1"  # set by the adapter
    assert device.commands[0] in ("set-config T1", "set-mode T1")
