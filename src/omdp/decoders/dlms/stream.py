"""Find, check and reassemble DLMS pushes in a byte stream: HDLC frames or wired M-Bus frames.

Two link layers carry pushes to a customer:

* HDLC (Nordic HAN ports, many P1/D0 ports): see :mod:`omdp.decoders.dlms.hdlc`; a long APDU
  comes in segments flagged in the format byte.
* Wired M-Bus long frames (EN 13757-2; Austrian and Swiss customer interfaces)::

      68 L L 68  C A  CI  STSAP DTSAP  <APDU segment>  CS 16

  where CI 0x00-0x1F is the DLMS transport layer: bit 0x10 marks the last segment, the low
  nibble numbers the segments from 0. The link layer is :mod:`omdp.decoders.mbus.link`.

:class:`DlmsStreamDecoder` takes bytes as they arrive (either link layer, told apart by the
first byte), and returns the pushes completed and the precise reason for every frame or push
it dropped: a bad FCS or checksum, a missing segment, a wrong key, a replayed frame counter.
It never raises on bad input.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Final

from omdp.decoders.dlms.apdu import DlmsPush, decode_apdu
from omdp.decoders.dlms.cosem import NO_HINTS, DlmsHints
from omdp.decoders.dlms.errors import DlmsError
from omdp.decoders.dlms.hdlc import FLAG, frame_size_at, parse_hdlc, strip_llc
from omdp.decoders.dlms.security import DlmsKeys, FrameCounterGuard
from omdp.decoders.mbus.link import LONG_START, STOP, parse_link
from omdp.errors import DecodeError

_FIN: Final = 0x10
_MAX_BUFFER: Final = 16 * 1024


@dataclass(slots=True)
class StreamResult:
    """What some bytes completed: pushes, and one reason per dropped frame or push."""

    pushes: list[DlmsPush] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    frames: int = 0


def _mbus_size_at(buf: bytearray, i: int) -> int:
    """Size of a candidate M-Bus long frame at ``i`` (0: none, -1: need more bytes)."""
    n = len(buf)
    if i + 4 > n:
        return -1
    length = buf[i + 1]
    if buf[i + 2] != length or buf[i + 3] != LONG_START or length < 3:
        return 0
    total = length + 6
    if i + total > n:
        return -1
    return total if buf[i + total - 1] == STOP else 0


@dataclass
class DlmsStreamDecoder:
    """Stateful push reader for one connection; share ``guard`` across reconnects.

    Attributes:
        keys: the meter's keys (None for plain pushes).
        hints: the profile's scalers and list layouts.
        tz: zone of the meter's clock for date-times without deviation.
        guard: frame counters accepted so far (replay check).
        skipped: noise bytes dropped.
    """

    keys: DlmsKeys | None = None
    hints: DlmsHints = NO_HINTS
    tz: tzinfo = UTC
    guard: FrameCounterGuard = field(default_factory=FrameCounterGuard)
    skipped: int = 0
    _buf: bytearray = field(default_factory=bytearray)
    _hdlc_parts: list[bytes] = field(default_factory=list)
    _mbus_parts: list[bytes] = field(default_factory=list)

    def feed(self, chunk: bytes) -> StreamResult:
        """Decode everything ``chunk`` completes."""
        out = StreamResult()
        buf = self._buf
        buf += chunk
        i = 0
        n = len(buf)
        while i < n:
            first = buf[i]
            if first == FLAG:
                size = frame_size_at(buf, i)
                if size > 0:
                    self._hdlc(bytes(buf[i : i + size]), out)
                    i += size - 1  # the closing flag may open the next frame
                    continue
            elif first == LONG_START:
                size = _mbus_size_at(buf, i)
                if size > 0:
                    self._mbus(bytes(buf[i : i + size]), out)
                    i += size
                    continue
            else:
                size = 0
            if size < 0:
                break
            i += 1
            self.skipped += 1
        del buf[:i]
        if len(buf) > _MAX_BUFFER:  # a frame that never completes
            self.skipped += len(buf)
            buf.clear()
            out.problems.append("frame longer than 16 KiB never completed: dropped")
        return out

    def finish(self) -> list[str]:
        """At the end of a capture: the reasons for what remains incomplete."""
        problems = []
        if self._buf.strip(bytes((FLAG,))):  # a closing flag alone is no truncated frame
            problems.append(f"truncated frame: {len(self._buf)} bytes at the end never completed")
        if self._hdlc_parts or self._mbus_parts:
            parts = len(self._hdlc_parts) + len(self._mbus_parts)
            problems.append(f"truncated segment sequence: {parts} segment(s), no final segment")
        self._buf.clear()
        self._hdlc_parts.clear()
        self._mbus_parts.clear()
        return problems

    def _apdu(self, apdu: bytes, out: StreamResult) -> None:
        try:
            out.pushes.append(
                decode_apdu(apdu, keys=self.keys, hints=self.hints, tz=self.tz, guard=self.guard)
            )
        except DecodeError as exc:
            out.problems.append(f"{type(exc).__name__}: {exc}")

    def _hdlc(self, raw: bytes, out: StreamResult) -> None:
        out.frames += 1
        try:
            frame = parse_hdlc(raw)
        except DlmsError as exc:
            self._hdlc_parts.clear()
            out.problems.append(f"{type(exc).__name__}: {exc}")
            return
        info = frame.information
        if not self._hdlc_parts:
            stripped = strip_llc(info)
            if stripped is info and frame.segmented:
                self.skipped += len(raw)  # joined in the middle of a segmented push
                return
            info = stripped
        self._hdlc_parts.append(info)
        if frame.segmented:
            return
        apdu = b"".join(self._hdlc_parts)
        self._hdlc_parts.clear()
        self._apdu(apdu, out)

    def _mbus(self, raw: bytes, out: StreamResult) -> None:
        out.frames += 1
        try:
            link = parse_link(raw)
        except DecodeError as exc:
            self._mbus_parts.clear()
            out.problems.append(f"M-Bus frame dropped ({type(exc).__name__}): {exc}")
            return
        ci = link.ci or 0
        if ci & 0xE0:
            out.problems.append(f"M-Bus frame with CI 0x{ci:02X} is not a DLMS transport segment")
            return
        if len(link.user_data) < 2:
            out.problems.append("M-Bus DLMS segment without its STSAP and DTSAP bytes")
            return
        seq, data = ci & 0x0F, link.user_data[2:]
        parts = self._mbus_parts
        if seq == 0:
            if parts:
                out.problems.append(
                    f"truncated segment sequence: segment {len(parts)} of the previous push "
                    "never arrived; push dropped"
                )
            parts.clear()
            parts.append(data)
        elif not parts:
            self.skipped += len(raw)  # joined in the middle of a push
            return
        elif seq != len(parts):
            out.problems.append(
                f"truncated segment sequence: segment {seq} arrived where {len(parts)} was "
                "expected; push dropped"
            )
            parts.clear()
            return
        else:
            parts.append(data)
        if ci & _FIN:
            apdu = b"".join(parts)
            parts.clear()
            self._apdu(apdu, out)


def decode_capture(
    data: bytes,
    *,
    keys: DlmsKeys | None = None,
    hints: DlmsHints = NO_HINTS,
    tz: tzinfo = UTC,
) -> StreamResult:
    """Decode a whole capture: HDLC or M-Bus frames, an LLC PDU, or a bare APDU.

    Returns:
        Every push, and the reason for each frame, segment or push that failed (a capture
        that ends inside a frame or a segment sequence reports that as truncated).
    """
    stripped = strip_llc(data)
    if stripped is not data or data[:1] in (b"\x0f", b"\xdb", b"\xdc"):
        out = StreamResult()
        try:
            out.pushes.append(decode_apdu(stripped, keys=keys, hints=hints, tz=tz))
        except DecodeError as exc:
            out.problems.append(f"{type(exc).__name__}: {exc}")
        return out
    decoder = DlmsStreamDecoder(keys=keys, hints=hints, tz=tz)
    out = decoder.feed(data)
    out.problems.extend(decoder.finish())
    if not out.frames and not out.problems:
        out.problems.append("no HDLC (7E) or M-Bus (68) frame and no DLMS APDU found")
    return out
