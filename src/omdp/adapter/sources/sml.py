"""SML source: an eHZ meter's optical head (9600 baud 8N1) or a TCP bridge, one sample per file."""

from __future__ import annotations

from dataclasses import dataclass, field

from omdp.adapter.samples import sample_from_telegram
from omdp.adapter.sources.base import Backoff
from omdp.adapter.sources.push import Decoded, PushSource
from omdp.adapter.sources.streams import connector
from omdp.decoders.sml import SmlStreamDecoder

SML_BAUDRATE = 9600


@dataclass
class _ReportingDecoder(SmlStreamDecoder):
    """The stream decoder, collecting each problem's reason instead of logging it itself.

    ``SmlStreamDecoder`` hands every problem to ``_problem``; in non-strict mode it only logs.
    We keep the reasons so that the source logs them with its own name and counts them.
    """

    problems: list[str] = field(default_factory=list)

    def _problem(self, msg: str, exc: Exception | None = None) -> None:
        self.problems.append(msg)


@dataclass(slots=True)
class SmlFrameDecoder:
    """Finds, checks (file and message CRCs) and decodes SML files in a byte stream."""

    _decoder: _ReportingDecoder = field(default_factory=_ReportingDecoder)

    def feed(self, chunk: bytes) -> Decoded:
        """Decode every SML file ``chunk`` completes.

        Args:
            chunk: the next bytes from the meter.

        Returns:
            Good files as samples, and the precise reason for each dropped file or noise.
        """
        telegrams = self._decoder.feed(chunk)
        problems = [f"SML: {p}" for p in self._decoder.problems]
        self._decoder.problems.clear()
        return Decoded(
            [sample_from_telegram(t) for t in telegrams], problems, len(telegrams) + len(problems)
        )


def sml_source(
    name: str,
    *,
    tcp: tuple[str, int] | None = None,
    serial: str | None = None,
    baudrate: int = SML_BAUDRATE,
    serial_format: str = "8N1",
    interval: float = 4.0,
    silence_intervals: float = 3.0,
    connect_timeout: float = 5.0,
    backoff: Backoff | None = None,
) -> PushSource:
    """An SML meter over TCP (``tcp=(host, port)``) or a serial device.

    Args:
        name: the source's name in logs and metrics.
        tcp: a bridge; exclusive with ``serial``.
        serial: a serial device path (an optical head, a pseudo-terminal).
        baudrate: serial speed.
        serial_format: byte format, 8N1 for SML.
        interval: seconds between files (eHZ meters: 1 to 4).
        silence_intervals: intervals without a good file before a timeout and reconnect.
        connect_timeout: seconds to wait for a TCP connection.
        backoff: reconnect delays.

    Raises:
        ConfigError: neither or both of ``tcp`` and ``serial``.
    """
    return PushSource(
        name,
        connect=connector(
            tcp=tcp,
            serial=serial,
            baudrate=baudrate,
            serial_format=serial_format,
            connect_timeout=connect_timeout,
        ),
        decoder=SmlFrameDecoder,
        interval=interval,
        silence_intervals=silence_intervals,
        backoff=backoff,
    )
