"""Adapter and edge on one device (the merged variant): adapters inside the edge's process hand
their readings over without a broker hop (AD-6, CO-1, CO-2, CO-3).

Simulated meters (a DSMR 5 meter behind a TCP bridge, a 3-phase M-Bus meter behind a TCP
gateway), two adapter files without a Broker section, an edge with ``local: null``: no local
broker exists. Readings arrive on a real cloud Mosquitto, or, with both variants merged, in the
edge's own store.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from tests.integration.edge.support import Collector, running_edge
from tests.support.mosquitto import Mosquitto

from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.cloud.api.settings import ApiSettings
from omdp.cloud.settings import DatabaseSettings
from omdp.domain.validation import parse_reading
from omdp.edge.settings import EdgeSettings
from omdp.mqtt import Message
from omdp.mqtt.settings import MqttSettings
from omdp.simulators.dsmr_meter import DsmrMeter, MeterStreamServer
from omdp.simulators.mbus_meters import mbus_meters
from omdp.simulators.mbus_slave import MBusSlaveSimulator
from omdp.simulators.profiles import HouseholdProfile
from omdp.topics import parse_concentrator_topic

pytestmark = pytest.mark.integration

INTERVAL = 0.1


def adapter_file(folder: Path, meter_id: str, meter: dict[str, Any]) -> Path:
    """An adapter file as ``omdp adapter run --config`` takes it, with no Broker section."""
    folder.mkdir(parents=True, exist_ok=True)
    doc = {
        "MeterIndividualId": meter_id,
        "Meter": meter,
        "Adapter": {"timezone": "Europe/Berlin", "outboxPath": f"{meter_id}-outbox.sqlite3"},
    }
    path = folder / f"{meter_id}.yaml"
    path.write_text(yaml.safe_dump(doc))
    os.chmod(path, 0o600)
    return path


@contextlib.asynccontextmanager
async def two_meters(folder: Path) -> AsyncIterator[list[Path]]:
    """A DSMR meter and an M-Bus meter, simulated on TCP; yield their adapters' files."""
    now = time.time()
    dsmr = DsmrMeter(HouseholdProfile(seed=4, origin=now))
    bus = MBusSlaveSimulator(mbus_meters(["electricity"], HouseholdProfile(seed=1, origin=now)))
    async with (
        MeterStreamServer(dsmr.telegram_at, interval=INTERVAL) as p1,
        bus.serve_tcp() as gateway,
    ):
        yield [
            adapter_file(folder, "h-dsmr", {
                "kind": "dsmr", "tcp": f"127.0.0.1:{p1.port}", "interval": INTERVAL,
                "profile": "dsmr5",
            }),
            adapter_file(folder, "h-mbus", {
                "kind": "mbus", "tcp": f"127.0.0.1:{gateway}", "address": "1",
                "interval": INTERVAL, "timeout": 1, "profile": "mbus-electricity-3phase",
                "timezone": "Europe/Berlin",
            }),
        ]  # fmt: skip


def per_meter(messages: list[Message]) -> dict[str, list[int]]:
    """Sequence numbers of the readings received, by the meter of their topic."""
    got: dict[str, list[int]] = defaultdict(list)
    for message in messages:
        parsed = parse_concentrator_topic(message.topic)
        reading = parse_reading(message.payload, source=message.topic)  # valid, unchanged
        assert parsed.concentrator_id == "e1"
        assert parsed.specific_topic == "readings"
        assert reading.meter_id == parsed.smart_meter_id
        got[parsed.smart_meter_id].append(reading.sequence_number or 0)
    return got


def test_adapters_inside_the_edge_reach_the_cloud_without_a_local_broker(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """AD-6, CO-1, CO-2, CO-3: an edge with local: null runs two adapter files (DSMR and M-Bus
    meters) in its own process; their readings arrive on the cloud broker under
    concentrator/e1/smartMeterMessage/{meter}/readings, valid and complete (no sequence number
    missing); no local broker exists and the edge has no local subscriber."""

    async def main() -> tuple[list[Message], dict[str, Any], bool]:
        async with two_meters(tmp_path / "adapters") as files:
            settings = EdgeSettings(
                concentrator_id="e1",
                local=None,
                cloud=MqttSettings(port=mosquitto.port),
                outbox_path=tmp_path / "edge-outbox.sqlite3",
                http_port=0,
                adapters=files,
            )
            async with (
                Collector(mosquitto) as collector,
                running_edge(settings) as (service, port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http,
            ):

                def enough(got: list[Message]) -> bool:
                    seen = per_meter(got)
                    return all(len(seen[m]) >= 5 for m in ("h-dsmr", "h-mbus"))

                await collector.wait_for(enough, timeout=15)
                status = (await http.get("/v1/status")).json()
                no_subscriber = service.local is None
            await asyncio.sleep(0.3)  # what the adapters handed over on stopping, forwarded
            return list(collector.messages), status, no_subscriber

    messages, status, no_subscriber = asyncio.run(main())
    got = per_meter(messages)
    assert set(got) == {"h-dsmr", "h-mbus"}
    for meter, sequences in got.items():
        unique = sorted(set(sequences))
        assert unique == list(range(1, unique[-1] + 1)), f"{meter}: a reading went missing"
    assert no_subscriber
    assert status["local"] == {"connected": False, "reconnects": 0}
    assert status["cloud"]["connected"]
    assert status["messages"]["rejectedTopics"] == 0


def test_both_merged_adapter_edge_and_store_on_one_device(tmp_path: Path) -> None:
    """AD-6, CO-1, CO-2, CL-1, CL-3: adapters inside a no-cloud edge (both variants merged): no
    broker at all, the meters' readings are answered by the edge's POST /v1/meterReadings."""
    token = "home-token-merged-7c1"  # noqa: S105 - a test token
    grant = ApiTokenGrant(subject="household", scopes=["operate"])

    async def main() -> dict[str, int]:
        async with two_meters(tmp_path / "adapters") as files:
            settings = EdgeSettings(
                concentrator_id="home",
                local=None,
                store=DatabaseSettings(url=f"sqlite:///{tmp_path / 'home.sqlite3'}"),
                api=ApiSettings(
                    tokens={hash_token(token): grant},
                    credentials_file=tmp_path / "api" / "devices.json",
                ),
                outbox_path=tmp_path / "edge-outbox.sqlite3",
                http_port=0,
                adapters=files,
            )
            async with (
                running_edge(settings) as (_service, port),
                httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=5) as http,
            ):
                counts: dict[str, int] = {}
                async with asyncio.timeout(15):
                    while len(counts) < 2 or min(counts.values()) < 3:
                        response = await http.post(
                            "/v1/meterReadings",
                            json={"pageSize": 1000},
                            headers={"Authorization": f"Bearer {token}"},
                        )
                        response.raise_for_status()
                        counts = {}
                        for reading in response.json()["content"]:
                            counts[reading["meterId"]] = counts.get(reading["meterId"], 0) + 1
                        await asyncio.sleep(0.1)
                return counts

    counts = asyncio.run(main())
    assert set(counts) == {"h-dsmr", "h-mbus"}
