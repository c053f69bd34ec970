"""DSMR P1 source: a serial P1 cable or a TCP bridge, cut by the splitter, CRC checked.

DSMR 4 and 5 meters send at 115200 baud 8N1 (a telegram every 10 s, DSMR 5 every second);
DSMR 2.2 and 3 at 9600 baud 7E1 (``serialFormat: 7E1``, ``baudrate: 9600``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omdp.adapter.samples import sample_from_telegram
from omdp.adapter.sources.base import Backoff
from omdp.adapter.sources.push import Decoded, PushSource
from omdp.adapter.sources.streams import connector
from omdp.decoders.dsmr import TelegramSplitter, decode_telegram
from omdp.errors import DecodeError

DSMR_BAUDRATE = 115200


@dataclass(slots=True)
class DsmrFrameDecoder:
    """Splits a P1 stream into telegrams and decodes each; reports why one was dropped.

    Attributes:
        spec: the telegram specification (``auto``, ``v5``, ``v2.2``...).
    """

    spec: str = "auto"
    _splitter: TelegramSplitter = field(default_factory=TelegramSplitter)

    def feed(self, chunk: bytes) -> Decoded:
        """Decode every telegram ``chunk`` completes.

        Args:
            chunk: the next bytes from the meter.

        Returns:
            Good telegrams as samples, and the precise reason for each dropped one.
        """
        dropped, truncated = self._splitter.dropped_bytes, self._splitter.truncated
        out = Decoded()
        telegrams = self._splitter.feed(chunk)
        cut = self._splitter.truncated - truncated
        if cut:
            out.problems.append(f"{cut} telegram(s) truncated: a new '/' came before the end line")
        noise = self._splitter.dropped_bytes - dropped
        if noise and not cut:
            out.problems.append(f"{noise} byte(s) of noise outside a telegram dropped")
        for raw in telegrams:
            try:
                telegram = decode_telegram(raw, spec=self.spec)
            except DecodeError as exc:  # ChecksumError included: "CRC mismatch: ..."
                out.problems.append(f"DSMR telegram dropped: {exc}")
                continue
            except KeyError as exc:
                out.problems.append(f"DSMR telegram dropped: unknown spec {exc}")
                continue
            out.samples.append(sample_from_telegram(telegram))
        return Decoded(out.samples, out.problems, len(telegrams) + cut)


def dsmr_source(
    name: str,
    *,
    tcp: tuple[str, int] | None = None,
    serial: str | None = None,
    baudrate: int = DSMR_BAUDRATE,
    serial_format: str = "8N1",
    spec: str = "auto",
    interval: float = 10.0,
    silence_intervals: float = 3.0,
    connect_timeout: float = 5.0,
    backoff: Backoff | None = None,
) -> PushSource:
    """A DSMR P1 meter over TCP (``tcp=(host, port)``) or a serial device.

    Args:
        name: the source's name in logs and metrics.
        tcp: a ser2net-style bridge; exclusive with ``serial``.
        serial: a serial device path (a P1 cable, a pseudo-terminal).
        baudrate: serial speed (9600 for DSMR 2.2/3).
        serial_format: 8N1 (DSMR 4/5) or 7E1 (DSMR 2.2/3).
        spec: telegram specification, ``auto`` to detect.
        interval: seconds between telegrams.
        silence_intervals: intervals without a good telegram before a timeout and reconnect.
        connect_timeout: seconds to wait for a TCP connection.
        backoff: reconnect delays.

    Raises:
        ConfigError: neither or both of ``tcp`` and ``serial``.
    """
    connect = connector(
        tcp=tcp,
        serial=serial,
        baudrate=baudrate,
        serial_format=serial_format,
        connect_timeout=connect_timeout,
    )
    return PushSource(
        name,
        connect=connect,
        decoder=lambda: DsmrFrameDecoder(spec),
        interval=interval,
        silence_intervals=silence_intervals,
        backoff=backoff,
    )
