"""The buffered paho read and the bulk PUBACKs against a real Mosquitto (CM-2).

The buffer serves many packets per ``recv``: packets split across reads, payloads larger than
the buffer, tiny ones between them, must all arrive byte for byte and in order. PUBACKs sent in
bulk must count as acknowledgements: a persistent session redelivers nothing acked in bulk
and everything not acked.
"""

from __future__ import annotations

import asyncio
import random

import paho.mqtt.client as paho
import pytest
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from tests.support.mosquitto import Mosquitto

from omdp.mqtt import Message, MqttClient
from omdp.mqtt.fast_paho import READ_CHUNK, internals_present
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration


def test_the_paho_internals_fast_paho_builds_on_are_there() -> None:
    """A paho upgrade that moves them must fail here, not slow or break the chain silently."""
    assert internals_present()


async def _take(client: MqttClient, count: int, timeout: float = 30) -> list[Message]:
    got: list[Message] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            got.append(await client.messages.get())
    return got


def test_buffered_reads_deliver_every_size_byte_for_byte_in_order(mosquitto: Mosquitto) -> None:
    """CM-2: 1,500 payloads from 0 bytes to 3x the read buffer arrive identical and in order."""
    settings = MqttSettings(port=mosquitto.port)
    rng = random.Random(7)
    sizes = [rng.choice([0, 1, 2, 127, 128, 3_000, 16_383, 16_384, 70_000]) for _ in range(1_500)]
    sizes[10] = 3 * READ_CHUNK + 5
    payloads = [bytes([i % 251]) * size for i, size in enumerate(sizes)]

    async def main() -> list[Message]:
        async with (
            MqttClient(settings, client_id="fast-sub", manual_ack=True) as sub,
            MqttClient(settings, client_id="fast-pub") as pub,
        ):
            await sub.subscribe("smartMeterMessage/#")
            await asyncio.sleep(0.2)
            await asyncio.gather(
                *(pub.publish("smartMeterMessage/m1/readings", p) for p in payloads)
            )
            got = await _take(sub, len(payloads))
            sub.ack_many(got)
            return got

    got = asyncio.run(main())
    assert [m.payload for m in got] == payloads


def test_bulk_acks_count_and_unacked_messages_come_back(mosquitto: Mosquitto) -> None:
    """CM-2: acked in bulk = never redelivered; not acked = redelivered to the same session."""
    settings = MqttSettings(port=mosquitto.port)

    async def first_session() -> None:
        async with (
            MqttClient(settings, client_id="bulk-sub", manual_ack=True) as sub,
            MqttClient(settings, client_id="bulk-pub") as pub,
        ):
            await sub.subscribe("concentrator/#")
            await asyncio.sleep(0.2)
            for i in range(300):
                await pub.publish("concentrator/e/smartMeterMessage/m/readings", b"%d" % i)
            got = await _take(sub, 300)
            sub.ack_many(m for m in got if int(m.payload) < 200)  # the last 100 stay unacked
            await asyncio.sleep(0.3)

    async def second_session() -> list[int]:
        async with MqttClient(settings, client_id="bulk-sub", manual_ack=True) as sub:
            await sub.subscribe("concentrator/#")
            got = await _take(sub, 100)
            sub.ack_many(got)
            await asyncio.sleep(0.5)
            assert sub.messages.empty(), "a message acked in bulk came back"
            return sorted(int(m.payload) for m in got)

    asyncio.run(first_session())
    assert asyncio.run(second_session()) == list(range(200, 300))


def test_publishes_with_and_without_properties_arrive_whole(mosquitto: Mosquitto) -> None:
    """CM-2: MQTT 5 PUBLISHes without properties (taken without paho's property parsing) and
    with them (a user property: paho's own path), QoS 0 and 1, retained or not, all arrive with
    their topic, payload, QoS and retain flag."""
    settings = MqttSettings(port=mosquitto.port)
    sent = [
        ("t/ä/plain1", b"one", 1, False, False),
        ("t/plain0", b"", 0, False, False),
        ("t/props1", b"three", 1, False, True),
        ("t/props0", b"four", 0, False, True),
        ("t/retained", b"five", 1, True, False),
    ]

    async def main() -> list[Message]:
        async with MqttClient(settings, client_id="props-sub", manual_ack=True) as sub:
            await sub.subscribe("t/#")
            await asyncio.sleep(0.2)
            pub = paho.Client(paho.CallbackAPIVersion.VERSION2, "props-pub", protocol=paho.MQTTv5)
            pub.connect("127.0.0.1", mosquitto.port)
            pub.loop_start()
            for topic, payload, qos, retain, with_props in sent:
                props = None
                if with_props:
                    props = Properties(PacketTypes.PUBLISH)
                    props.UserProperty = ("k", "v")
                pub.publish(topic, payload, qos, retain, props).wait_for_publish(10)
            got = await _take(sub, len(sent))
            pub.loop_stop()
            pub.disconnect()
            sub.ack_many(m for m in got if m.qos)
            return got

    got = asyncio.run(main())
    assert [(m.topic, m.payload, m.qos, m.retain) for m in got] == [
        (t, p, q, False) for t, p, q, _, _ in sent
    ]  # a retained message is delivered to a live subscription with retain unset
