"""The meter-source port, the counters every source keeps, and the reconnect back-off (AD-1).

A source reads one meter over its own interface and yields one
:class:`~omdp.adapter.samples.MeterSample` per read (polled meters) or per telegram (push
meters), for ever, until the consumer cancels it. Everything that goes wrong on the way (a
refused connection, a garbled frame, a bad CRC, silence) is logged with the precise reason,
counted in :class:`SourceStats`, and the source carries on; nothing that failed is yielded.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from omdp.adapter.samples import MeterSample
from omdp.errors import SourceIOError

__all__ = ["Backoff", "MeterSource", "SourceIOError", "SourceStats", "report"]

log = logging.getLogger(__name__)


@dataclass(slots=True)
class SourceStats:
    """Counters of one source; read them for metrics and health.

    Attributes:
        reads: frames received (push meters) or reads attempted (polled meters).
        ok: samples yielded.
        decode_errors: frames dropped as garbled, truncated or with a bad CRC.
        timeouts: reads unanswered, or silences longer than the expected interval allows.
        reconnects: connections re-established after a failure.
        last_error: the latest problem, as logged.
    """

    reads: int = 0
    ok: int = 0
    decode_errors: int = 0
    timeouts: int = 0
    reconnects: int = 0
    last_error: str | None = None


class MeterSource(Protocol):
    """The port: one meter, read over its own interface."""

    name: str
    stats: SourceStats

    def samples(self) -> AsyncIterator[MeterSample]:
        """Yield one sample per read or telegram, for ever, until cancelled."""
        ...


Sleep = Callable[[float], Awaitable[None]]


class Backoff:
    """Capped, jittered exponential back-off between reconnect attempts.

    The n-th delay is drawn uniformly from ``[d/2, d]`` with ``d = min(cap, initial * 2**n)``
    (half jitter: sources that failed together do not retry together, and none retries at
    once). :meth:`reset` after a success.
    """

    def __init__(
        self,
        *,
        initial: float = 0.5,
        cap: float = 30.0,
        rng: random.Random | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        """Configure the back-off.

        Args:
            initial: first delay, seconds (before jitter).
            cap: longest delay, seconds.
            rng: random source (seed it in tests).
            sleep: the sleep to use (a fake in tests).
        """
        self.initial = initial
        self.cap = cap
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self._sleep = sleep
        self.failures = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; counts one more failure."""
        ceiling = min(self.cap, self.initial * 2**self.failures)
        self.failures = min(self.failures + 1, 62)
        return self._rng.uniform(ceiling / 2, ceiling)

    async def wait(self) -> float:
        """Sleep for :meth:`next_delay` seconds; return how long."""
        delay = self.next_delay()
        await self._sleep(delay)
        return delay

    def reset(self) -> None:
        """Forget past failures: the next delay is short again."""
        self.failures = 0


def report(name: str, stats: SourceStats, what: str, reason: object) -> None:
    """Log a dropped frame, a timeout or a lost link at WARNING, and remember it.

    Args:
        name: the source's name (goes into ``extra["meter_source"]``).
        stats: the source's counters (``last_error`` is set).
        what: a short label: ``"decode error"``, ``"timeout"``, ``"link lost"``...
        reason: the precise reason (an exception or text).
    """
    text = f"{what}: {reason}"
    stats.last_error = text
    log.warning("meter source %s: %s", name, text, extra={"meter_source": name})
