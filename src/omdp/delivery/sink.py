"""The sink port: where the forwarder delivers what the outbox holds.

A sink is a broker (:class:`MqttSink`: the edge's broker for an adapter, the cloud broker for an
edge), the cloud behind its receipts (:class:`~omdp.delivery.cloud_sink.CloudSink`), or, in the
"no cloud" deployment, the edge's own reading store (:class:`~omdp.edge.store_sink.StoreSink`).
A sink takes one entry at a time, bounds how many are outstanding, and resolves each entry's
future once the entry is durable on its side (a PUBACK for MQTT, a receipt or a commit for the
cloud). The forwarder deletes an entry from the outbox only after that.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from omdp.delivery.outbox import Entry
from omdp.mqtt import MqttClient
from omdp.topics import CONCENTRATOR_ROOT, forward_topic

_TOPIC_CACHE = 65_536


class Sink(Protocol):
    """Where forwarded messages go."""

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        """Wait for room, hand ``entry`` over; the future resolves once the sink holds it."""
        ...

    @property
    def reconnects(self) -> int:
        """How many times the sink's link came back after a loss."""
        ...

    @property
    def connected(self) -> bool:
        """Whether the sink can take messages now."""
        ...


class MqttSink:
    """Publishes each entry, byte for byte, on its concentrator topic (CO-2, CO-3), QoS 1."""

    def __init__(self, client: MqttClient, concentrator_id: str) -> None:
        self.client = client
        self.concentrator_id = concentrator_id
        self._topics: dict[str, str] = {}

    def cloud_topic(self, topic: str) -> str:
        """The cloud-side topic of an outbox entry.

        Adapter topics become ``concentrator/{id}/smartMeterMessage/...``; the edge's own
        messages (alerts) are stored under ``concentrator/...`` already and go out unchanged.
        """
        found = self._topics.get(topic)
        if found is None:
            if topic.startswith(f"{CONCENTRATOR_ROOT}/"):
                found = topic
            else:
                found = forward_topic(self.concentrator_id, topic)
            if len(self._topics) >= _TOPIC_CACHE:
                self._topics.clear()
            self._topics[topic] = found
        return found

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        """Take an in-flight slot and publish; the slot is freed by the broker's PUBACK."""
        await self.client.inflight_slot.acquire()
        return self.client.publish_nowait(
            self.cloud_topic(entry.topic), entry.payload, qos=1, release_slot=True
        )

    @property
    def reconnects(self) -> int:
        """Reconnections of the cloud client."""
        return self.client.reconnects

    @property
    def connected(self) -> bool:
        """Whether the cloud broker is connected."""
        return self.client.connected.is_set()
