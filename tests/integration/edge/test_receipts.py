"""End-to-end receipts against a real Mosquitto (CO-2, CL-1): a PUBACK is not a delivery.

The edge's :class:`~omdp.delivery.cloud_sink.CloudSink` resolves an entry only on the cloud's
receipt; a publish the broker drops (MQTT 5 PUBACK 0x10 "No matching subscribers") fails at
once, and one never receipted fails after the timeout, so the forwarder sends both again.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from tests.integration.edge.support import Collector, edge_settings, publish_all, running_edge
from tests.support.mosquitto import Mosquitto

from omdp.delivery.cloud_sink import CloudSink, ReceiptTimeout
from omdp.delivery.outbox import Entry
from omdp.edge.samples import sample_reading
from omdp.errors import BrokerError
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration


def _entry(n: int, payload: bytes | None = None) -> Entry:
    body = payload if payload is not None else sample_reading("m1", n)
    return Entry(n, "smartMeterMessage/m1/readings", body, time.time())


def test_no_matching_subscribers_is_not_a_delivery(mosquitto: Mosquitto) -> None:
    """CO-2: with nobody subscribed (a restarted Mosquitto forgets MQTT 5 shared
    subscriptions), the broker answers PUBACK 0x10 and drops the message: the publish fails
    instead of counting as delivered, for the plain client with require_subscribers and for
    the cloud sink; without require_subscribers the old meaning (taken) stays."""

    async def main() -> tuple[BaseException | None, int]:
        settings = MqttSettings(port=mosquitto.port, protocol="5")
        async with (
            MqttClient(settings, client_id="strict", require_subscribers=True) as strict,
            MqttClient(settings, client_id="lax") as lax,
        ):
            with pytest.raises(BrokerError, match="No matching subscribers"):
                await strict.publish("concentrator/e1/smartMeterMessage/m1/readings", b"{}")
            await lax.publish("concentrator/e1/smartMeterMessage/m1/readings", b"{}")
            async with CloudSink(strict, "e1", window=10, timeout=30) as sink:
                future = await sink.send(_entry(1))
                await asyncio.wait([future], timeout=10)
                refused = future.exception()
            return refused, strict.refused

    refused, count = asyncio.run(main())
    assert isinstance(refused, BrokerError)
    assert "0x10" in str(refused)
    assert count == 2


def test_receipt_settles_and_silence_times_out(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """CO-2, CL-1: a subscriber that receipts what it got (as the ingest does) settles each
    entry; the same entries are still pending after the PUBACK alone, and without a receipt
    they fail with ReceiptTimeout once the timeout passes (the forwarder resends them)."""

    async def main() -> tuple[int, dict[str, object], BaseException | None, int]:
        settings = MqttSettings(port=mosquitto.port)
        async with (
            Collector(mosquitto, client_id="ingest-like") as _collector,
            MqttClient(settings, client_id="edge-e1", require_subscribers=True) as client,
            CloudSink(client, "e1", window=100, timeout=2) as sink,
        ):
            await asyncio.sleep(0.3)  # the sink's receipt subscription is in place
            futures = [await sink.send(_entry(n)) for n in range(50)]
            # a twin: the very same message twice settles with one receipt each
            futures.append(await sink.send(_entry(0)))
            await asyncio.wait_for(asyncio.gather(*futures), 10)
            settled = sum(f.done() and f.exception() is None for f in futures)
            status = sink.status()
        async with (
            Collector(mosquitto, client_id="silent", receipts=False) as _silent,
            MqttClient(settings, client_id="edge-e2", require_subscribers=True) as client,
            CloudSink(client, "e2", window=100, timeout=1) as sink,
        ):
            await asyncio.sleep(0.3)
            future = await sink.send(_entry(7))
            await asyncio.sleep(0.5)
            pending_after_puback = sink.pending
            await asyncio.wait([future], timeout=5)
            return settled, status, future.exception(), pending_after_puback

    settled, status, error, pending_after_puback = asyncio.run(main())
    assert settled == 51
    assert status["pending"] == 0
    assert status["receipted"] == 51
    assert pending_after_puback == 1, "a PUBACK alone must not settle an entry"
    assert isinstance(error, ReceiptTimeout)


def test_edge_keeps_unreceipted_messages_and_stops_promptly(
    mosquitto_factory: type[Mosquitto], tmp_path: Path
) -> None:
    """CO-2: a cloud subscriber that takes every message but sends no receipt (an ingest whose
    store never commits) leaves them all in the edge's outbox although the cloud broker
    acknowledged each; the edge still stops within seconds, and its next run sends them again
    to a receipting subscriber, which empties the outbox."""
    local = mosquitto_factory("local").start()
    cloud = mosquitto_factory("cloud").start()
    sent = [
        (f"smartMeterMessage/m{i % 3}/readings", sample_reading(f"m{i % 3}", i)) for i in range(50)
    ]

    async def main() -> tuple[int, float, int, int]:
        settings = edge_settings(local, cloud, tmp_path)
        async with Collector(cloud, client_id="silent", receipts=False) as silent:
            async with (
                running_edge(settings) as (service, _port),
                MqttClient(MqttSettings(port=local.port), client_id="adapter") as pub,
            ):
                await publish_all(pub, sent)
                await silent.wait_for(lambda got: len(got) >= len(sent), timeout=20)
                await asyncio.sleep(0.5)
                held = service.outbox.depth()
                stopping = time.monotonic()
            stop_s = time.monotonic() - stopping
        async with (
            Collector(cloud, client_id="ingest-like") as collector,
            running_edge(settings) as (service, _port),
        ):
            async with asyncio.timeout(30):
                while service.outbox.depth():
                    await asyncio.sleep(0.05)
            return held, stop_s, service.outbox.depth(), len(collector.messages)

    held, stop_s, depth, resent = asyncio.run(main())
    assert held == len(sent), "acknowledged by the broker, not receipted: kept"
    assert stop_s < 10
    assert depth == 0
    assert resent >= len(sent)
