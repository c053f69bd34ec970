"""No reading lost across cloud outages and SIGKILLs of the edge (CO-1, CO-2, CO-3)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from pathlib import Path

import orjson
import pytest
from tests.integration.edge.support import RECEIPT_BATCH, Collector, EdgeProcess, publish_all
from tests.support.mosquitto import Mosquitto

from omdp.edge.samples import sample_reading
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration

COUNT = 10_000
METERS = 20
RATE = 900.0  # readings per second offered by the adapters: the chaos below spans the flow
WINDOW = 500  # forward_window of the edge: at most this many publishes in flight


def test_no_loss_through_outages_and_sigkill(
    mosquitto_factory: type[Mosquitto], tmp_path: Path
) -> None:
    """CO-1, CO-2, CO-3: 10,000 readings while the cloud broker stops and starts twice and the
    edge (a subprocess) is killed with SIGKILL twice: all arrive byte-identical on their
    concentrator topic, in order per meter; duplicates come only from messages in flight.
    """
    local = mosquitto_factory("local").start()
    cloud = mosquitto_factory("cloud").start()
    edge = EdgeProcess.forwarding(tmp_path, local, cloud, forward_window=WINDOW, outbox_batch=500)
    sent = [
        (f"smartMeterMessage/m{i % METERS}/readings", sample_reading(f"m{i % METERS}", i))
        for i in range(COUNT)
    ]
    expected = {payload: topic for topic, payload in sent}
    events: list[str] = []
    interruptions = 0

    async def chaos(started: float) -> None:
        nonlocal interruptions

        async def at(second: float, what: str, action: object) -> None:
            await asyncio.sleep(max(0.0, started + second - time.monotonic()))
            await asyncio.to_thread(action)  # type: ignore[arg-type]
            events.append(f"{time.monotonic() - started:5.1f} s {what}")

        await at(1.5, "cloud broker started", cloud.start)
        await at(3.5, "cloud broker stopped", cloud.stop)
        interruptions += 1
        await at(4.5, "edge killed (SIGKILL)", edge.kill)
        interruptions += 1
        await at(5.5, "edge restarted", edge.start)
        await at(6.5, "cloud broker started", cloud.start)
        await at(8.0, "edge killed (SIGKILL)", edge.kill)
        interruptions += 1
        await at(8.5, "edge restarted", edge.start)

    async def main() -> Collector:
        async with Collector(cloud) as collector:
            await asyncio.to_thread(cloud.stop)
            await asyncio.to_thread(edge.start)
            async with MqttClient(MqttSettings(port=local.port), client_id="adapters") as pub:
                started = time.monotonic()
                await asyncio.gather(publish_all(pub, sent, rate=RATE), chaos(started))
            unique = lambda got: len({m.payload for m in got}) >= COUNT  # noqa: E731
            await collector.wait_for(unique, timeout=60)
            await asyncio.sleep(1.0)  # late duplicates, if any, are counted too
        return collector

    try:
        collector = asyncio.run(main())
    finally:
        edge.stop()
    got = collector.messages
    counts = Counter(m.payload for m in got)
    duplicates = sum(n - 1 for n in counts.values())
    print(f"\nsent {COUNT}, received {len(got)}, unique {len(counts)}, duplicates {duplicates}")
    print("\n".join(events))
    assert set(counts) == set(expected), "every reading arrives, byte for byte, and nothing else"
    for message in got:
        assert message.topic == f"concentrator/e1/{expected[message.payload]}"
    first_seen: dict[str, list[int]] = defaultdict(list)
    seen: set[bytes] = set()
    for message in got:
        if message.payload not in seen:
            seen.add(message.payload)
            reading = orjson.loads(message.payload)
            first_seen[reading["meterIndividual"]["meterIndividualId"]].append(
                reading["sequenceNumber"]
            )
    for meter, sequence in first_seen.items():
        assert sequence == sorted(sequence), f"order kept for meter {meter}"
    # sent again after each interruption: the window in flight, one outbox batch not yet
    # deleted, and one receipt batch the collector had not published yet
    assert duplicates <= interruptions * (WINDOW + 500 + RECEIPT_BATCH)
