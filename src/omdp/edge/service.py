"""The edge service: intake -> durable outbox -> sink, plus live values and local alerts.

Data path (every message, whatever its source):

1. the local subscriber (:mod:`omdp.edge.ingress`) or :meth:`EdgeService.submit` hands a chunk
   of ``(topic, payload)`` pairs to the writer's bounded queue;
2. the writer merges waiting chunks into one batch (up to ``outbox_batch``), commits it in one
   fsync'd transaction, and only then acknowledges each message to its source;
3. the forwarder (:mod:`omdp.delivery.forwarder`) sends the outbox in id order to the sink and
   deletes what the sink acknowledged;
4. after the commit, the live task parses readings for the app and the rules; parsing never
   changes what is forwarded (a malformed payload is forwarded unchanged and counted).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from omdp.delivery.cloud_sink import CloudSink
from omdp.delivery.forwarder import Forwarder
from omdp.delivery.outbox import Outbox
from omdp.delivery.sink import Sink
from omdp.domain.fast_reading import live_values
from omdp.domain.validation import parse_reading
from omdp.edge.ingress import Done, LocalSubscriber
from omdp.edge.live import LiveState, numeric_values
from omdp.edge.metrics import EdgeCounters, prometheus_registry
from omdp.edge.rules import Alert, RuleEngine
from omdp.edge.settings import EdgeSettings
from omdp.edge.store_sink import StoreSink
from omdp.edge.stream import Broadcaster
from omdp.errors import TopicError, ValidationFailure
from omdp.topics import READINGS, alert_topic, parse_adapter_topic

log = logging.getLogger(__name__)

Items = list[tuple[str, bytes]]
RESUME_RATIO = 0.95
"""After back-pressure, intake resumes when the outbox is below this share of its capacity."""


@dataclass(slots=True)
class _Chunk:
    items: Items
    done: Done | None = None


class EdgeService:
    """One concentrator. Build its adapters, then ``await service.run()``; stop with ``stop()``."""

    def __init__(
        self,
        settings: EdgeSettings,
        *,
        outbox: Outbox,
        sink: Sink,
        local: LocalSubscriber | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.sink = sink
        self.local = local
        self.clock = clock
        self.started = clock()
        self.counters = EdgeCounters()
        self.live = LiveState(settings.timezone)
        self.rules = RuleEngine(settings.rules, recent=settings.recent_alerts, start=self.started)
        self.stream = Broadcaster()
        receipted = isinstance(sink, CloudSink)
        self.forwarder = Forwarder(
            outbox,
            sink,
            batch=settings.outbox_batch,
            delete_batch=settings.outbox_batch,
            settle_timeout=settings.receipt_timeout_s + 5 if receipted else 30.0,
            max_backoff=60.0 if receipted else 30.0,
        )
        self.registry = prometheus_registry(self.status)
        self.room = asyncio.Event()
        self.room.set()
        self._queue: asyncio.Queue[_Chunk] = asyncio.Queue(maxsize=64)
        self._live: asyncio.Queue[Items] = asyncio.Queue(maxsize=256)
        self._pending = 0  # messages queued for the outbox or being written, not committed yet
        self._pending_bytes = 0
        self._stop = asyncio.Event()
        self._warned = False
        self._meters: dict[str, str | None] = {}
        self._pending_alert_tasks: set[asyncio.Task[None]] = set()
        self.running = False

    # -- intake --------------------------------------------------------------------------------

    async def accept(self, items: Items, done: Done | None = None) -> None:
        """Queue a chunk for the outbox; ``done`` is called after its commit (or failure).

        The chunk counts against the outbox bound from now on, not only once committed: intake
        pauses when what is stored plus what is on its way reaches ``outbox_max_messages`` (or
        ``outbox_max_bytes``). A message above ``max_message_bytes`` is dropped, counted and
        logged: it would be quarantined unread by the cloud anyway.
        """
        items = self._within_size(items)
        if not items:
            if done is not None:
                done(None)
            return
        self._pending += len(items)
        self._pending_bytes += sum(len(p) for _t, p in items)
        self._check_room()
        await self._queue.put(_Chunk(items, done))

    def _within_size(self, items: Items) -> Items:
        limit = self.settings.max_message_bytes
        if all(len(payload) <= limit for _topic, payload in items):
            return items
        kept = []
        for topic, payload in items:
            if len(payload) <= limit:
                kept.append((topic, payload))
                continue
            self.counters.oversized += 1
            if self.counters.oversized <= 10 or self.counters.oversized % 1000 == 0:
                log.warning(
                    "dropped a message of %d bytes on %s, larger than max_message_bytes (%d); "
                    "%d dropped so far",
                    len(payload),
                    topic,
                    limit,
                    self.counters.oversized,
                    extra={"topic": topic},
                )
        return kept

    async def submit(self, topic: str, payload: bytes) -> None:
        """Hand one adapter message in-process (adapter and edge on one device).

        Goes through the same outbox path with the same guarantees as a message from the local
        broker: returns once the message is durable; waits while the outbox is full.

        Raises:
            TopicError: ``topic`` is not ``smartMeterMessage/{smartMeterId}/{specificTopic}``.
        """
        parse_adapter_topic(topic)
        await self.room.wait()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done(error: BaseException | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        await self.accept([(topic, payload)], done)
        await future

    async def _write_forever(self) -> None:
        limit = self.settings.outbox_batch
        while True:
            chunks = [await self._queue.get()]
            count = len(chunks[0].items)
            while count < limit and not self._queue.empty():
                chunk = self._queue.get_nowait()
                chunks.append(chunk)
                count += len(chunk.items)
            items = [item for chunk in chunks for item in chunk.items]
            try:
                last = await self.outbox.append(items)
            except Exception as exc:
                for chunk in chunks:
                    if chunk.done is not None:
                        chunk.done(exc)
                raise
            finally:
                self._pending -= len(items)
                self._pending_bytes -= sum(len(p) for _t, p in items)
            self.counters.messages_in += len(items)
            self.forwarder.offer(last - len(items) + 1, items)
            for chunk in chunks:
                if chunk.done is not None:
                    chunk.done(None)
            self._check_room()
            try:
                self._live.put_nowait(items)
            except asyncio.QueueFull:
                self.counters.live_dropped += len(items)

    def _check_room(self) -> None:
        depth, cap = self.outbox.depth(), self.settings.outbox_max_messages
        held = depth + self._pending  # stored, or taken and on its way to the outbox
        size, max_bytes = self.outbox.bytes_held(), self.settings.outbox_max_bytes
        held_bytes = size + self._pending_bytes
        full = held >= cap or held_bytes >= max_bytes
        if full and self.room.is_set():
            self.room.clear()
            self.counters.backpressure += 1
            log.warning(
                "outbox full (%d of %d messages, %d of %d bytes, %d being written): intake "
                "paused, the local broker keeps new readings",
                depth,
                cap,
                size,
                max_bytes,
                self._pending,
            )
        elif (
            held < cap * RESUME_RATIO
            and held_bytes < max_bytes * RESUME_RATIO
            and not self.room.is_set()
        ):
            self.room.set()
        warn = depth >= cap * self.settings.outbox_warn_ratio
        if warn and not self._warned:
            log.warning("outbox %.0f%% full (%d of %d messages)", 100 * depth / cap, depth, cap)
        elif not warn and self._warned:
            log.info("outbox back below %.0f%%", 100 * self.settings.outbox_warn_ratio)
        self._warned = warn

    # -- live data and alerts ------------------------------------------------------------------

    def _meter_of(self, topic: str) -> str | None:
        meter = self._meters.get(topic, "")
        if meter == "":
            try:
                parsed = parse_adapter_topic(topic)
                meter = parsed.smart_meter_id if parsed.specific_topic == READINGS else None
            except TopicError:
                meter = None
            if len(self._meters) > 65_536:
                self._meters.clear()
            self._meters[topic] = meter
        return meter

    def observe(self, topic: str, payload: bytes) -> None:
        """Update live values and rules from one stored message (never affects forwarding)."""
        meter = self._meter_of(topic)
        if meter is None:
            return
        now = self.clock()
        fast = live_values(payload)
        if fast is not None:
            reading_time, numeric = fast
            live = self.live.update_values(
                meter, topic, reading_time, numeric, payload=payload, now=now
            )
        else:
            try:
                reading = parse_reading(payload, source=topic)
            except ValidationFailure as exc:
                self.counters.malformed += 1
                if self.counters.malformed <= 10 or self.counters.malformed % 1000 == 0:
                    log.warning(
                        "malformed reading forwarded unchanged (%d so far): %s",
                        self.counters.malformed,
                        str(exc).splitlines()[0],
                        extra={"meter_id": meter, "topic": topic},
                    )
                return
            numeric = numeric_values(reading)
            live = self.live.update_values(
                meter, topic, reading.reading_time, numeric, payload=payload, now=now
            )
            live.parsed = reading
        values = {prop: value for prop, (value, _unit) in numeric.items()}
        self._alerts(self.rules.observe(meter, values, now))
        if self.stream.subscribers:
            self.stream.publish("reading", self.live.summary(live, now), meter)

    def _alerts(self, alerts: list[Alert]) -> None:
        if not alerts:
            return
        items: Items = []
        for alert in alerts:
            doc = alert.to_dict()
            if alert.state == "raised":
                self.counters.alerts_raised += 1
                log.warning("alert raised: %s", alert.message, extra={"meter_id": alert.meter_id})
            else:
                self.counters.alerts_cleared += 1
                log.info("alert cleared: %s", alert.message, extra={"meter_id": alert.meter_id})
            self.stream.publish("alert", doc, alert.meter_id)
            topic = alert_topic(self.settings.concentrator_id, alert.rule_id, alert.meter_id)
            items.append((topic, orjson.dumps(doc)))
        try:  # alerts go to the cloud through the outbox too
            self._queue.put_nowait(_Chunk(items))
            self._pending += len(items)
            self._pending_bytes += sum(len(p) for _t, p in items)
        except asyncio.QueueFull:
            task = asyncio.get_running_loop().create_task(self.accept(items))
            self._pending_alert_tasks.add(task)
            task.add_done_callback(self._pending_alert_tasks.discard)

    async def _observe_forever(self) -> None:
        while True:
            items = await self._live.get()
            for topic, payload in items:
                try:
                    self.observe(topic, payload)
                except Exception:  # live data and rules never take forwarding down
                    self.counters.malformed += 1
                    log.exception("live data could not read a message", extra={"topic": topic})

    async def _tick_forever(self, period: float = 1.0) -> None:
        while True:
            await asyncio.sleep(period)
            self._alerts(self.rules.tick(self.clock()))
            self._check_room()

    # -- lifecycle -----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until :meth:`stop`: intake, outbox writer, forwarder, live data, rules."""
        self.running = True
        try:
            async with asyncio.TaskGroup() as tg:
                helpers = [
                    tg.create_task(self._write_forever()),
                    tg.create_task(self._observe_forever()),
                    tg.create_task(self._tick_forever()),
                ]
                forwarder = tg.create_task(self.forwarder.run())
                intake = tg.create_task(self.local.run()) if self.local is not None else None
                await self._stop.wait()
                if intake is not None:  # unacked messages stay with the local broker
                    intake.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await intake
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._drain_queue(), 10)
                await self.forwarder.stop(timeout=5)
                await forwarder
                for task in helpers:
                    task.cancel()
        finally:
            self.running = False
            self.stream.close()

    async def _drain_queue(self) -> None:
        while not self._queue.empty():
            await asyncio.sleep(0.01)

    def stop(self) -> None:
        """Ask :meth:`run` to finish: stop intake, settle the window, return."""
        self._stop.set()

    # -- status --------------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        """Counters and state, as served on ``/v1/status`` (and ``/metrics``).

        ``sink`` says where the outbox goes (:func:`sink_status`); ``messages.out`` counts
        what the sink confirmed (with receipts: what the cloud committed), and
        ``outbox.oldestAgeS`` is the age of the oldest message not confirmed yet. ``cloud``
        repeats its ``connected`` and ``reconnects`` for the readers from before ``sink``; with
        a store rather than a cloud broker those describe the store.
        """
        now = self.clock()
        oldest = self.outbox.oldest_received()
        local = self.local
        link = {"connected": self.sink.connected, "reconnects": self.sink.reconnects}
        return {
            "concentratorId": self.settings.concentrator_id,
            "uptimeS": round(now - self.started, 3),
            "local": {
                "connected": local.connected if local is not None else False,
                "reconnects": local.reconnects if local is not None else 0,
            },
            "sink": sink_status(self.sink),
            "cloud": link,
            "outbox": {
                "depth": self.outbox.depth(),
                "max": self.settings.outbox_max_messages,
                "bytes": self.outbox.bytes_held(),
                "maxBytes": self.settings.outbox_max_bytes,
                "oldestAgeS": round(now - oldest, 3) if oldest is not None else 0.0,
                "full": not self.room.is_set(),
                "backpressureEvents": self.counters.backpressure,
            },
            "messages": {
                "in": self.counters.messages_in,
                "out": self.forwarder.stats.acked,
                "inflight": self.forwarder.inflight,
                "malformed": self.counters.malformed,
                "oversized": self.counters.oversized,
                "rejectedTopics": local.rejected if local is not None else 0,
                "liveDropped": self.counters.live_dropped,
            },
            "alerts": {
                "active": len(self.rules.active),
                "raised": self.counters.alerts_raised,
                "cleared": self.counters.alerts_cleared,
            },
            "stream": {"subscribers": self.stream.subscribers, "dropped": self.stream.dropped},
            "meters": len(self.live.meters),
        }


def sink_status(sink: Sink) -> dict[str, Any]:
    """The ``sink`` part of the status: its kind, link state, and a store's counts.

    ``kind`` is ``store`` for the no-cloud edge's own store (:class:`StoreSink`), with what it
    did so far; ``cloud-broker`` otherwise.
    """
    link = {"connected": sink.connected, "reconnects": sink.reconnects}
    if isinstance(sink, CloudSink):
        return {"kind": "cloud-broker", **link, "receipts": sink.status()}
    if not isinstance(sink, StoreSink):
        return {"kind": "cloud-broker", **link, "receipts": None}
    stats = sink.stats
    return {
        "kind": "store",
        **link,
        "stored": stats.stored,
        "duplicates": stats.duplicates,
        "quarantined": stats.quarantined,
        "alertsSkipped": stats.alerts,
        "batches": stats.batches,
        "writeErrors": stats.errors,
    }
