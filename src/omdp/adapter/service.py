"""The adapter process: read the meter, map, keep durably, publish (AD-1..AD-6).

Every reading goes into a small SQLite outbox on disk before anything is published, and leaves
it only once the broker has acknowledged it (QoS 1). Readings taken while the broker is
unreachable are therefore published later, in order, none lost; the outbox is bounded and warns
as it fills. The outbox and the forwarder are :mod:`omdp.delivery`'s (one store-and-forward
implementation for the whole platform); the adapter's sink publishes on the adapter topic
``smartMeterMessage/{meterIndividualId}/readings`` unchanged (AD-6).

Each adapter has its own outbox, by default ``{meterIndividualId}.outbox.sqlite3`` in its state
folder, locked against a second process. The outbox also keeps, in the transaction of each
reading, its ``sequenceNumber`` and time, so that the numbering goes on across restarts:

``sequenceNumber`` numbers the meter's expected readings, not only those taken. When a sample
arrives more than :data:`MISSED_AFTER` intervals after the previous one (a poll unanswered, a
telegram garbled, the adapter stopped or dead meanwhile), the readings that should have been
there are counted as missed (``stats.missed``, a WARNING) and their numbers are skipped. A
reading the full outbox could not keep leaves its number unused too. So the cloud sees every
missing reading as a gap in a meter's sequence numbers (``GET /v1/meterHealth``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from omdp.adapter.mapping import Mapper
from omdp.adapter.readings import ReadingFactory
from omdp.adapter.samples import MeterSample
from omdp.adapter.sources import MeterSource, open_source
from omdp.catalog import Catalog
from omdp.delivery.forwarder import Forwarder
from omdp.delivery.sink import MqttSink, Sink
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.domain.adapter_file import AdapterConfigFile
from omdp.domain.reading import MeterReading
from omdp.errors import ConfigError
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings
from omdp.topics import adapter_topic

log = logging.getLogger(__name__)

WARN_FILL = 0.8
"""Warn once the outbox is this full."""
MISSED_AFTER = 1.75
"""A sample this many intervals after the previous one means readings were missed."""
SEQUENCE, LAST_AT = "sequence", "lastReadingAt"
"""Keys of the outbox state: the last sequence number kept, and its Unix time."""


def missed_between(last: float | None, now: float, interval: float | None) -> int:
    """How many readings of a meter read every ``interval`` s should lie between two samples."""
    if last is None or interval is None or interval <= 0:
        return 0
    gap = now - last
    if gap < MISSED_AFTER * interval:
        return 0
    return max(0, round(gap / interval) - 1)


class AdapterSink(MqttSink):
    """Publishes outbox entries on their own topic: the adapter's topics are final."""

    def cloud_topic(self, topic: str) -> str:
        """The topic is already the adapter topic (AD-6)."""
        return topic


def broker_settings(config: AdapterConfigFile) -> MqttSettings:
    """The MQTT settings of the adapter file's Broker and CloudAuth sections."""
    if config.broker is None:
        msg = "the adapter configuration has no Broker section: where should readings go?"
        raise ConfigError(msg)
    broker, auth = config.broker, config.cloud_auth
    return MqttSettings(
        host=broker.host,
        port=broker.port,
        protocol=broker.protocol,
        tls=broker.tls,
        ca_file=Path(broker.ca_file) if broker.ca_file else None,
        username=auth.username,
        password=auth.password or auth.token,
        keepalive=broker.keepalive,
        client_id=broker.client_id,
    )


@dataclass(slots=True)
class AdapterStats:
    """What the adapter did so far."""

    readings: int = 0
    dropped_full: int = 0
    unmapped: int = 0
    missed: int = 0
    """Readings expected by the meter's interval that were never taken (numbers skipped)."""


class Adapter:
    """One meter, one adapter: source -> mapper -> reading -> outbox -> broker."""

    def __init__(
        self,
        config: AdapterConfigFile,
        *,
        catalog: Catalog,
        base_dir: Path,
        source: MeterSource | None = None,
        log_readings: bool = False,
        state_dir: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if config.meter is None and source is None:
            msg = "the adapter configuration has no Meter section: which meter should be read?"
            raise ConfigError(msg)
        self.config = config
        self.topic = adapter_topic(config.meter_individual_id)
        self.mapper = Mapper(config.operational_property_mapping, config.static_values, catalog)
        options = config.adapter
        try:
            zone = ZoneInfo(options.timezone)
        except (KeyError, ValueError) as exc:
            msg = f"Adapter.timezone {options.timezone!r} is not an IANA timezone"
            raise ConfigError(msg) from exc
        self.factory = ReadingFactory(
            config.meter_individual_id,
            catalog,
            timezone=zone,
            max_clock_skew=timedelta(seconds=options.max_clock_skew_s),
            household_id=options.household_id,
        )
        self.source = source
        if options.outbox_path:
            self.outbox_path = base_dir / options.outbox_path
        else:
            folder = state_dir or base_dir
            self.outbox_path = folder / f"{config.meter_individual_id}.outbox.sqlite3"
        self.outbox_max = options.outbox_max_messages
        self.log_readings = log_readings
        self.clock = clock
        self.interval = config.meter.interval if config.meter is not None else None
        self.stats = AdapterStats()
        self.outbox: SqliteOutbox | None = None
        self.forwarder: Forwarder | None = None
        self.last_at: float | None = None
        self._warned_full = False

    def _source(self, broker: MqttSettings | None) -> MeterSource:
        if self.source is None:
            assert self.config.meter is not None  # noqa: S101 - checked in __init__
            self.source = open_source(
                self.config.meter, name=self.config.meter_individual_id, broker=broker
            )
        return self.source

    def reading_of(self, sample: MeterSample) -> MeterReading:
        """Map one sample and build its reading (used by ``--once`` and the loop)."""
        mapped = self.mapper.map(sample)
        if mapped.missing:
            self.stats.unmapped += len(mapped.missing)
            log.debug("values not in this sample: %s", ", ".join(mapped.missing))
        for problem in mapped.unconvertible:
            log.warning("unit not convertible, value skipped: %s", problem)
        return self.factory.build(sample, mapped)

    async def read_once(self, *, timeout: float = 60.0) -> MeterReading:
        """Read the meter once and return the reading, publishing nothing."""
        source = self._source(broker_settings(self.config) if self.config.broker else None)
        async with asyncio.timeout(timeout):
            async for sample in source.samples():
                return self.reading_of(sample)
        msg = "the meter source ended without a sample"
        raise ConfigError(msg)

    def _count_missed(self, now: float) -> None:
        missed = missed_between(self.last_at, now, self.interval)
        if not missed:
            return
        self.stats.missed += missed
        self.factory.sequence += missed
        assert self.last_at is not None  # noqa: S101 - missed_between needs it
        log.warning(
            "%d reading(s) missed: %.0f s since the last one, the meter's interval is %g s "
            "(%d missed so far); sequence numbers %d-%d skipped",
            missed,
            now - self.last_at,
            self.interval,
            self.stats.missed,
            self.factory.sequence - missed + 1,
            self.factory.sequence,
            extra={"meter_id": self.config.meter_individual_id},
        )

    async def _keep(self, outbox: SqliteOutbox, forwarder: Forwarder, sample: MeterSample) -> None:
        now = self.clock()
        self._count_missed(now)
        reading = self.reading_of(sample)
        self.last_at = now
        depth = outbox.depth()
        if depth >= self.outbox_max:
            self.stats.dropped_full += 1
            log.error(
                "outbox full (%d readings, broker unreachable?): reading %s NOT kept",
                depth,
                reading.meter_reading_identifier,
            )
            return
        if depth >= WARN_FILL * self.outbox_max and not self._warned_full:
            log.warning(
                "outbox %d%% full (%d of %d)",
                100 * depth // self.outbox_max,
                depth,
                self.outbox_max,
            )
            self._warned_full = True
        elif depth < WARN_FILL * self.outbox_max / 2:
            self._warned_full = False
        state = {SEQUENCE: str(reading.sequence_number), LAST_AT: repr(now)}
        await outbox.append([(self.topic, reading.to_json())], state=state)
        forwarder.wake()
        self.stats.readings += 1
        if self.log_readings:
            values = ", ".join(
                f"{v.property_id}={v.numerical_value if v.text_value is None else v.text_value}"
                f"{' ' + v.unit if v.unit else ''}"
                for v in reading.property_values
            )
            log.info(
                "reading %s at %s: %s%s",
                reading.sequence_number,
                reading.reading_time.isoformat(),
                values,
                f" fault={reading.fault_code}" if reading.fault_code else "",
                extra={"meter_id": self.config.meter_individual_id, "topic": self.topic},
            )

    async def run(self, *, sink: Sink | None = None) -> None:
        """Read, keep and publish until cancelled.

        Args:
            sink: Where the outbox's readings go; default the broker of the file's Broker
                section. An edge running this adapter in its own process passes a sink that
                hands readings to its outbox (adapter and edge on one device).
        """
        broker = broker_settings(self.config) if sink is None or self.config.broker else None
        source = self._source(broker)
        self.outbox_path.parent.mkdir(parents=True, exist_ok=True)
        outbox = await SqliteOutbox.open(self.outbox_path)
        self.outbox = outbox
        state = await outbox.state()
        self.factory.sequence = int(state.get(SEQUENCE, "0"))
        self.last_at = float(state[LAST_AT]) if LAST_AT in state else None
        client: MqttClient | None = None
        try:
            if sink is None:
                settings = broker if broker is not None else broker_settings(self.config)
                client_id = settings.client_id or f"omdp-adapter-{self.config.meter_individual_id}"
                client = MqttClient(
                    settings, client_id=client_id, clean_start=False, require_subscribers=True
                )
                await client.connect(wait=False)  # readings are kept while the broker is away
                sink = AdapterSink(client, "-")
                where = f"{settings.host}:{settings.port}"
            else:
                where = "the edge in this process"
            forwarder = Forwarder(outbox, sink)
            self.forwarder = forwarder
            log.info(
                "adapter for %s: publishing on %s to %s (outbox %s, %d waiting, next sequence "
                "number %d)",
                self.config.meter_individual_id,
                self.topic,
                where,
                self.outbox_path,
                outbox.depth(),
                self.factory.sequence + 1,
            )
            async with asyncio.TaskGroup() as tg:
                forwarding = tg.create_task(forwarder.run())
                try:
                    async for sample in source.samples():
                        await self._keep(outbox, forwarder, sample)
                finally:
                    await forwarder.stop()
                    forwarding.cancel()
        finally:
            if client is not None:
                await client.close()
            self.outbox = None
            await outbox.close()


def adapter_status(adapter: Adapter) -> dict[str, float | int | str | None]:
    """What an adapter did so far, for its metrics port and logs."""
    outbox, forwarder, source = adapter.outbox, adapter.forwarder, adapter.source
    now = adapter.clock()
    oldest = outbox.oldest_received() if outbox is not None else None
    stats = source.stats if source is not None else None
    return {
        "meterId": adapter.config.meter_individual_id,
        "readings": adapter.stats.readings,
        "missed": adapter.stats.missed,
        "droppedFull": adapter.stats.dropped_full,
        "unmapped": adapter.stats.unmapped,
        "sequence": adapter.factory.sequence,
        "lastReadingAgeS": round(now - adapter.last_at, 3) if adapter.last_at else None,
        "intervalS": adapter.interval,
        "outboxDepth": outbox.depth() if outbox is not None else 0,
        "outboxOldestAgeS": round(now - oldest, 3) if oldest is not None else 0.0,
        "published": forwarder.stats.acked if forwarder is not None else 0,
        "sourceReads": stats.reads if stats else 0,
        "sourceOk": stats.ok if stats else 0,
        "sourceDecodeErrors": stats.decode_errors if stats else 0,
        "sourceTimeouts": stats.timeouts if stats else 0,
        "sourceReconnects": stats.reconnects if stats else 0,
    }
