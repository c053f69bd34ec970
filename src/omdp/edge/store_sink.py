"""The sink of a no-cloud edge: the cloud's reading store, on the edge (the privacy variant).

For households that keep their data at home, the edge forwards its outbox into a reading store
(SQLite or PostgreSQL, the cloud's own code; the sink needs only its
:class:`~omdp.cloud.storage.port.ReadingWriter` role) instead of to a cloud broker, and serves
the cloud's query API over it.

- Every entry goes through the cloud ingest's :func:`~omdp.cloud.ingest.classify` under the
  topic the cloud would have seen (``concentrator/{id}/smartMeterMessage/...``): a valid
  reading is stored (CL-1; a known ``meterReadingIdentifier`` is skipped, so the forwarder's
  replays are harmless), anything else goes to the store's quarantine with its reasons and is
  acknowledged, so that a bad message never blocks the outbox.
- The edge's own alerts (``concentrator/{id}/alerts/...``) are not readings: they are
  acknowledged and not stored; the live API keeps them (``/v1/alerts``, ``/v1/stream``).
- Entries arriving within ``linger`` seconds (up to ``batch``) are written in one
  ``write_batch`` on a worker thread; each entry's future resolves only after that commit, and
  only then does the forwarder delete it from the outbox. A failed write is retried with capped,
  jittered backoff while the entries stay unacknowledged.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

from omdp.cloud.ingest import classify
from omdp.cloud.model import QuarantineEntry, StoredReading
from omdp.cloud.settings import IngestSettings
from omdp.cloud.storage.port import ReadingWriter
from omdp.delivery.outbox import Entry
from omdp.errors import StorageError, TopicError
from omdp.topics import forward_topic, is_alert_topic

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = IngestSettings().max_message_bytes
"""The cloud ingest's default limit of one message: larger ones are quarantined."""

_Pending = tuple[Entry, "asyncio.Future[None]"]


@dataclass(slots=True)
class StoreSinkStats:
    """What the store sink did so far (the edge's status ``sink``, ``omdp_edge_store_*``).

    Attributes:
        stored: Readings written into the store.
        duplicates: Readings skipped because their ``meterReadingIdentifier`` was stored already.
        quarantined: Messages put into the store's quarantine.
        alerts: The edge's own alerts, acknowledged and not stored.
        batches: Batches committed (one ``write_batch`` each).
        errors: Failed writes (each retried).
    """

    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    alerts: int = 0
    batches: int = 0
    errors: int = 0


@functools.lru_cache(maxsize=65_536)
def _cloud_topic(concentrator_id: str, topic: str) -> str:
    """The topic the cloud would have received ``topic`` on; unchanged if it is not an adapter's
    (``classify`` then quarantines it with the reason)."""
    try:
        return forward_topic(concentrator_id, topic)
    except TopicError:
        return topic


class StoreSink:
    """A :class:`~omdp.delivery.sink.Sink` writing into a reading store; use ``async with``."""

    def __init__(
        self,
        store: ReadingWriter,
        concentrator_id: str,
        *,
        window: int = 2000,
        batch: int = 1000,
        linger: float = 0.005,
        max_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.store = store
        self.concentrator_id = concentrator_id
        self.batch = batch
        self.linger = linger
        self.max_bytes = max_bytes
        self.stats = StoreSinkStats()
        self._slots = asyncio.Semaphore(window)
        self._pending: list[_Pending] = []
        self._writing: list[_Pending] = []
        self._arrived = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._healthy = True
        self._failures = 0

    async def __aenter__(self) -> StoreSink:
        self._task = asyncio.get_running_loop().create_task(self._write_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Stop writing; entries not committed fail and stay in the outbox for the next run."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        pending = self._writing + self._pending
        self._writing, self._pending = [], []
        for _entry, future in pending:
            if not future.done():
                future.set_exception(StorageError("the store sink closed"))

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        """Wait for a slot, queue ``entry``; the future resolves once its batch is committed."""
        await self._slots.acquire()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda _f: self._slots.release())
        if self._task is None:
            future.set_exception(StorageError("the store sink is not running"))
            return future
        self._pending.append((entry, future))
        self._arrived.set()
        return future

    @property
    def reconnects(self) -> int:
        """Times the store came back after failed writes."""
        return self._failures

    @property
    def connected(self) -> bool:
        """Whether the last write succeeded (and the sink runs)."""
        return self._task is not None and self._healthy

    async def _write_forever(self) -> None:
        while True:
            await self._arrived.wait()
            if len(self._pending) < self.batch:
                await asyncio.sleep(self.linger)  # let a few more arrive: one commit for them all
            taken, self._pending = self._pending[: self.batch], self._pending[self.batch :]
            if not self._pending:
                self._arrived.clear()
            self._writing = taken
            await self._write(taken)
            self._writing = []

    async def _write(self, taken: list[_Pending]) -> None:
        items = [(entry.topic, entry.payload) for entry, _future in taken]
        delay = 0.5
        while True:
            try:
                await asyncio.to_thread(self._store, items)
                break
            except StorageError:
                self.stats.errors += 1
                if self._healthy:
                    self._healthy = False
                    self._failures += 1
                log.exception("%d message(s) not stored; retrying in %.1f s", len(items), delay)
                await asyncio.sleep(delay * random.uniform(1.0, 1.5))  # noqa: S311
                delay = min(delay * 2, 30.0)
        self._healthy = True
        for _entry, future in taken:
            if not future.done():
                future.set_result(None)

    def _store(self, items: list[tuple[str, bytes]]) -> None:
        """Classify and write one batch (on a worker thread)."""
        readings: list[StoredReading] = []
        quarantine: list[QuarantineEntry] = []
        now = datetime.now(UTC)
        alerts = 0
        for topic, payload in items:
            if is_alert_topic(topic):
                alerts += 1  # the edge's own alert: kept by the live API, not a reading
                continue
            item = classify(
                _cloud_topic(self.concentrator_id, topic),
                payload,
                max_bytes=self.max_bytes,
                now=now,
            )
            if isinstance(item, StoredReading):
                readings.append(item)
            else:
                log.warning(
                    "quarantined a message on %s: %s",
                    topic,
                    "; ".join(f"{p}: {r}" for p, r in item.problems),
                    extra={"topic": topic},
                )
                quarantine.append(item)
        result = self.store.write_batch(readings, quarantine) if readings or quarantine else None
        stats = self.stats
        stats.alerts += alerts
        stats.batches += 1
        if result is not None:
            stats.stored += result.stored
            stats.duplicates += result.duplicates
            stats.quarantined += result.quarantined
