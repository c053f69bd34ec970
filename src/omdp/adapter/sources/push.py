"""The loop shared by push meters (DSMR P1, SML): connect, read, cut frames, decode, reconnect.

A push meter sends a frame every few seconds on its own. The loop keeps one link open, feeds
what arrives to a protocol :class:`FrameDecoder`, yields a sample per good frame and logs and
counts each bad one. When no good frame arrived for ``silence_intervals`` times the expected
interval, it reports a timeout and reconnects; a lost link is re-established with capped,
jittered back-off (AD-1).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from omdp.adapter.samples import MeterSample
from omdp.adapter.sources.base import Backoff, SourceIOError, SourceStats, report
from omdp.adapter.sources.streams import ByteStream

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Decoded:
    """What one chunk of bytes gave: good samples and the reasons bad frames were dropped."""

    samples: list[MeterSample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    frames: int = 0


class FrameDecoder(Protocol):
    """A protocol's stream decoder, fresh for each connection."""

    def feed(self, chunk: bytes) -> Decoded:
        """Decode the frames ``chunk`` completes."""
        ...


class PushSource:
    """A meter that sends frames on its own, read over a :class:`ByteStream`."""

    def __init__(
        self,
        name: str,
        *,
        connect: Callable[[], Awaitable[ByteStream]],
        decoder: Callable[[], FrameDecoder],
        interval: float,
        silence_intervals: float = 3.0,
        backoff: Backoff | None = None,
    ) -> None:
        """Configure the source; nothing connects before :meth:`samples` is iterated.

        Args:
            name: the source's name in logs (``extra["meter_source"]``) and metrics.
            connect: opens the link (raises SourceIOError on failure).
            decoder: makes a fresh decoder per connection.
            interval: seconds between the meter's frames (DSMR 5: 1, DSMR 4: 10).
            silence_intervals: how many intervals without a good frame mean a timeout.
            backoff: reconnect delays.
        """
        self.name = name
        self.stats = SourceStats()
        self._connect = connect
        self._decoder = decoder
        self._silence = interval * silence_intervals
        self._backoff = backoff or Backoff()
        self._connected_before = False

    async def samples(self) -> AsyncIterator[MeterSample]:
        """Yield a sample per good frame, for ever; reconnect on a lost link or silence."""
        while True:
            try:
                stream = await self._connect()
            except SourceIOError as exc:
                report(self.name, self.stats, "link down", exc)
                await self._backoff.wait()
                continue
            if self._connected_before:
                self.stats.reconnects += 1
            self._connected_before = True
            log.info("meter source %s: reading %s", self.name, stream.where)
            try:
                async with contextlib.aclosing(self._read(stream)) as frames:
                    async for sample in frames:
                        yield sample
            except SourceIOError as exc:
                report(self.name, self.stats, "link lost", exc)
            finally:
                await stream.close()
            await self._backoff.wait()

    async def _read(self, stream: ByteStream) -> AsyncGenerator[MeterSample, None]:
        loop = asyncio.get_running_loop()
        decoder = self._decoder()
        deadline = loop.time() + self._silence
        while True:
            chunk = await stream.read(deadline - loop.time())
            if not chunk:
                if loop.time() >= deadline:
                    self.stats.timeouts += 1
                    report(
                        self.name,
                        self.stats,
                        "timeout",
                        f"no valid frame from {stream.where} for {self._silence:g} s; reconnecting",
                    )
                    return
                continue
            log.debug("meter source %s: rx %s", self.name, chunk.hex(" "))
            decoded = decoder.feed(chunk)
            self.stats.reads += decoded.frames
            for problem in decoded.problems:
                self.stats.decode_errors += 1
                report(self.name, self.stats, "frame dropped", problem)
            for sample in decoded.samples:
                self.stats.ok += 1
                self._backoff.reset()
                deadline = loop.time() + self._silence
                yield sample
