"""EN 13757-2 link layer: single character, short, control and long frames, and a splitter.

Wire layouts::

    E5                                  single character (acknowledge)
    10 C A CS 16                        short frame
    68 L L 68 C A CI [data] CS 16       control (L = 3) and long frame (L > 3)

CS is the sum of C, A, CI and the data modulo 256; L counts C, A, CI and the data.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final

from omdp.decoders.mbus.errors import MBusChecksumError, MBusDecodeError

ACK: Final = 0xE5
SHORT_START: Final = 0x10
LONG_START: Final = 0x68
STOP: Final = 0x16

KIND_ACK: Final = "ack"
KIND_SHORT: Final = "short"
KIND_CONTROL: Final = "control"
KIND_LONG: Final = "long"

# control field values (master to slave, slave to master)
C_SND_NKE: Final = 0x40
C_SND_UD: Final = 0x53
C_REQ_UD2: Final = 0x5B
C_REQ_UD1: Final = 0x5A
C_RSP_UD: Final = 0x08
FCB: Final = 0x20
FCV: Final = 0x10

ADDRESS_NETWORK_LAYER: Final = 0xFD  # talk to the slave selected by secondary address
ADDRESS_BROADCAST_REPLY: Final = 0xFE
ADDRESS_BROADCAST: Final = 0xFF


@dataclass(frozen=True, slots=True)
class LinkFrame:
    """One link-layer frame; ``user_data`` is what follows CI (empty for ack and short)."""

    kind: str
    control: int = 0
    address: int = 0
    ci: int | None = None
    user_data: bytes = b""


def checksum(data: bytes | memoryview) -> int:
    """Return the M-Bus checksum (arithmetic sum modulo 256) of ``data``."""
    return sum(data) & 0xFF


def parse_link(buf: bytes) -> LinkFrame:
    """Parse exactly one link-layer frame from ``buf``.

    Raises:
        MBusChecksumError: the checksum does not match.
        MBusDecodeError: anything else is wrong: start, lengths, stop byte, trailing bytes.
    """
    n = len(buf)
    if n == 0:
        msg = "empty frame"
        raise MBusDecodeError(msg, offset=0)
    start = buf[0]
    if start == ACK:
        if n != 1:
            msg = f"{n - 1} bytes after single character E5"
            raise MBusDecodeError(msg, offset=1)
        return LinkFrame(KIND_ACK)
    if start == SHORT_START:
        if n < 5:
            msg = f"short frame truncated: {n} of 5 bytes"
            raise MBusDecodeError(msg, offset=n)
        _check_tail(buf, 1, 3, 5)
        return LinkFrame(KIND_SHORT, buf[1], buf[2])
    if start != LONG_START:
        msg = f"no frame starts with 0x{start:02X}"
        raise MBusDecodeError(msg, offset=0)
    if n < 4:
        msg = f"long frame header truncated: {n} of 4 bytes"
        raise MBusDecodeError(msg, offset=n)
    length = buf[1]
    if buf[2] != length:
        msg = f"length fields differ: 0x{length:02X} and 0x{buf[2]:02X}"
        raise MBusDecodeError(msg, offset=2)
    if buf[3] != LONG_START:
        msg = f"second start byte is 0x{buf[3]:02X}, not 0x68"
        raise MBusDecodeError(msg, offset=3)
    if length < 3:
        msg = f"invalid length field {length}: at least 3 (C, A, CI)"
        raise MBusDecodeError(msg, offset=1)
    total = length + 6
    if n < total:
        msg = f"frame truncated: L={length} needs {total} bytes, got {n}"
        raise MBusDecodeError(msg, offset=n)
    _check_tail(buf, 4, 4 + length, total)
    kind = KIND_CONTROL if length == 3 else KIND_LONG
    return LinkFrame(kind, buf[4], buf[5], buf[6], bytes(buf[7 : 4 + length]))


def _check_tail(buf: bytes, first: int, cs_at: int, total: int) -> None:
    expected = checksum(memoryview(buf)[first:cs_at])
    if buf[cs_at] != expected:
        msg = f"checksum 0x{buf[cs_at]:02X}, computed 0x{expected:02X}"
        raise MBusChecksumError(msg, offset=cs_at)
    if buf[cs_at + 1] != STOP:
        msg = f"stop byte is 0x{buf[cs_at + 1]:02X}, not 0x16"
        raise MBusDecodeError(msg, offset=cs_at + 1)
    if len(buf) > total:
        msg = f"{len(buf) - total} bytes after the stop byte"
        raise MBusDecodeError(msg, offset=total)


def encode_link(frame: LinkFrame) -> bytes:
    """Build the bytes of a link-layer frame (the inverse of :func:`parse_link`)."""
    if frame.kind == KIND_ACK:
        return bytes((ACK,))
    if frame.kind == KIND_SHORT:
        body = bytes((frame.control, frame.address))
        return bytes((SHORT_START, *body, checksum(body), STOP))
    body = bytes((frame.control, frame.address, frame.ci or 0)) + frame.user_data
    if len(body) > 255:
        msg = f"long frame body of {len(body)} bytes exceeds 255"
        raise ValueError(msg)
    n = len(body)
    return bytes((LONG_START, n, n, LONG_START)) + body + bytes((checksum(body), STOP))


def frame_length_at(buf: bytes | bytearray, i: int) -> int:
    """Return the length of a plausible frame starting at ``buf[i]``.

    Returns 0 when no frame can start there and -1 when one may, but more bytes are needed.
    A candidate is plausible when its framing, lengths, checksum and stop byte all agree.
    """
    n = len(buf)
    start = buf[i]
    if start == ACK:
        return 1
    if start == SHORT_START:
        if i + 5 > n:
            return -1
        ok = buf[i + 3] == (buf[i + 1] + buf[i + 2]) & 0xFF and buf[i + 4] == STOP
        return 5 if ok else 0
    if start != LONG_START:
        return 0
    if i + 4 > n:
        return -1
    length = buf[i + 1]
    if buf[i + 2] != length or buf[i + 3] != LONG_START or length < 3:
        return 0
    total = length + 6
    if i + total > n:
        return -1
    cs_at = i + 4 + length
    if buf[cs_at] != checksum(memoryview(buf)[i + 4 : cs_at]) or buf[cs_at + 1] != STOP:
        return 0
    return total


def _whole_long_frame_after(buf: bytes | bytearray, i: int) -> int:
    """The start of the first complete, valid long frame after ``buf[i]``, or -1."""
    k = buf.find(LONG_START, i + 1)
    while k >= 0:
        if frame_length_at(buf, k) > 0:
            return k
        k = buf.find(LONG_START, k + 1)
    return -1


class FrameSplitter:
    """Find frames in a byte stream with noise and partial frames; never raises.

    Feed bytes as they arrive; :meth:`feed` returns the complete frames found so far and keeps
    a partial frame for the next call. Bytes that cannot start a valid frame are counted in
    ``skipped`` and dropped. With ``acks=False``, a lone 0xE5 is taken as noise.
    """

    def __init__(self, *, acks: bool = True, max_buffer: int = 4096) -> None:
        self._buf = bytearray()
        self._acks = acks
        self._max = max_buffer
        self.skipped = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return every complete frame now available, in order."""
        buf = self._buf
        buf += data
        frames: list[bytes] = []
        i = 0
        n = len(buf)
        while i < n:
            size = frame_length_at(buf, i)
            if size == 1 and not self._acks:
                size = 0
            if size > 0:
                frames.append(bytes(buf[i : i + size]))
                i += size
            elif size < 0:
                # an incomplete candidate is waited for, unless a whole long frame (lengths,
                # checksum and stop byte agree) starts inside it: then the candidate was noise
                # that looked like a header (``68 40 40`` before a frame's own ``68``)
                later = _whole_long_frame_after(buf, i)
                if later < 0:
                    break
                self.skipped += later - i
                i = later
            else:
                i += 1
                self.skipped += 1
        del buf[:i]
        if len(buf) > self._max:  # a partial frame that never completes
            self.skipped += 1
            del buf[:1]
            return frames + self.feed(b"")
        return frames

    @property
    def pending(self) -> int:
        """Return the number of buffered bytes not yet part of a frame."""
        return len(self._buf)


def split_frames(data: bytes) -> Iterator[tuple[int, bytes]]:
    """Yield ``(offset, frame_bytes)`` for every valid frame in ``data`` (E5 included)."""
    i = 0
    n = len(data)
    while i < n:
        size = frame_length_at(data, i)
        if size > 0:
            yield i, data[i : i + size]
            i += size
        else:
            i += 1
