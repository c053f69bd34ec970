"""The forwarder: outbox -> sink, many messages in flight, delete after the sink's ack.

The pump reads the outbox in id order and hands every entry to the sink, which keeps up to its
window in flight (MQTT: paho resends unacknowledged publishes, in order, after a reconnect). An
acknowledged entry's id is collected; the reaper deletes the collected ids in one transaction
every ``delete_interval`` seconds or every ``delete_batch`` acks. A crash therefore repeats at
most the entries in flight plus those acked but not yet deleted; the cloud's ingest is
idempotent on ``meterReadingIdentifier``.

If a send fails (the sink closed, a publish refused, no receipt in time), the pump lets the
window settle (up to ``settle_timeout`` seconds), then starts again from the oldest entry still
in the outbox, after a capped, jittered backoff. When nothing was acknowledged since the
previous failure (the far end is away: an ingest down keeps every receipt from coming), the
backoff grows and the pump sends only ``probe`` entries until an acknowledgement arrives, so
that an outage does not make it send its whole window again and again.

While the pump keeps up, it sends what the outbox writer has just committed from memory
(:meth:`Forwarder.offer`) instead of reading it back: the reads queued behind the writer's
fsync'd commits on the outbox's one thread were the edge's longest wait (``omdp bench edge``).
The outbox stays the only truth: anything not in memory, after a restart, an outage or a
failed send, is read from it in id order.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from omdp.delivery.outbox import Entry, Outbox
from omdp.delivery.sink import Sink

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ForwarderStats:
    """Counters of the forwarder."""

    sent: int = 0
    acked: int = 0
    failed: int = 0
    deleted: int = 0


class Forwarder:
    """Moves outbox entries to a sink; run it with :meth:`run` in a task group."""

    def __init__(
        self,
        outbox: Outbox,
        sink: Sink,
        *,
        batch: int = 2000,
        delete_batch: int = 2000,
        delete_interval: float = 0.05,
        fresh_max: int = 5_000,
        settle_timeout: float = 30.0,
        max_backoff: float = 30.0,
        probe: int = 100,
    ) -> None:
        self.outbox = outbox
        self.sink = sink
        self.batch = batch
        self.delete_batch = delete_batch
        self.delete_interval = delete_interval
        self.stats = ForwarderStats()
        self._new = asyncio.Event()
        self._flush = asyncio.Event()
        self._acked: list[int] = []
        self._inflight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._failed = False
        self._stopping = False
        self._fresh: collections.deque[Entry] = collections.deque()
        self._fresh_max = fresh_max
        self.settle_timeout = settle_timeout
        self.max_backoff = max_backoff
        self.probe = probe
        self._probing = False
        self._probe_sent = 0
        self._pumping: asyncio.Task[None] | None = None

    def wake(self) -> None:
        """Tell the pump that the outbox has new entries."""
        self._new.set()

    def offer(self, first_id: int, items: Sequence[tuple[str, bytes]]) -> None:
        """Entries just committed to the outbox (ids ``first_id`` onwards), to send from memory.

        The pump sends them without reading them back while it keeps up; when it does not
        (more than ``fresh_max`` waiting, an outage, a restart), they are dropped from memory
        and read from the outbox, which holds them either way.
        """
        fresh = self._fresh
        if len(fresh) + len(items) <= self._fresh_max:
            now = time.time()
            fresh.extend(
                Entry(first_id + n, topic, payload, now) for n, (topic, payload) in enumerate(items)
            )
        else:
            fresh.clear()
        self._new.set()

    def _take_fresh(self, cursor: int) -> list[Entry] | None:
        """The next entries after ``cursor`` from memory, or None: read them from the outbox."""
        fresh = self._fresh
        while fresh and fresh[0].id <= cursor:  # sent already (read from the outbox)
            fresh.popleft()
        if not fresh or fresh[0].id != cursor + 1:
            return None
        count = min(len(fresh), self.batch)
        return [fresh.popleft() for _ in range(count)]

    @property
    def inflight(self) -> int:
        """Entries handed to the sink and not acknowledged yet."""
        return self._inflight

    def _done(self, entry_id: int, future: asyncio.Future[None]) -> None:
        self._inflight -= 1
        if self._inflight == 0:
            self._idle.set()
        if future.cancelled() or future.exception() is not None:
            self.stats.failed += 1
            if not self._failed:
                reason = "cancelled" if future.cancelled() else future.exception()
                log.warning("forwarding failed, will resend from the outbox: %s", reason)
            self._failed = True
            self._new.set()  # a pump waiting for a probe's answer recovers now
            return
        self.stats.acked += 1
        if self._probing:
            self._probing = False  # the far end answers again: full window
            self._new.set()
        self._acked.append(entry_id)
        if len(self._acked) >= self.delete_batch:
            self._flush.set()

    async def run(self) -> None:
        """Pump and reap until :meth:`stop`; then settle the window and delete what was acked."""
        async with asyncio.TaskGroup() as tg:
            reaper = tg.create_task(self._reap_forever())
            pump = self._pumping = tg.create_task(self._pump())
            try:
                await asyncio.wait([pump])  # its failure, if any, leaves the group with it
            finally:
                reaper.cancel()
                pump.cancel()
        await self.reap()

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop pumping and wait up to ``timeout`` s for the entries in flight.

        A pump still waiting after that (for room in a full window, or between retries) is
        cancelled: what it did not send stays in the outbox for the next start.
        """
        self._stopping = True
        self._new.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        if self._pumping is not None:
            self._pumping.cancel()

    async def _pump(self) -> None:
        cursor = 0
        failures = 0
        acked_mark = 0
        while not self._stopping:
            if self._failed:
                progressed = self.stats.acked > acked_mark
                failures = 1 if progressed else failures + 1
                cursor = await self._recover(failures)
                acked_mark = self.stats.acked
                self._probing, self._probe_sent = not progressed, 0
                continue
            self._new.clear()
            if self._probing and self._probe_sent >= self.probe:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new.wait(), 1.0)
                continue
            entries = self._take_fresh(cursor)
            if entries is None:
                entries = await self.outbox.read_after(cursor, self.batch)
            if not entries:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._new.wait(), 1.0)
                continue
            for entry in entries:
                if self._failed or self._stopping:
                    break
                future = await self.sink.send(entry)
                self._inflight += 1
                self._idle.clear()
                self.stats.sent += 1
                future.add_done_callback(functools.partial(self._done, entry.id))
                cursor = entry.id
                if self._probing:
                    self._probe_sent += 1
                    if self._probe_sent >= self.probe:
                        break

    async def _recover(self, failures: int) -> int:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self.settle_timeout)
        await self.reap()
        backoff = min(2.0 ** min(failures, 10), self.max_backoff)
        delay = backoff * random.uniform(0.5, 1.0)  # noqa: S311
        await asyncio.sleep(delay)
        self._failed = False
        return 0

    async def _reap_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flush.wait(), self.delete_interval)
            await self.reap()

    async def reap(self) -> None:
        """Delete the acknowledged entries from the outbox now."""
        self._flush.clear()
        if not self._acked:
            return
        ids, self._acked = self._acked, []
        self.stats.deleted += await self.outbox.delete(ids)
