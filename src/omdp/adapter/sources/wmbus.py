"""Wireless M-Bus: one receiver, many meters, each its own source (``Meter.kind: wmbus``).

A :class:`WMBusReceiver` reads one dongle (iM871A or AMB8465 on a serial line or TCP bridge,
or rtl-wmbus lines on standard input), decodes every telegram it hears, and hands those of the
configured meters to each meter's :class:`RadioMeterSource`, which an adapter reads like any
other :class:`~omdp.adapter.sources.base.MeterSource`. What the receiver does on the way:

- **id filter**: telegrams of meters not configured are counted (``foreign``) and dropped
  before decryption; a configured ``manufacturer`` must match the M-field too;
- **keys**: each meter's own AES key; a telegram it does not decrypt is dropped with the
  reason (wrong or missing key), as is any other bad telegram (CRC, truncated);
- **duplicates**: meters and repeaters send a telegram several times; a telegram whose payload
  equals the meter's previous one within ``duplicate_window`` seconds is dropped (counted);
- **silence**: a meter that sends nothing for its ``silent_after`` seconds is flagged once, by a
  sample with the fault ``WMBUS_SILENT:<seconds>s`` and no values, and logged; the flag clears
  when it is heard again;
- **compact frames** (CI 0x79) decode once the meter's full frame has been heard, or that of
  another meter with the same format (then only when the compact frame's data CRC matches);
  the formats each meter's full frames taught are kept in a state file (``state_path``, JSON,
  mode 600, beside the outbox), so a compact frame right after a restart still decodes.

Values are the meter's data records, matched like wired M-Bus (``mbus:quantity=Volume,...``),
plus a driver's named values (``wmbus:name=total_m3``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, tzinfo
from pathlib import Path

from omdp.adapter.samples import MeterSample, SourceValue, plain_number
from omdp.adapter.sources.base import Backoff, SourceIOError, SourceStats, report
from omdp.adapter.sources.mbus import sample_from_frames
from omdp.adapter.sources.streams import ByteStream
from omdp.decoders.mbus import Frame
from omdp.decoders.wmbus import FormatStore, Telegram, WMBusDecodeError, decode
from omdp.security.keys import write_private
from omdp.wmbus.dongles import DongleDecoder, RadioFrame, make_decoder
from omdp.wmbus.setup import check_link_mode, configure

log = logging.getLogger(__name__)

QUEUE_SIZE = 64
SILENT_FAULT = "WMBUS_SILENT"
STATE_VERSION = 1


@dataclass(frozen=True, slots=True)
class RadioMeterConfig:
    """A meter the receiver listens for."""

    id: str
    name: str
    key: bytes | None = None
    manufacturer: str | None = None
    silent_after: float = 3600.0


@dataclass(slots=True)
class RadioStats:
    """A radio meter's own counters, beside those every source keeps (``stats``)."""

    duplicates: int = 0
    silences: int = 0
    last_heard: float | None = None
    rssi_dbm: float | None = None


def sample_from_telegram(tele: Telegram, *, tz: tzinfo = UTC) -> MeterSample:
    """A decoded telegram as a sample: its records as wired M-Bus, plus driver values."""
    header = tele.tpl.header if tele.tpl else None
    frame = Frame("long", tele.link.control, 0, tele.ci, header, tele.records)
    sample = sample_from_frames([frame], tz=tz)
    extra: list[SourceValue] = []
    for name, value in tele.values.items():
        number = plain_number(value[0] if isinstance(value, tuple) else value)
        if number is None:
            continue
        unit = value[1] if isinstance(value, tuple) else None
        extra.append(SourceValue({"name": name}, number, unit or None, None))
    return MeterSample(
        sample.values + tuple(extra),
        meter_time=sample.meter_time,
        fault=sample.fault,
        meter_serial=tele.id,
        extra={"rssiDbm": tele.rssi_dbm} if tele.rssi_dbm is not None else {},
    )


class RadioMeterSource:
    """One radio meter's samples, as the receiver hands them over."""

    def __init__(self, receiver: WMBusReceiver, config: RadioMeterConfig) -> None:
        """Attach to a receiver (use :meth:`WMBusReceiver.source`)."""
        self.name = config.name
        self.config = config
        self.stats = SourceStats()
        self.radio = RadioStats()
        self.queue: asyncio.Queue[MeterSample] = asyncio.Queue(QUEUE_SIZE)
        self._receiver = receiver
        self.last_payload: bytes | None = None
        self.silent = False

    def offer(self, sample: MeterSample) -> None:
        """Queue a sample; when the adapter lags behind, the oldest is dropped (and logged)."""
        if self.queue.full():
            self.queue.get_nowait()
            report(self.name, self.stats, "sample dropped", "queue full: the adapter lags")
        self.queue.put_nowait(sample)

    async def samples(self) -> AsyncIterator[MeterSample]:
        """Yield the meter's samples for ever (the receiver runs while anyone listens)."""
        async with self._receiver.listening():
            while True:
                yield await self.queue.get()


class WMBusReceiver:
    """One wM-Bus receiver shared by the sources of the meters it hears."""

    def __init__(
        self,
        name: str,
        *,
        connect: Callable[[], Awaitable[ByteStream]],
        dongle: str,
        meters: Sequence[RadioMeterConfig],
        tz: tzinfo = UTC,
        duplicate_window: float = 60.0,
        backoff: Backoff | None = None,
        clock: Callable[[], float] = time.monotonic,
        state_path: Path | None = None,
        link_mode: str | None = None,
    ) -> None:
        """Configure the receiver; nothing opens before a source is read.

        Args:
            name: the receiver's name in logs.
            connect: opens the dongle's link (raises SourceIOError on failure).
            dongle: ``im871a``, ``amb8465`` or ``rtlwmbus``.
            meters: the meters to listen for.
            tz: the zone of the meters' clocks.
            duplicate_window: seconds within which a repeated telegram is a duplicate.
            backoff: reconnect delays.
            clock: monotonic seconds (a fake in tests).
            state_path: where the compact-frame formats the meters taught are kept (JSON,
                mode 600); ``None`` keeps them in memory only.
            link_mode: set in the dongle on every connection (:mod:`omdp.wmbus.setup`);
                ``None`` leaves the dongle as it is.

        Raises:
            ConfigError: a link mode the dongle does not have.
        """
        self.name = name
        self.stats = SourceStats()
        self.foreign = 0
        self._connect = connect
        self._dongle = dongle
        self._tz = tz
        self._window = duplicate_window
        self._backoff = backoff or Backoff()
        self._clock = clock
        self.sources = {m.id.upper(): RadioMeterSource(self, m) for m in meters}
        self._state_path = state_path
        self._formats = self._load_formats()
        self._task: asyncio.Task[None] | None = None
        self._listeners = 0
        self._start: float | None = None
        make_decoder(dongle)  # fail early on an unknown dongle
        check_link_mode(dongle, link_mode)
        self._link_mode = link_mode

    def source(self, meter_id: str) -> RadioMeterSource:
        """The source of one configured meter."""
        return self.sources[meter_id.upper()]

    @contextlib.asynccontextmanager
    async def listening(self) -> AsyncIterator[None]:
        """Keep the receiver running while at least one source is being read."""
        self._listeners += 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self.run(), name=f"wmbus receiver {self.name}")
        try:
            yield
        finally:
            self._listeners -= 1
            if self._listeners == 0 and self._task is not None:
                self._task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task
                self._task = None

    async def run(self) -> None:
        """Read the dongle for ever, reconnecting with back-off; dispatch telegrams."""
        connected_before = False
        while True:
            try:
                stream = await self._connect()
            except SourceIOError as exc:
                report(self.name, self.stats, "link down", exc)
                await self._backoff.wait()
                continue
            if connected_before:
                self.stats.reconnects += 1
            connected_before = True
            log.info("wM-Bus receiver %s: reading %s (%s)", self.name, stream.where, self._dongle)
            try:
                decoder = make_decoder(self._dongle)
                if self._link_mode is not None:
                    await configure(
                        stream, self._dongle, self._link_mode, decoder, on_frame=self.handle
                    )
                await self._read(stream, decoder)
            except SourceIOError as exc:
                report(self.name, self.stats, "link lost", exc)
            finally:
                await stream.close()
            await self._backoff.wait()

    async def _read(self, stream: ByteStream, decoder: DongleDecoder) -> None:
        while True:
            chunk = await stream.read(1.0)
            self.check_silence()
            if not chunk:
                continue
            received = decoder.feed(chunk)
            for problem in received.problems:
                self.stats.decode_errors += 1
                report(self.name, self.stats, "receiver frame dropped", problem)
            for frame in received.frames:
                self.handle(frame)
                self._backoff.reset()

    def handle(self, frame: RadioFrame) -> None:
        """Decode one telegram and hand it to its meter's source (or count why not)."""
        self.stats.reads += 1
        if len(frame.data) < 10:
            self.stats.decode_errors += 1
            report(self.name, self.stats, "telegram dropped", "shorter than a link header")
            return
        ident = bytes(frame.data[4:8])[::-1].hex().upper()
        source = self.sources.get(ident)
        if source is None:
            self.foreign += 1
            log.debug("wM-Bus receiver %s: telegram of meter %s ignored", self.name, ident)
            return
        stats, radio = source.stats, source.radio
        stats.reads += 1
        now = self._clock()
        repeated = frame.data == source.last_payload and radio.last_heard is not None
        if repeated and now - (radio.last_heard or 0.0) < self._window:
            radio.duplicates += 1
            radio.last_heard = now
            return
        formats = self._formats[ident]
        learnt = formats.revision
        try:
            tele = decode(
                frame.data,
                key=source.config.key,
                formats=formats,
                rssi_dbm=frame.rssi_dbm,
            )
        except WMBusDecodeError as exc:
            stats.decode_errors += 1
            report(source.name, stats, "telegram dropped", exc)
            return
        want = source.config.manufacturer
        if want is not None and tele.manufacturer != want.upper():
            stats.decode_errors += 1
            reason = f"manufacturer {tele.manufacturer}, configured {want.upper()}"
            report(source.name, stats, "telegram dropped", reason)
            return
        if formats.revision != learnt:
            self._save_formats()
        source.last_payload = frame.data
        radio.last_heard = now
        radio.rssi_dbm = frame.rssi_dbm
        for warning in tele.warnings:
            log.info("meter %s: %s", source.name, warning, extra={"meter_id": source.name})
        if not tele.records and not tele.values:
            return  # e.g. a compact frame before its full frame: nothing to publish yet
        if source.silent:
            source.silent = False
            log.info("meter %s sends again", source.name, extra={"meter_id": source.name})
        stats.ok += 1
        source.offer(sample_from_telegram(tele, tz=self._tz))

    def _load_formats(self) -> dict[str, FormatStore]:
        """Each meter's learnt formats from the state file (none when absent or unreadable)."""
        known: dict[str, list[str]] = {}
        path = self._state_path
        if path is not None and path.exists():
            try:
                doc = json.loads(path.read_text(encoding="utf-8"))
                known = {str(k).upper(): list(v) for k, v in doc["formats"].items()}
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("wM-Bus receiver %s: state %s not read: %s", self.name, path, exc)
        shared = FormatStore()  # what any meter taught, for its siblings (data CRC checked)
        stores = {}
        for ident in self.sources:
            try:
                formats = [bytes.fromhex(f) for f in known.get(ident, ())]
                stores[ident] = FormatStore(formats, shared=shared)
                for fmt in formats:
                    shared.add(fmt)
            except (ValueError, TypeError, WMBusDecodeError) as exc:
                log.warning("wM-Bus receiver %s: formats of %s dropped: %s", self.name, ident, exc)
                stores[ident] = FormatStore(shared=shared)
        return stores

    def _save_formats(self) -> None:
        path = self._state_path
        if path is None:
            return
        doc = {
            "version": STATE_VERSION,
            "formats": {ident: store.export() for ident, store in self._formats.items()},
        }
        try:
            write_private(path, json.dumps(doc, indent=1).encode())
        except OSError as exc:
            log.warning("wM-Bus receiver %s: state %s not written: %s", self.name, path, exc)

    def check_silence(self) -> None:
        """Flag each meter not heard for its ``silent_after`` seconds (once per silence)."""
        now = self._clock()
        for source in self.sources.values():
            stats = source.stats
            heard = source.radio.last_heard
            since = heard if heard is not None else self._started(now)
            quiet = now - since
            if source.silent or quiet < source.config.silent_after:
                continue
            source.silent = True
            source.radio.silences += 1
            stats.timeouts += 1
            report(source.name, stats, "silent", f"no telegram for {quiet:.0f} s")
            source.offer(MeterSample((), fault=f"{SILENT_FAULT}:{quiet:.0f}s"))

    def _started(self, now: float) -> float:
        if self._start is None:
            self._start = now
        return self._start


class StdinStream:
    """Standard input as a :class:`ByteStream` (rtl-wmbus piped into the adapter)."""

    where = "stdin"

    def __init__(self) -> None:
        """Wrap the process's standard input."""
        self._eof = False
        self._pending: asyncio.Future[bytes] | None = None

    async def read(self, timeout: float) -> bytes:
        """A line within ``timeout`` seconds, ``b""`` if none came.

        Raises:
            SourceIOError: standard input was closed.
        """
        if self._eof:
            msg = "standard input closed"
            raise SourceIOError(msg)
        if self._pending is None:  # one blocking readline at a time, kept across timeouts
            self._pending = asyncio.ensure_future(asyncio.to_thread(sys.stdin.buffer.readline))
        done, _ = await asyncio.wait({self._pending}, timeout=timeout)
        if not done:
            return b""
        line = self._pending.result()
        self._pending = None
        if not line:
            self._eof = True
            msg = "standard input closed"
            raise SourceIOError(msg)
        return bytes(line)

    async def close(self) -> None:
        """Nothing to release."""
