"""The edge's sink towards the cloud: publish, then wait for the cloud's receipt (CO-2, CL-1).

:class:`CloudSink` publishes each outbox entry like :class:`~omdp.delivery.sink.MqttSink` and
resolves the entry's future only when the cloud ingest's receipt names it
(:mod:`omdp.receipts`): the forwarder therefore deletes an entry only once the cloud has
committed it, never on a broker's PUBACK. An entry fails, and the forwarder sends it again
from the outbox, when

- the broker refuses the publish (an MQTT 5 reason code of 0x80 or above, or 0x10 "No matching
  subscribers": the broker dropped it), or the connection closes before the PUBACK;
- no receipt names it within ``timeout`` seconds (MQTT 3.1.1 brokers drop messages without a
  word; a broker killed with SIGKILL forgets what it held only in memory).

At most ``window`` entries wait for their receipt at once: throughput needs no round trip per
message (receipts come per committed batch), and while the ingest is away the cloud broker
holds no more than ``window`` messages of this edge; the rest waits in the outbox. The edge
subscribes to ``omdp/receipts/{concentratorId}`` on its persistent session, so receipts
published while it was disconnected reach it when it comes back.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import xxhash

from omdp.delivery.outbox import Entry
from omdp.delivery.sink import MqttSink
from omdp.errors import BrokerError
from omdp.mqtt import Message, MqttClient
from omdp.receipts import decode_receipt, topic_key
from omdp.topics import receipt_topic

log = logging.getLogger(__name__)

_digest = xxhash.xxh3_64_intdigest
_KEYS = 65_536


class ReceiptTimeout(BrokerError):
    """No receipt arrived for a message in time: it is sent again."""


@dataclass(slots=True)
class ReceiptStats:
    """What the cloud sink saw: receipts, and what it had to send again."""

    receipts: int = 0
    receipted: int = 0
    unknown: int = 0
    timeouts: int = 0
    refused: int = 0
    malformed: int = 0


class CloudSink(MqttSink):
    """Publishes entries on their concentrator topics; each future resolves on its receipt."""

    def __init__(
        self,
        client: MqttClient,
        concentrator_id: str,
        *,
        window: int = 20_000,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client, concentrator_id)
        self.window = window
        self.timeout = timeout
        self.clock = clock
        self.stats = ReceiptStats()
        self.receipt_topic = receipt_topic(concentrator_id)
        # Per message only plain containers, no callback: a future leaves ``_waiting`` when
        # its receipt settles it, and ``_order`` (oldest first) when it is settled or overdue;
        # ``_pending`` counts those not settled by a receipt, a timeout or a refusal yet.
        self._waiting: dict[int, asyncio.Future[None]] = {}
        self._twins: dict[int, list[asyncio.Future[None]]] = {}  # identical messages pending
        self._order: collections.deque[tuple[float, int, asyncio.Future[None]]] = (
            collections.deque()
        )
        self._keys: dict[str, bytes] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._pending = 0
        self._room = asyncio.Event()
        self._room.set()

    async def __aenter__(self) -> CloudSink:
        await self.client.subscribe(self.receipt_topic, qos=1)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._receive_forever()),
            loop.create_task(self._expire_forever()),
        ]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop reading receipts; entries still waiting fail and stay in the outbox."""
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for _deadline, _digest, future in self._order:
            if not future.done():
                future.set_exception(BrokerError("the cloud sink closed"))
        self._order.clear()
        self._waiting.clear()
        self._twins.clear()
        self._pending = 0

    # -- sending -------------------------------------------------------------------------------

    def _key(self, topic: str) -> bytes:
        key = self._keys.get(topic)
        if key is None:
            if len(self._keys) >= _KEYS:
                self._keys.clear()
            key = self._keys[topic] = topic_key(topic)
        return key

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        """Wait for room in the receipt window and the broker's in-flight window, publish.

        The returned future resolves on the cloud's receipt, or fails as the module says.
        """
        while self._pending >= self.window:
            self._room.clear()
            await self._room.wait()
        client = self.client
        await client.inflight_slot.acquire()
        topic = self.cloud_topic(entry.topic)
        digest = _digest(self._key(topic) + entry.payload)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if digest in self._waiting:  # the same message again: one receipt settles both
            self._twins.setdefault(digest, []).append(future)
        else:
            self._waiting[digest] = future
        self._pending += 1
        self._order.append((self.clock() + self.timeout, digest, future))
        client.publish_nowait(topic, entry.payload, qos=1, release_slot=True, future=future)
        return future

    def _freed(self, count: int) -> None:
        self._pending -= count
        if self._pending < self.window:
            self._room.set()

    def _forget(self, digest: int, future: asyncio.Future[None]) -> None:
        """Drop a future that failed from the receipt table (a receipt can no longer settle it)."""
        if self._waiting.get(digest) is future:
            twins = self._twins.pop(digest, None)
            if twins:
                self._waiting[digest] = twins.pop(0)
                if twins:
                    self._twins[digest] = twins
            else:
                del self._waiting[digest]
        elif digest in self._twins:
            with contextlib.suppress(ValueError):
                self._twins[digest].remove(future)

    # -- receipts ------------------------------------------------------------------------------

    def receive(self, payload: bytes) -> int:
        """Settle the entries a receipt names; return how many it settled."""
        try:
            digests = decode_receipt(payload)
        except BrokerError as exc:
            self.stats.malformed += 1
            log.warning("ignored a message on %s: %s", self.receipt_topic, exc)
            return 0
        self.stats.receipts += 1
        settled = unknown = 0
        waiting, twins = self._waiting, self._twins
        for digest in digests:
            future = waiting.pop(digest, None)
            if future is None:
                unknown += 1  # sent again meanwhile, or before a restart
                continue
            if digest in twins:
                for other in twins.pop(digest):
                    if not other.done():
                        other.set_result(None)
                        settled += 1
            if not future.done():
                future.set_result(None)
                settled += 1
        self.stats.unknown += unknown
        self.stats.receipted += settled
        self._freed(settled)
        return settled

    async def _receive_forever(self) -> None:
        messages: asyncio.Queue[Message] = self.client.messages
        while True:
            message = await messages.get()
            if message.topic == self.receipt_topic:
                self.receive(message.payload)
            else:
                log.warning("ignored a message on %s: not a receipt topic", message.topic)

    async def _expire_forever(self, period: float = 0.5) -> None:
        while True:
            await asyncio.sleep(period)
            self.expire()

    def expire(self) -> int:
        """Fail the entries whose receipt is overdue; return how many.

        Also takes settled entries off the front of the queue, and frees the window of those
        that failed on the broker's side (refused, connection closed) without a receipt.
        """
        order = self._order
        now = self.clock()
        expired = refused = 0
        while order and (order[0][0] <= now or order[0][2].done()):
            _deadline, digest, future = order.popleft()
            if not future.done():
                future.set_exception(
                    ReceiptTimeout(f"no receipt from the cloud within {self.timeout:g} s")
                )
                expired += 1
            elif future.cancelled() or future.exception() is not None:
                refused += 1
            else:
                continue  # settled by its receipt
            self._forget(digest, future)
        if expired or refused:
            self._freed(expired + refused)
            self.stats.refused += refused
        if expired:
            self.stats.timeouts += expired
            log.warning(
                "%d message(s) without a receipt from the cloud after %g s: sending them again "
                "(%d so far)",
                expired,
                self.timeout,
                self.stats.timeouts,
            )
        return expired

    # -- status --------------------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Entries published and waiting for their receipt."""
        return self._pending

    def oldest_pending_age(self) -> float:
        """Seconds since the oldest entry still waiting for its receipt was published."""
        for deadline, _digest, future in self._order:
            if not future.done():
                return max(0.0, self.clock() - (deadline - self.timeout))
        return 0.0

    def status(self) -> dict[str, Any]:
        """The ``receipts`` part of the edge's status."""
        s = self.stats
        return {
            "pending": self.pending,
            "oldestPendingAgeS": round(self.oldest_pending_age(), 3),
            "receipts": s.receipts,
            "receipted": s.receipted,
            "unknown": s.unknown,
            "timeouts": s.timeouts,
            "refused": s.refused,
            "timeoutS": self.timeout,
            "window": self.window,
        }
