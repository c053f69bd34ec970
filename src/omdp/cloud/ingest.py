"""Cloud ingest (CL-1, CL-2): ``concentrator/#`` in, every valid reading stored exactly once.

- Subscribes with QoS 1 and a persistent session (optionally an MQTT 5 shared subscription
  ``$share/{group}/concentrator/#`` so that several ingest processes share the load).
- Each message is classified: a valid reading whose meter agrees with the topic becomes a
  :class:`StoredReading`; anything else (oversized, malformed topic, not UTF-8 or JSON, invalid,
  meter mismatch) becomes a :class:`QuarantineEntry` with its reasons. Bad input never stops
  the service. A reading forwarded by a concentrator that is not its meter's site is
  quarantined too, with the reason (:mod:`omdp.cloud.sites`).
- Messages are written in batches and acknowledged to the broker only after their batch is
  committed: a crash loses nothing, and the broker's redelivery is harmless because the store
  skips reading ids it already holds.
- One batch is written while the next is collected (a bounded queue of two between them). A
  batch goes to the writer as soon as the writer is free (group commit: under load batches
  grow while the previous one commits, when quiet a message is written at once), and at the
  latest after ``flush_interval_s`` or at ``batch_size`` messages: waiting out the interval
  with an idle writer would leave the last batch of a burst late.
  A failed write is retried with capped backoff; its messages stay unacknowledged meanwhile.
- A concentrator's alerts (``concentrator/{id}/alerts/{ruleId}/{meterId}``, APP-4, CO-4) come
  on the same subscription. They are not readings: the ingest logs each, counts it
  (``omdp_ingest_alerts_total``) and acknowledges and receipts it with its batch, without
  storing it or putting it in quarantine (an alert is not a bad message; the app reads alerts
  from the edge).
- After each commit, and before acknowledging its messages to the broker, the ingest publishes
  a receipt per concentrator on ``omdp/receipts/{concentratorId}`` naming every message of the
  batch by its digest (:mod:`omdp.receipts`): stored, duplicate and quarantined alike. The edge
  deletes a message from its outbox only on that receipt, never on a broker's PUBACK. A crash
  between commit and receipt leaves the messages unacknowledged: the broker delivers them
  again, the store skips them as duplicates, and they are receipted then.

The process is CPU-bound under one GIL, so its hot path is kept short: the msgspec fast path
(:mod:`omdp.domain.fast_reading`), a buffered receive (:mod:`omdp.mqtt.fast_paho`), group
commit (above), the collector tuned (:mod:`omdp.ops.gc_tuning`), topics parsed once. Its rate
beside the raw broker's, and what each of these bought: docs/benchmarks.md ("Cloud ingest").

The client's receive queue holds more than the 65,535 unacknowledged messages MQTT 5 lets the
broker send, so that no message is dropped unacknowledged while a batch is being written.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import orjson

from omdp.cloud.metrics import IngestMetrics
from omdp.cloud.model import QuarantineEntry, RetentionPolicy, StoredReading, WriteResult
from omdp.cloud.settings import CloudSettings, RetentionSettings
from omdp.cloud.sites import SiteMap
from omdp.cloud.storage.port import Erasure, Quarantine, ReadingStore, ReadingWriter
from omdp.domain.fast_reading import fast_values
from omdp.domain.validation import parse_reading
from omdp.errors import StorageError, TopicError, ValidationFailure
from omdp.mqtt import Message, MqttClient
from omdp.receipts import encode_receipts, group_digests, receipt_entry
from omdp.topics import (
    CLOUD_FILTER,
    MeterTopic,
    is_alert_topic,
    parse_concentrator_topic,
    receipt_topic,
)

log = logging.getLogger(__name__)

RECEIVE_QUEUE = 70_000
"""Above MQTT 5's maximum of 65,535 unacknowledged QoS 1 messages towards one client."""

QUARANTINE_PREFIX = 4096
"""Bytes of an oversized message kept in quarantine (its size is in the reason)."""

QUARANTINE_RECOUNT_S = 60.0
"""How often the ingest counts the quarantine's bytes again (an operator may purge it)."""

IDLE_POLL_S = 0.005
"""While a batch is being written, how often the collector looks whether the writer is free."""


@functools.lru_cache(maxsize=100_000)
def _topic(topic: str) -> MeterTopic:
    """Parse a topic once: a concentrator publishes each meter on the same topic all day, and
    parsing every message was a sixth of the cost of classifying it."""
    return parse_concentrator_topic(topic)


def classify(
    topic: str, payload: bytes, *, max_bytes: int, now: datetime | None = None
) -> StoredReading | QuarantineEntry:
    """Turn one message into a reading to store, or a quarantine entry saying why not."""
    received = now or datetime.now(UTC)

    def bad(*problems: tuple[str, str]) -> QuarantineEntry:
        return QuarantineEntry(topic, payload, received, tuple(problems))

    if len(payload) > max_bytes:
        problem = ("$", f"message of {len(payload)} bytes exceeds the limit of {max_bytes}")
        return QuarantineEntry(topic, payload[:QUARANTINE_PREFIX], received, (problem,))
    try:
        parsed = _topic(topic)
    except TopicError as exc:
        return bad(("topic", str(exc)))
    meter = parsed.smart_meter_id
    fast = fast_values(payload, meter)  # refuses bytes that are not UTF-8: checked below
    if fast is not None:
        return StoredReading.from_fast(fast, meter_id=meter, concentrator_id=parsed.concentrator_id)
    try:
        payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        return bad(("$", f"not UTF-8: {exc.reason} at byte {exc.start}"))
    try:
        reading = parse_reading(payload, source=topic)
    except ValidationFailure as exc:
        return bad(*exc.problems)
    if reading.meter_id is not None and reading.meter_id != meter:
        return bad(
            (
                "$.meterIndividual.meterIndividualId",
                f"names meter {reading.meter_id!r} but the topic names {meter!r}",
            )
        )
    return StoredReading.from_reading(
        reading, meter_id=meter, concentrator_id=parsed.concentrator_id
    )


def _log_alert(message: Message) -> None:
    """One log line for a concentrator's alert: who raised or cleared what, and its text."""
    try:
        alert = orjson.loads(message.payload)
    except orjson.JSONDecodeError:
        alert = None
    if not isinstance(alert, dict):
        alert = {}
    log.info(
        "alert on %s: %s %s",
        message.topic,
        alert.get("state", "?"),
        alert.get("message", ""),
        extra={"topic": message.topic},
    )


def ingest_client_id(settings: CloudSettings) -> str:
    """The ingest's MQTT client id: ``ingest.client_id``, else ``omdp-ingest-`` and an HMAC of
    its user name under its broker password (or, without one, its database URL).

    Stable across restarts, as its persistent session needs, and not guessable without the
    secret, so that nobody can aim at its session (the broker also binds client ids to users).
    """
    if settings.ingest.client_id:
        return settings.ingest.client_id
    mqtt = settings.mqtt
    secret = mqtt.password.get_secret_value() if mqtt.password else settings.db.url
    digest = hmac.new(secret.encode(), f"ingest:{mqtt.username}".encode(), hashlib.sha256)
    return f"omdp-ingest-{digest.hexdigest()[:24]}"


def retention_policy(settings: RetentionSettings) -> RetentionPolicy | None:
    """The policy the settings describe, or None when they keep everything for ever."""
    if not settings.limits_anything:
        return None
    return RetentionPolicy(
        default_days=settings.default_days,
        meter_class_days={k.value: v for k, v in settings.meter_class_days.items()},
        household_days=dict(settings.household_days),
    )


@dataclass(slots=True)
class _Batch:
    messages: list[Message]
    readings: list[StoredReading]
    quarantine: list[QuarantineEntry]
    first_at: float
    receipts: list[tuple[str, int]]
    alerts: int = 0


class IngestService:
    """Consumes ``concentrator/#`` into a :class:`ReadingStore` until ``stop`` is set."""

    def __init__(
        self,
        store: ReadingStore,
        settings: CloudSettings,
        *,
        metrics: IngestMetrics | None = None,
    ) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics or IngestMetrics()
        self.ready = asyncio.Event()
        self._writer_idle = True
        self.sites = SiteMap(store, require_site=settings.ingest.require_site)
        self._quarantine_bytes: int | None = None
        self._counted_at = 0.0

    @property
    def topic_filter(self) -> str:
        """``concentrator/#``, or its shared form when a group is configured."""
        group = self.settings.ingest.shared_group
        return f"$share/{group}/{CLOUD_FILTER}" if group else CLOUD_FILTER

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then flush what was received and return."""
        cfg = self.settings.ingest
        client = MqttClient(
            self.settings.mqtt,
            client_id=ingest_client_id(self.settings),
            clean_start=False,
            manual_ack=True,
            queue_size=RECEIVE_QUEUE,
        )
        batches: asyncio.Queue[_Batch | None] = asyncio.Queue(maxsize=2)
        await asyncio.to_thread(self.sites.load)
        self.metrics.connected = client.connected.is_set
        async with client:
            await client.subscribe(self.topic_filter, qos=1)
            self.ready.set()
            log.info("ingest subscribed to %s", self.topic_filter)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(self._write(client, batches))
                tasks.create_task(self._retention(stop))
                tasks.create_task(self.sites.keep_current(cfg.site_refresh_s, stop))
                await self._collect(client, batches, stop)
                await batches.put(None)

    async def _collect(
        self, client: MqttClient, batches: asyncio.Queue[_Batch | None], stop: asyncio.Event
    ) -> None:
        cfg = self.settings.ingest
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                first = await asyncio.wait_for(client.messages.get(), 0.25)
            except TimeoutError:
                continue
            batch = _Batch([], [], [], loop.time(), [])
            self._add(batch, first)
            deadline = batch.first_at + cfg.flush_interval_s
            while len(batch.messages) < cfg.batch_size:
                try:
                    message = client.messages.get_nowait()
                except asyncio.QueueEmpty:
                    remaining = deadline - loop.time()
                    if remaining <= 0 or stop.is_set() or (self._writer_idle and batches.empty()):
                        break
                    try:
                        message = await asyncio.wait_for(
                            client.messages.get(), min(remaining, IDLE_POLL_S)
                        )
                    except TimeoutError:
                        continue
                self._add(batch, message)
            await batches.put(batch)

    def _add(self, batch: _Batch, message: Message) -> None:
        self.metrics.received += 1
        batch.messages.append(message)
        if self.settings.ingest.receipts:
            entry = receipt_entry(message.topic, message.payload)
            if entry is not None:
                batch.receipts.append(entry)
        if is_alert_topic(message.topic):
            batch.alerts += 1
            _log_alert(message)
            return
        item = classify(
            message.topic, message.payload, max_bytes=self.settings.ingest.max_message_bytes
        )
        if isinstance(item, StoredReading):
            wrong = self.sites.problem(item.meter_id, item.concentrator_id)
            if wrong is not None:
                item = QuarantineEntry(
                    message.topic, message.payload, datetime.now(UTC), (("topic", wrong),)
                )
        if isinstance(item, StoredReading):
            batch.readings.append(item)
        else:
            log.warning(
                "quarantined a message on %s: %s",
                message.topic,
                "; ".join(f"{p}: {r}" for p, r in item.problems),
                extra={"topic": message.topic},
            )
            batch.quarantine.append(item)

    async def _write(self, client: MqttClient, batches: asyncio.Queue[_Batch | None]) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._writer_idle = True
            batch = await batches.get()
            self._writer_idle = False
            if batch is None:
                return
            delay = 0.5
            quarantine = await self._bounded(batch.quarantine)
            result = WriteResult()  # a batch of alerts only has nothing to commit
            while batch.readings or quarantine:
                try:
                    result = await asyncio.to_thread(
                        self.store.write_batch, batch.readings, quarantine
                    )
                    break
                except StorageError:
                    self.metrics.errors += 1
                    log.exception("batch of %d messages not stored; retrying", len(batch.messages))
                    await asyncio.sleep(delay * (1 + random.random() / 2))  # noqa: S311
                    delay = min(delay * 2, 30.0)
            if batch.receipts:
                await self._receipt(client, batch.receipts)
            client.ack_many(batch.messages)
            m = self.metrics
            m.stored += result.stored
            m.duplicates += result.duplicates
            m.quarantined += result.quarantined
            m.alerts += batch.alerts
            m.batches += 1
            m.lag_s = loop.time() - batch.first_at

    async def _bounded(self, entries: list[QuarantineEntry]) -> list[QuarantineEntry]:
        """The entries that fit into the quarantine's byte bound; the rest are dropped,
        counted and logged (they stay unusable: a bound, not a queue)."""
        if not entries:
            return entries
        limit = self.settings.ingest.quarantine_max_bytes
        now = asyncio.get_running_loop().time()
        if self._quarantine_bytes is None or now - self._counted_at >= QUARANTINE_RECOUNT_S:
            try:
                self._quarantine_bytes = await asyncio.to_thread(self.store.quarantine_bytes)
                self._counted_at = now
            except StorageError:
                self._quarantine_bytes = self._quarantine_bytes or 0
        kept = []
        for entry in entries:
            if self._quarantine_bytes + len(entry.payload) > limit:
                self.metrics.quarantine_dropped += 1
                dropped = self.metrics.quarantine_dropped
                if dropped == 1 or dropped % 1000 == 0:
                    log.warning(
                        "quarantine is full (%d of %d bytes): dropped a bad message on %s "
                        "(%d dropped so far); purge it with omdp cloud quarantine purge",
                        self._quarantine_bytes,
                        limit,
                        entry.topic,
                        dropped,
                        extra={"topic": entry.topic},
                    )
                continue
            self._quarantine_bytes += len(entry.payload)
            kept.append(entry)
        return kept

    async def _receipt(self, client: MqttClient, entries: list[tuple[str, int]]) -> None:
        """Publish the receipts of one committed batch (QoS 1, not awaited: a lost receipt only
        makes the edge send the message again, which the store skips)."""
        slot = client.inflight_slot
        for concentrator, digests in group_digests(entries).items():
            topic = receipt_topic(concentrator)
            for payload in encode_receipts(digests):
                await slot.acquire()
                future = client.publish_nowait(topic, payload, qos=1, release_slot=True)
                future.add_done_callback(self._receipt_sent)
                self.metrics.receipts += 1

    def _receipt_sent(self, future: asyncio.Future[None]) -> None:
        if not future.cancelled() and future.exception() is not None:
            self.metrics.receipt_errors += 1
            log.debug("a receipt was not taken by the broker: %s", future.exception())

    async def _retention(self, stop: asyncio.Event) -> None:
        await enforce_retention(self.store, self.settings.retention, stop)


async def enforce_retention(
    store: Erasure, settings: RetentionSettings, stop: asyncio.Event
) -> None:
    """Apply the retention policy now and every ``interval_s`` until ``stop`` is set (CL-13);
    return at once when the settings keep everything. A failed run is logged and retried at the
    next interval: retention never stops the service it runs in."""
    policy = retention_policy(settings)
    if policy is None:
        return
    while not stop.is_set():
        try:
            report = await asyncio.to_thread(store.apply_retention, policy, now=datetime.now(UTC))
            log.info("retention deleted %d readings", report.readings_deleted)
        except StorageError:
            log.exception("retention run failed; trying again later")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), settings.interval_s)


class ReplayStore(ReadingWriter, Quarantine, Protocol):
    """Where replayed readings go (the writer) and where their entries leave (the quarantine)."""


def replay(
    store: ReplayStore, entries: Sequence[QuarantineEntry], *, max_bytes: int
) -> tuple[int, int]:
    """Validate quarantined messages again; store those now valid and drop them from quarantine.

    Returns:
        (replayed, still invalid).
    """
    good: list[StoredReading] = []
    done: list[int] = []
    for entry in entries:
        item = classify(entry.topic, entry.payload, max_bytes=max_bytes)
        if isinstance(item, StoredReading) and entry.entry_id is not None:
            good.append(item)
            done.append(entry.entry_id)
    if good:
        store.write_batch(good)
        store.delete_quarantine(done)
    return len(done), len(entries) - len(done)
