"""Cut a P1 byte stream (a serial line, a ser2net socket) into whole telegrams.

A telegram runs from ``/`` to its end line ``!XXXX\\r\\n`` (``!\\r\\n`` before DSMR 4). Bytes before
a ``/`` are noise (a reader that joins mid-telegram, line glitches) and are dropped and counted;
a telegram interrupted by a new ``/`` (which no telegram body holds) is dropped as truncated.
The splitter checks no CRC: :func:`~omdp.decoders.dsmr.decoder.decode_telegram` does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Final

_END_RE: Final = re.compile(rb"\n!([0-9A-Fa-f]{4})?\r?\n")


class TelegramSplitter:
    """Stateful splitter: feed chunks, get whole telegrams.

    Attributes:
        dropped_bytes: noise bytes discarded outside telegrams.
        truncated: telegrams abandoned because a new one started before their end line, or because
            they outgrew ``max_size``.
    """

    def __init__(self, *, max_size: int = 16 * 1024) -> None:
        """Create an empty splitter.

        Args:
            max_size: longest telegram accepted; a longer one is dropped as truncated.
        """
        self._buffer = bytearray()
        self._max_size = max_size
        self.dropped_bytes = 0
        self.truncated = 0

    def feed(self, chunk: bytes) -> list[bytes]:
        """Add bytes and return every telegram they complete.

        Args:
            chunk: the next bytes of the stream, of any length.

        Returns:
            Complete telegrams, ``/`` to the end line's ``\\n`` inclusive, oldest first.
        """
        self._buffer += chunk
        out: list[bytes] = []
        while True:
            start = self._buffer.find(b"/")
            if start < 0:
                self.dropped_bytes += len(self._buffer)
                self._buffer.clear()
                return out
            if start:
                self.dropped_bytes += start
                del self._buffer[:start]
            end = _END_RE.search(self._buffer)
            restart = self._buffer.find(b"/", 1)
            if restart > 0 and (end is None or restart < end.start()):
                self.truncated += 1
                self.dropped_bytes += restart
                del self._buffer[:restart]
                continue
            if end is None:
                if len(self._buffer) > self._max_size:
                    self.truncated += 1
                    self.dropped_bytes += 1
                    del self._buffer[:1]  # drop this "/" and look for the next start
                    continue
                return out
            out.append(bytes(self._buffer[: end.end()]))
            del self._buffer[: end.end()]

    def iter_telegrams(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """Yield the telegrams of a whole chunk sequence.

        Args:
            chunks: the stream, in pieces.

        Yields:
            Each complete telegram.
        """
        for chunk in chunks:
            yield from self.feed(chunk)
