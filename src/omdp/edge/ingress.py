"""Intake from the local broker (CO-1): ``smartMeterMessage/#``, QoS 1, persistent session.

A message is acknowledged (PUBACK) to the local broker only after the outbox has committed it;
until then the broker's session holds it and redelivers it after a reconnect. Back-pressure:
while the outbox is full, the subscriber disconnects and stays away, so that the local broker's
persistent session holds the new readings instead of the edge dropping any.

The client's incoming queue is bounded. Should the broker push more than it holds, the client
drops the rest unacknowledged and ignores everything after the first drop, so that what it did
take is an in-order prefix; the subscriber then reconnects and the broker redelivers the rest,
in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable

from omdp.errors import BrokerError, TopicError
from omdp.mqtt import Message, MqttClient
from omdp.mqtt.settings import MqttSettings
from omdp.topics import ADAPTER_FILTER, parse_adapter_topic

log = logging.getLogger(__name__)

Done = Callable[[BaseException | None], None]
Accept = Callable[[list[tuple[str, bytes]], Done], Awaitable[None]]
"""Hands a chunk to the outbox writer; ``done`` is called once it is committed (or failed)."""

CHUNK = 5000
_TOPIC_CACHE = 65_536


class _LocalClient(MqttClient):
    """An MqttClient that, once its queue overflowed, takes nothing more until reconnected."""

    overflowed = False

    def _received(self, message: Message) -> None:
        if not self.overflowed and self.messages.full():
            self.overflowed = True
            log.warning("incoming queue full: reconnecting to get the rest redelivered in order")
        if not self.overflowed:
            super()._received(message)

    async def flush(self, timeout: float = 2.0) -> None:
        """Wait until paho has written its queued packets (our PUBACKs) to the socket.

        ``MqttClient.close`` stops paho's network thread at once, which can drop PUBACKs still
        queued: the broker would then redeliver messages the outbox already holds.
        """
        deadline = asyncio.get_running_loop().time() + timeout
        while self._client.want_write() and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.01)


class LocalSubscriber:
    """Takes adapters' messages from the local broker into the outbox."""

    def __init__(
        self,
        settings: MqttSettings,
        *,
        client_id: str,
        accept: Accept,
        room: asyncio.Event,
        queue_size: int = 50_000,
    ) -> None:
        self.settings = settings
        self.client_id = client_id
        self.accept = accept
        self.room = room
        self.queue_size = queue_size
        self.client: MqttClient | None = None
        self.rejected = 0
        self._sessions = 0
        self._past_reconnects = 0
        self._outstanding = 0
        self._settled = asyncio.Event()
        self._settled.set()
        self._valid: set[str] = set()

    @property
    def reconnects(self) -> int:
        """Reconnections, by paho or by a new session after back-pressure or overflow."""
        current = self.client.reconnects if self.client is not None else 0
        return self._past_reconnects + current + max(self._sessions - 1, 0)

    @property
    def connected(self) -> bool:
        """Whether the local broker is connected now."""
        return self.client is not None and self.client.connected.is_set()

    async def run(self) -> None:
        """Connect, consume, reconnect; pause while the outbox is full. Runs until cancelled."""
        failures = 0
        while True:
            if not self.room.is_set():
                log.warning("outbox full: not taking messages; the local broker holds them")
                await self.room.wait()
                log.info("outbox has room again: taking messages")
            client = _LocalClient(
                self.settings, client_id=self.client_id, manual_ack=True, queue_size=self.queue_size
            )
            try:
                await client.connect()
            except BrokerError as exc:
                failures += 1
                delay = min(2.0**failures, 30.0) * random.uniform(0.5, 1.0)  # noqa: S311
                log.warning("local broker: %s; retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            self.client = client
            self._sessions += 1
            try:
                await client.subscribe(ADAPTER_FILTER, 1)
                await self._consume(client)
                await self._settle()
                await client.flush()
            finally:
                self._past_reconnects += client.reconnects
                self.client = None
                with contextlib.suppress(asyncio.CancelledError):
                    await client.flush(timeout=0.5)
                await client.close()

    async def _settle(self, timeout: float = 30.0) -> None:
        # ack what is on its way to the outbox before the session goes away
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._settled.wait(), timeout)

    def _valid_topic(self, topic: str) -> bool:
        if topic in self._valid:
            return True
        try:
            parse_adapter_topic(topic)
        except TopicError as exc:
            self.rejected += 1
            log.warning("not forwarded: %s", exc, extra={"topic": topic})
            return False
        if len(self._valid) >= _TOPIC_CACHE:
            self._valid.clear()
        self._valid.add(topic)
        return True

    async def _consume(self, client: _LocalClient) -> None:
        queue = client.messages
        while self.room.is_set() and not (client.overflowed and queue.empty()):
            try:
                first = await asyncio.wait_for(queue.get(), 0.5)
            except TimeoutError:
                continue
            messages = [first]
            while len(messages) < CHUNK and not queue.empty():
                messages.append(queue.get_nowait())
            items: list[tuple[str, bytes]] = []
            for message in messages:
                if self._valid_topic(message.topic):
                    items.append((message.topic, message.payload))
                else:
                    client.ack(message)  # not a reading of ours: never stored, never resent
            self._outstanding += 1
            self._settled.clear()
            await self.accept(items, self._acker(client, messages))

    def _acker(self, client: MqttClient, messages: list[Message]) -> Done:
        def done(error: BaseException | None) -> None:
            self._outstanding -= 1
            if self._outstanding == 0:
                self._settled.set()
            if error is None:
                client.ack_many(messages)

        return done
