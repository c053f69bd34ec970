"""What the common wM-Bus receivers send over their serial line, cut into telegrams.

Each decoder takes bytes as they arrive (``feed``) and returns the telegrams they complete, as
:class:`RadioFrame` (the telegram from its L-field on, the signal strength where the receiver
gives it), and the reasons for anything it had to drop. Decoders never raise on bad input.

- **IMST iM871A** (HCI): ``A5 CE MID LEN PAYLOAD [TS(4)] [RSSI] [CRC(2)]``. ``CE`` holds the
  control flags (high nibble: 2 timestamp, 4 RSSI, 8 CRC attached) and the endpoint (low
  nibble: 2 radio link); message 0x03 is a received telegram, its payload the telegram from the
  C-field on (no L-field, no link-layer CRCs). The CRC is CRC-16/CCITT (initial 0xFFFF,
  complemented) over everything after ``A5``.
- **Amber / Würth AMB8465** (command mode): ``FF 03 LEN PAYLOAD CS``; the payload is the
  telegram from its L-field on, followed by one RSSI byte when the module is set to append it;
  ``CS`` is the XOR of all bytes before it.
- **rtl-wmbus** (one line per telegram on standard output):
  ``MODE;CRC_OK;3OF6_OK;TIMESTAMP;RSSI;...;0xHEX`` (``T1;1;1;2024-01-01 00:00:00.000;97;...``);
  a plain hex line is taken as a telegram too. Lines whose CRC flag is 0 are dropped.

RSSI bytes are converted to dBm as the CC1101-family radios define it (signed byte / 2 - 74);
the conversion is an estimate.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from fastcrc import crc16 as _crc16

IM871A_SOF: Final = 0xA5
IM871A_RADIOLINK: Final = 0x02
IM871A_DATA_IND: Final = 0x03
_IM_TS: Final = 0x2
_IM_RSSI: Final = 0x4
_IM_CRC: Final = 0x8
AMB_START: Final = 0xFF
AMB_DATA_IND: Final = 0x03
_MAX_BUFFER: Final = 4096


@dataclass(frozen=True, slots=True)
class RadioFrame:
    """A telegram as a receiver delivered it (from the L-field on) and its signal strength."""

    data: bytes
    rssi_dbm: float | None = None


@dataclass(slots=True)
class Received:
    """What one ``feed`` completed: telegrams, and why anything was dropped."""

    frames: list[RadioFrame] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class DongleDecoder(Protocol):
    """Cuts a receiver's byte stream into telegrams."""

    def feed(self, chunk: bytes) -> Received:
        """Add bytes; return the telegrams they complete."""
        ...


def rssi_dbm(raw: int) -> float:
    """Return a CC1101-style RSSI byte in dBm (an estimate)."""
    signed = raw - 256 if raw >= 128 else raw
    return signed / 2 - 74


def _rssi_raw(dbm: float) -> int:
    return round((dbm + 74) * 2) & 0xFF


def crc_ccitt(data: bytes) -> int:
    """Return CRC-16/CCITT as X.25 (polynomial 0x1021, initial 0xFFFF, reflected, complemented)."""
    return int(_crc16.ibm_sdlc(bytes(data)))


class _FramedDecoder:
    """Frames that start with a fixed byte and say their own length; noise between them."""

    start_byte = 0
    what = "frame"

    def __init__(self) -> None:
        """Start with an empty buffer."""
        self._buf = bytearray()

    def _length(self, buf: bytearray) -> int | None:
        """Return the length of the frame at the start of ``buf``; ``None``: more bytes needed."""
        raise NotImplementedError

    def _take(self, frame: bytes, out: Received) -> int:
        """Handle one complete frame; return how many bytes to drop (its length, or 1 if bad)."""
        raise NotImplementedError

    def feed(self, chunk: bytes) -> Received:
        """Add bytes; return the telegrams of the complete frames."""
        buf = self._buf
        buf += chunk
        out = Received()
        while buf:
            if buf[0] != self.start_byte:
                start = buf.find(self.start_byte)
                skipped = len(buf) if start < 0 else start
                noise = f"{skipped} byte(s) of noise before the next {self.what} dropped"
                out.problems.append(noise)
                del buf[:skipped]
                continue
            total = self._length(buf)
            if total is None or len(buf) < total:
                break
            del buf[: self._take(bytes(buf[:total]), out)]
        if len(buf) > _MAX_BUFFER:
            out.problems.append(f"{len(buf)} buffered bytes without a complete frame dropped")
            buf.clear()
        return out


class Im871aDecoder(_FramedDecoder):
    """The HCI of the IMST iM871A (and iM170A)."""

    start_byte = IM871A_SOF
    what = "HCI frame"

    def _length(self, buf: bytearray) -> int | None:
        if len(buf) < 4:
            return None
        flags = buf[1] >> 4
        total = 4 + buf[3]
        total += 4 if flags & _IM_TS else 0
        total += 1 if flags & _IM_RSSI else 0
        return total + (2 if flags & _IM_CRC else 0)

    def _take(self, frame: bytes, out: Received) -> int:
        flags, endpoint, length = frame[1] >> 4, frame[1] & 0x0F, frame[3]
        if flags & _IM_CRC and crc_ccitt(frame[1:-2]) != int.from_bytes(frame[-2:], "little"):
            out.problems.append("HCI frame dropped: its CRC-16 does not match")
            return len(frame)
        if endpoint != IM871A_RADIOLINK or frame[2] != IM871A_DATA_IND:
            return len(frame)  # confirmations and device messages carry no telegram
        payload = frame[4 : 4 + length]
        rssi = None
        if flags & _IM_RSSI:
            rssi = rssi_dbm(frame[4 + length + (4 if flags & _IM_TS else 0)])
        out.frames.append(RadioFrame(bytes((len(payload),)) + payload, rssi))
        return len(frame)


def im871a_frame(telegram: bytes, *, rssi: float | None = None, crc: bool = False) -> bytes:
    """Return a telegram (from its L-field on, no CRCs) as an iM871A indication."""
    payload = telegram[1:]
    flags = (_IM_RSSI if rssi is not None else 0) | (_IM_CRC if crc else 0)
    body = bytes(((flags << 4) | IM871A_RADIOLINK, IM871A_DATA_IND, len(payload))) + payload
    if rssi is not None:
        body += bytes((_rssi_raw(rssi),))
    if crc:
        body += crc_ccitt(body).to_bytes(2, "little")
    return bytes((IM871A_SOF,)) + body


class Amb8465Decoder(_FramedDecoder):
    """The command-mode UART protocol of the Amber / Würth AMB8465 (and AMB8665).

    Args:
        rssi: whether the module appends an RSSI byte to each telegram (``CMD_SET`` 0x45).
    """

    start_byte = AMB_START
    what = "command frame"

    def __init__(self, *, rssi: bool = True) -> None:
        """Start with an empty buffer."""
        super().__init__()
        self._rssi = rssi

    def _length(self, buf: bytearray) -> int | None:
        return 3 + buf[2] + 1 if len(buf) >= 3 else None

    def _take(self, frame: bytes, out: Received) -> int:
        cs = 0
        for byte in frame[:-1]:
            cs ^= byte
        if cs != frame[-1]:
            out.problems.append("command frame dropped: its XOR checksum does not match")
            return 1  # resynchronise on the next FF
        if frame[1] != AMB_DATA_IND:
            return len(frame)
        payload = frame[3:-1]
        rssi = None
        if self._rssi and payload:
            payload, rssi = payload[:-1], rssi_dbm(payload[-1])
        if not payload or payload[0] != len(payload) - 1:
            out.problems.append("data indication dropped: its L-field does not fit its length")
            return len(frame)
        out.frames.append(RadioFrame(payload, rssi))
        return len(frame)


def amb8465_frame(telegram: bytes, *, rssi: float | None = None) -> bytes:
    """Return a telegram (from its L-field on, no CRCs) as an AMB8465 data indication."""
    payload = telegram + (bytes((_rssi_raw(rssi),)) if rssi is not None else b"")
    body = bytes((AMB_START, AMB_DATA_IND, len(payload))) + payload
    cs = 0
    for byte in body:
        cs ^= byte
    return body + bytes((cs,))


class RtlWmbusDecoder:
    """Lines of rtl-wmbus (``T1;1;1;...;0x...``) or plain hex, one telegram per line."""

    def __init__(self) -> None:
        """Start with an empty line buffer."""
        self._buf = bytearray()

    def feed(self, chunk: bytes) -> Received:
        """Add bytes; return the telegrams of the complete lines."""
        self._buf += chunk
        out = Received()
        *lines, rest = self._buf.split(b"\n")
        self._buf = bytearray(rest)
        if len(self._buf) > _MAX_BUFFER:
            out.problems.append("line longer than 4096 bytes dropped")
            self._buf.clear()
        for raw in lines:
            line = raw.decode("latin-1").strip()
            if not line or line.startswith("#"):
                continue
            frame, problem = _rtl_line(line)
            if problem:
                out.problems.append(problem)
            elif frame is not None:
                out.frames.append(frame)
        return out


def _rtl_line(line: str) -> tuple[RadioFrame | None, str | None]:
    fields = line.split(";")
    text = fields[-1].strip().removeprefix("0x").removeprefix("0X")
    if len(text) % 2 or not text or any(c not in string.hexdigits for c in text):
        return None, f"line dropped: no telegram hex in {line[:60]!r}"
    if len(fields) >= 3 and fields[1].strip() == "0":
        return None, f"line dropped: rtl-wmbus reports a bad CRC ({line[:40]!r}...)"
    rssi = None
    if len(fields) >= 6:
        try:
            rssi = float(fields[4])
        except ValueError:
            rssi = None
    return RadioFrame(bytes.fromhex(text), rssi), None


def rtlwmbus_line(telegram: bytes, *, mode: str = "T1", rssi: float = 0.0) -> bytes:
    """Return a telegram as one rtl-wmbus output line."""
    return f"{mode};1;1;2000-01-01 00:00:00.000;{rssi:g};0;00000000;0x{telegram.hex()}\n".encode()


#: dongle name -> decoder factory.
DONGLES: Final[MappingProxyType[str, Callable[[], DongleDecoder]]] = MappingProxyType(
    {"im871a": Im871aDecoder, "amb8465": Amb8465Decoder, "rtlwmbus": RtlWmbusDecoder}
)


def make_decoder(dongle: str) -> DongleDecoder:
    """Return a fresh decoder for a dongle name (a key of :data:`DONGLES`).

    Raises:
        KeyError: unknown name.
    """
    return DONGLES[dongle]()
