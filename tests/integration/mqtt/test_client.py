"""The asyncio MQTT client against a real Mosquitto: acks, persistent sessions, manual acks."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port

from omdp.errors import BrokerError
from omdp.mqtt import Message, MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration


async def _collect(client: MqttClient, count: int, timeout: float = 20) -> list[Message]:
    got: list[Message] = []
    async with asyncio.timeout(timeout):
        while len(got) < count:
            message = await client.messages.get()
            client.ack(message)
            got.append(message)
    return got


def test_qos1_publish_waits_for_ack_and_all_arrive(mosquitto: Mosquitto) -> None:
    """CM-2: 2,000 QoS 1 messages, pipelined, each acknowledged, all delivered in order."""
    settings = MqttSettings(port=mosquitto.port)

    async def main() -> list[Message]:
        async with (
            MqttClient(settings, client_id="sub", manual_ack=True) as sub,
            MqttClient(settings, client_id="pub") as pub,
        ):
            await sub.subscribe("smartMeterMessage/#")
            await asyncio.sleep(0.2)
            await asyncio.gather(
                *(
                    pub.publish(f"smartMeterMessage/m{i % 7}/readings", b"%d" % i)
                    for i in range(2000)
                )
            )
            return await _collect(sub, 2000)

    got = asyncio.run(main())
    assert sorted(int(m.payload) for m in got) == list(range(2000))
    per_meter = [int(m.payload) for m in got if m.topic == "smartMeterMessage/m3/readings"]
    assert per_meter == sorted(per_meter)


def test_persistent_session_gets_what_was_published_while_away(mosquitto: Mosquitto) -> None:
    """A subscriber with a persistent session receives messages published while it was gone."""
    settings = MqttSettings(port=mosquitto.port)

    async def main() -> list[Message]:
        async with MqttClient(settings, client_id="durable", manual_ack=True) as sub:
            await sub.subscribe("concentrator/#")
            await asyncio.sleep(0.2)
        async with MqttClient(settings, client_id="pub") as pub:
            for i in range(50):
                await pub.publish("concentrator/e/smartMeterMessage/m/readings", b"%d" % i)
        async with MqttClient(settings, client_id="durable", manual_ack=True) as sub:
            await sub.subscribe("concentrator/#")
            return await _collect(sub, 50)

    assert [int(m.payload) for m in asyncio.run(main())] == list(range(50))


def test_unacked_messages_are_redelivered(mosquitto: Mosquitto) -> None:
    """With manual acks, a message received but not acked comes again after a reconnect."""
    settings = MqttSettings(port=mosquitto.port)

    async def main() -> tuple[bytes, Message]:
        async with MqttClient(settings, client_id="worker", manual_ack=True) as sub:
            await sub.subscribe("t/#")
            await asyncio.sleep(0.2)
            async with MqttClient(settings, client_id="pub") as pub:
                await pub.publish("t/x", b"payload")
            first = await asyncio.wait_for(sub.messages.get(), 10)  # not acked
        async with MqttClient(settings, client_id="worker", manual_ack=True) as sub:
            await sub.subscribe("t/#")
            again = await asyncio.wait_for(sub.messages.get(), 10)
            sub.ack(again)
        return first.payload, again

    first, again = asyncio.run(main())
    assert again.payload == first


def test_publish_survives_a_broker_restart(mosquitto: Mosquitto) -> None:
    """A publish issued while the broker is down completes once it is back."""
    settings = MqttSettings(port=mosquitto.port)

    async def main() -> None:
        async with MqttClient(settings, client_id="pub") as pub:
            mosquitto.stop()
            await asyncio.sleep(0.3)
            pending = asyncio.ensure_future(pub.publish("t/x", b"1"))
            await asyncio.sleep(0.5)
            assert not pending.done()
            await asyncio.to_thread(mosquitto.start)
            await asyncio.wait_for(pending, 20)
            assert pub.reconnects >= 1

    asyncio.run(main())


def test_unreachable_broker_is_a_clear_error() -> None:
    """A broker that is not there raises BrokerError naming it, within the timeout."""
    port = free_port()
    settings = MqttSettings(port=port)

    async def main() -> None:
        async with MqttClient(settings, client_id="x", connect_timeout=1.5):
            pass

    with pytest.raises(BrokerError, match=f"127.0.0.1:{port}"):
        asyncio.run(main())


def test_cm1_two_clients_of_one_user_are_told_why_they_keep_losing_the_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """CM-1, CL-14: the broker binds client ids to user names (as ``omdp broker config``
    writes it). Two processes with one user (two ingest units sharing ``omdp-ingest``, as the
    deployment guide once said) took each other's connection every second, for ever, and each
    logged only "disconnected ...: Unspecified error". Now the log names the likely cause."""
    broker = Mosquitto(tmp_path / "bound", extra_config="use_username_as_clientid true").start()
    settings = MqttSettings(port=broker.port, username="omdp-ingest")

    async def main() -> None:
        async with (
            MqttClient(settings, client_id="ingest-1"),
            MqttClient(settings, client_id="ingest-2"),
        ):
            async with asyncio.timeout(30):
                while "is another client logged in as 'omdp-ingest'" not in caplog.text:
                    await asyncio.sleep(0.2)

    try:
        with caplog.at_level(logging.WARNING, logger="omdp.mqtt.client"):
            asyncio.run(main())
    finally:
        broker.kill()
    assert "ended within 5 s 3 times in a row" in caplog.text
