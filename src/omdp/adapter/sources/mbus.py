"""Polled wired M-Bus: REQ_UD2 (multi-telegram readout) through :class:`~omdp.mbus.MBusMaster`.

Each record becomes a :class:`~omdp.adapter.samples.SourceValue` matched by ``quantity``,
``function``, ``storage``, ``tariff``, ``subunit`` and ``unit`` (see
:class:`~omdp.adapter.selectors.RecordSelector`); text and manufacturer records are left out.
The "Time point" date-time record of storage 0 is the meter's clock (``meter_time``, read in
the configured zone); header status bits are the meter's fault (``MBUS_STATUS_0x04``: power
low); the header's identification number is ``meter_serial``.

One bus serves one request at a time: :class:`MBusBus` holds the master and a lock, and each
meter on it gets its own :class:`MBusSource` with its own interval.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, tzinfo
from types import TracebackType

from omdp.adapter.samples import MeterSample, SourceValue, plain_number
from omdp.adapter.sources.base import Backoff, SourceStats, report
from omdp.decoders.mbus import DateTimeValue, Frame
from omdp.errors import ConfigError, DecodeError
from omdp.mbus import MBusMaster, MBusTimeoutError, MBusTransportError, Transport

log = logging.getLogger(__name__)

#: status bits that mean an error (EN 13757-3 6.4: application busy/error, power low,
#: permanent and temporary error); bits 5-7 are the manufacturer's
STATUS_ERROR_BITS = 0x1F
_SECONDARY_RE = re.compile(r"^[0-9Ff]{8}$")
_SKIPPED = frozenset({"moreRecordsFollow", "manufacturerSpecific"})


def parse_address(text: str) -> int | str:
    """A primary address (0-250) as int, a secondary one (8 digits, F wildcards) as text.

    Raises:
        ConfigError: neither.
    """
    text = text.strip()
    if _SECONDARY_RE.match(text):
        return text.upper()
    if text.isdigit() and int(text) <= 250:
        return int(text)
    msg = f"M-Bus address {text!r} is neither primary (0-250) nor secondary (8 digits)"
    raise ConfigError(msg)


def _clock(value: DateTimeValue, tz: tzinfo) -> datetime | None:
    naive = value.to_datetime()
    if naive is None:
        return None
    # the SU bit tells which of a repeated autumn hour the meter means
    return naive.replace(tzinfo=tz, fold=0 if value.summer_time else 1)


def sample_from_frames(frames: Sequence[Frame], *, tz: tzinfo = UTC) -> MeterSample:
    """The telegrams of one readout as one sample.

    Args:
        frames: the RSP_UD telegrams, in order.
        tz: the zone of the meter's own clock.

    Returns:
        Numeric records as values; the meter clock, the status fault and the serial number.
    """
    values: list[SourceValue] = []
    meter_time: datetime | None = None
    fault: str | None = None
    serial: str | None = None
    for frame in frames:
        header = frame.header
        if header is not None:
            serial = serial or header.id
            if fault is None and header.status and header.status & STATUS_ERROR_BITS:
                fault = f"MBUS_STATUS_0x{header.status:02X}"
        for record in frame.records:
            if record.function in _SKIPPED:
                continue
            if isinstance(record.value, DateTimeValue):
                is_clock = record.quantity.startswith("Time point") and record.storage_number == 0
                if is_clock and meter_time is None:
                    meter_time = _clock(record.value, tz)
                continue
            number = plain_number(record.value)
            if number is None or isinstance(number, str):
                continue
            fields: dict[str, str | int] = {
                "quantity": record.quantity,
                "function": record.function,
                "storage": record.storage_number,
                "tariff": record.tariff,
                "subunit": record.subunit,
                "unit": record.unit,
            }
            values.append(SourceValue(fields, number, record.unit or None, None))
    return MeterSample(tuple(values), meter_time=meter_time, fault=fault, meter_serial=serial)


class MBusBus:
    """One M-Bus master on one bus, shared by its meters: one request at a time.

    Use ``async with MBusBus(transport) as bus`` and ``bus.source(...)`` per meter; the link
    opens on the first read and reopens after a failure.
    """

    def __init__(
        self,
        transport: Transport,
        *,
        timeout: float = 1.0,
        retries: int = 3,
        max_telegrams: int = 32,
    ) -> None:
        """Configure the bus.

        Args:
            transport: the link (TCP gateway or serial level converter).
            timeout: seconds to wait for each answer.
            retries: repetitions of an unanswered request.
            max_telegrams: most telegrams read from one meter in one readout.
        """
        self.master = MBusMaster(
            transport, timeout=timeout, retries=retries, max_telegrams=max_telegrams
        )
        self._lock = asyncio.Lock()
        self._open = False

    async def read(
        self, address: int | str, *, on_garbled: Callable[[int], None] | None = None
    ) -> list[Frame]:
        """Read all telegrams of one meter.

        Args:
            address: primary (int) or secondary (8 digits) address.
            on_garbled: told how many answers were garbled (and repeated) during this read,
                whether it succeeded or not.

        Raises:
            MBusTransportError: the link failed (it is closed and reopened on the next read).
            MBusTimeoutError: the meter did not answer validly after all retries.
            DecodeError: an answer was a valid frame but not a readable RSP_UD.
        """
        async with self._lock:
            if not self._open:
                await self.master.transport.open()
                self._open = True
            garbled = self.master.garbled
            try:
                if isinstance(address, str):
                    return await self.master.read_secondary(address)
                return await self.master.read(address)
            except MBusTransportError:
                await self._close()
                raise
            finally:
                if on_garbled is not None and self.master.garbled > garbled:
                    on_garbled(self.master.garbled - garbled)

    async def _close(self) -> None:
        self._open = False
        await self.master.transport.close()

    async def close(self) -> None:
        """Close the link (after a read in progress)."""
        async with self._lock:
            await self._close()

    async def __aenter__(self) -> MBusBus:
        return self

    async def __aexit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        await self.close()

    def source(
        self,
        name: str,
        address: str | int,
        *,
        interval: float = 60.0,
        tz: tzinfo = UTC,
        backoff: Backoff | None = None,
    ) -> MBusSource:
        """A source for one meter on this bus (the bus stays open when the source ends).

        Raises:
            ConfigError: the address is neither primary nor secondary.
        """
        parsed = parse_address(str(address))
        return MBusSource(name, self, parsed, interval=interval, tz=tz, backoff=backoff)


class MBusSource:
    """One M-Bus meter, read every ``interval`` seconds."""

    def __init__(
        self,
        name: str,
        bus: MBusBus,
        address: int | str,
        *,
        interval: float = 60.0,
        tz: tzinfo = UTC,
        backoff: Backoff | None = None,
        owns_bus: bool = False,
    ) -> None:
        """Configure the source; use :meth:`MBusBus.source` or the factory.

        Args:
            name: the source's name in logs and metrics.
            bus: the bus the meter is on.
            address: primary (int) or secondary (8 digits) address.
            interval: seconds between reads.
            tz: zone of the meter's clock.
            backoff: delays after a link failure.
            owns_bus: close the bus when iteration ends.
        """
        self.name = name
        self.stats = SourceStats()
        self.bus = bus
        self.address = address
        self._interval = interval
        self._tz = tz
        self._backoff = backoff or Backoff()
        self._owns_bus = owns_bus

    def _garbled(self, count: int) -> None:
        self.stats.decode_errors += count
        reason = f"{count} garbled answer(s) from address {self.address}; request repeated"
        report(self.name, self.stats, "answer dropped", reason)

    async def samples(self) -> AsyncIterator[MeterSample]:
        """Read the meter every interval and yield a sample per good readout, for ever."""
        loop = asyncio.get_running_loop()
        next_at = loop.time()
        link_lost = False
        try:
            while True:
                await asyncio.sleep(max(0.0, next_at - loop.time()))
                next_at = max(next_at + self._interval, loop.time())
                self.stats.reads += 1
                try:
                    frames = await self.bus.read(self.address, on_garbled=self._garbled)
                except MBusTransportError as exc:
                    link_lost = True
                    report(self.name, self.stats, "link lost", exc)
                    await self._backoff.wait()
                    next_at = loop.time()
                    continue
                except MBusTimeoutError as exc:
                    self.stats.timeouts += 1
                    report(self.name, self.stats, "timeout", exc)
                    continue
                except DecodeError as exc:
                    self.stats.decode_errors += 1
                    report(self.name, self.stats, "answer dropped", exc)
                    continue
                if link_lost:
                    self.stats.reconnects += 1
                    link_lost = False
                self._backoff.reset()
                self.stats.ok += 1
                yield sample_from_frames(frames, tz=self._tz)
        finally:
            if self._owns_bus:
                await self.bus.close()
