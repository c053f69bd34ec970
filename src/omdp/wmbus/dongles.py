"""What the common wM-Bus receivers send over their serial line, cut into telegrams.

Each decoder takes bytes as they arrive (``feed``) and returns the telegrams they complete, as
:class:`RadioFrame` (the telegram from its L-field on, the signal strength where the receiver
gives it), the dongle's answers to commands (:class:`Reply`), and the reasons for anything it
had to drop. Decoders never raise on bad input.

- **IMST iM871A** (HCI): ``A5 CE MID LEN PAYLOAD [TS(4)] [RSSI] [CRC(2)]``. ``CE`` holds the
  control flags (high nibble: 2 timestamp, 4 RSSI, 8 CRC attached) and the endpoint (low
  nibble: 1 device management, 2 radio link); radio-link message 0x03 is a received telegram,
  its payload the telegram from the C-field on (no L-field, no link-layer CRCs). The CRC is
  CRC-16/X-25 (polynomial 0x1021 reflected, initial 0xFFFF, complemented; check value 0x906E)
  over everything after ``A5``, least significant byte first. The RSSI byte maps linearly to
  dBm: ``raw * 8/15 - 380/3`` (0 is -126.7 dBm, 255 is +9.3 dBm).
- **Amber / Würth AMB8465** (command mode): ``FF CMD LEN PAYLOAD CS``; ``CS`` is the XOR of all
  bytes before it, ``FF`` included. ``CMD`` 0x03 is a received telegram (from its L-field on,
  followed by one RSSI byte when the module's parameter 0x45 says so); a confirmation is the
  request's ``CMD`` with bit 7 set. The RSSI byte is the CC1101 radio's: a signed byte,
  ``raw / 2 - 74`` dBm.
- **rtl-wmbus** (one line per telegram on standard output):
  ``MODE;CRC_OK;3OF6_OK;TIMESTAMP;RSSI;...;0xHEX`` (``T1;1;1;2024-01-01 00:00:00.000;97;...``);
  a plain hex line is taken as a telegram too. Lines whose CRC flag is 0 are dropped.

The commands that set a dongle's link mode are built here too (:func:`im871a_command`,
:func:`amb8465_command`); :mod:`omdp.wmbus.setup` sends them.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final, Protocol

from fastcrc import crc16 as _crc16

IM871A_SOF: Final = 0xA5
IM871A_DEVMGMT: Final = 0x01
IM871A_RADIOLINK: Final = 0x02
IM871A_DATA_IND: Final = 0x03
IM871A_PING_REQ: Final = 0x01
IM871A_SET_CONFIG_REQ: Final = 0x03
_IM_TS: Final = 0x2
_IM_RSSI: Final = 0x4
_IM_CRC: Final = 0x8
AMB_START: Final = 0xFF
AMB_DATA_IND: Final = 0x03
AMB_SET_MODE_REQ: Final = 0x04  # the link mode, in volatile memory
AMB_RESET_REQ: Final = 0x05
AMB_SET_REQ: Final = 0x09  # write non-volatile parameters
AMB_GET_REQ: Final = 0x0A  # read non-volatile parameters
AMB_CONFIRM: Final = 0x80
AMB_PARAM_CMD_OUT: Final = 0x05  # UART_CMD_Out_Enable: telegrams framed as FF 03 ...
AMB_PARAM_RSSI: Final = 0x45  # RSSI_Enable: an RSSI byte after each telegram
_MAX_BUFFER: Final = 4096

#: link mode -> the iM871A's link mode byte (device configuration, IIFlag1 bit 1).
IM871A_LINK_MODES: Final = MappingProxyType(
    {"S1": 0x00, "S1m": 0x01, "S2": 0x02, "T1": 0x03, "T2": 0x04, "C1": 0x06, "C1a": 0x06,
     "C1b": 0x07}
)  # fmt: skip
#: link mode -> the AMB8465's mode byte for a receiving station (CMD_SET_MODE_REQ).
AMB8465_LINK_MODES: Final = MappingProxyType({"S1": 0x03, "T1": 0x08, "C1": 0x0E, "C1T1": 0x09})
#: dongle -> its link modes (rtl-wmbus takes its mode on its own command line).
LINK_MODES: Final = MappingProxyType(
    {"im871a": IM871A_LINK_MODES, "amb8465": AMB8465_LINK_MODES, "rtlwmbus": MappingProxyType({})}
)


@dataclass(frozen=True, slots=True)
class RadioFrame:
    """A telegram as a receiver delivered it (from the L-field on) and its signal strength."""

    data: bytes
    rssi_dbm: float | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A dongle's answer to a command: its message id (iM871A) or command (AMB8465), payload."""

    message: int
    payload: bytes


@dataclass(slots=True)
class Received:
    """What one ``feed`` completed: telegrams, answers to commands, why anything was dropped."""

    frames: list[RadioFrame] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)


class DongleDecoder(Protocol):
    """Cuts a receiver's byte stream into telegrams."""

    def feed(self, chunk: bytes) -> Received:
        """Add bytes; return the telegrams they complete."""
        ...


def rssi_dbm(raw: int) -> float:
    """Return the AMB8465's (CC1101) RSSI byte in dBm: signed byte / 2 - 74."""
    signed = raw - 256 if raw >= 128 else raw
    return signed / 2 - 74


def rssi_raw(dbm: float) -> int:
    """Return the AMB8465's RSSI byte for a level in dBm (the inverse of :func:`rssi_dbm`)."""
    return round((dbm + 74) * 2) & 0xFF


def im871a_rssi_dbm(raw: int) -> float:
    """Return the iM871A's RSSI byte in dBm: ``raw * 8/15 - 380/3``."""
    return round(raw * 8 / 15 - 380 / 3, 1)


def _im871a_rssi_raw(dbm: float) -> int:
    return max(0, min(255, round((dbm + 380 / 3) * 15 / 8)))


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
        payload = frame[4 : 4 + length]
        if endpoint == IM871A_DEVMGMT:
            out.replies.append(Reply(frame[2], payload))  # answers to our commands
            return len(frame)
        if endpoint != IM871A_RADIOLINK or frame[2] != IM871A_DATA_IND:
            return len(frame)
        rssi = None
        if flags & _IM_RSSI:
            rssi = im871a_rssi_dbm(frame[4 + length + (4 if flags & _IM_TS else 0)])
        out.frames.append(RadioFrame(bytes((len(payload),)) + payload, rssi))
        return len(frame)


def im871a_command(endpoint: int, message: int, payload: bytes = b"", *, crc: bool = True) -> bytes:
    """Return an HCI message to the iM871A (or an answer from it, for the simulator)."""
    flags = _IM_CRC if crc else 0
    body = bytes(((flags << 4) | endpoint, message, len(payload))) + payload
    if crc:
        body += crc_ccitt(body).to_bytes(2, "little")
    return bytes((IM871A_SOF,)) + body


def im871a_set_config(link_mode: str) -> bytes:
    """Return the DeviceMgmt SetConfig request that sets a link mode, in RAM only.

    Payload: NVM flag 0 (do not store), IIFlag1 0x03 (device mode and link mode follow), device
    mode 0, the link mode, IIFlag2 0x18 (auto power saving and auto RSSI attachment follow),
    power saving 0 (off: a receiver must listen), RSSI attachment 1 (on).

    Raises:
        KeyError: a link mode the iM871A does not have.
    """
    payload = bytes((0x00, 0x03, 0x00, IM871A_LINK_MODES[link_mode], 0x18, 0x00, 0x01))
    return im871a_command(IM871A_DEVMGMT, IM871A_SET_CONFIG_REQ, payload)


def im871a_frame(telegram: bytes, *, rssi: float | None = None, crc: bool = False) -> bytes:
    """Return a telegram (from its L-field on, no CRCs) as an iM871A indication."""
    payload = telegram[1:]
    flags = (_IM_RSSI if rssi is not None else 0) | (_IM_CRC if crc else 0)
    body = bytes(((flags << 4) | IM871A_RADIOLINK, IM871A_DATA_IND, len(payload))) + payload
    if rssi is not None:
        body += bytes((_im871a_rssi_raw(rssi),))
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
        """Start with an empty buffer; ``rssi``: whether telegrams end with an RSSI byte."""
        super().__init__()
        self.rssi = rssi

    def _length(self, buf: bytearray) -> int | None:
        return 3 + buf[2] + 1 if len(buf) >= 3 else None

    def _take(self, frame: bytes, out: Received) -> int:
        cs = 0
        for byte in frame[:-1]:
            cs ^= byte
        if cs != frame[-1]:
            out.problems.append("command frame dropped: its XOR checksum does not match")
            return 1  # resynchronise on the next FF
        if frame[1] & AMB_CONFIRM:
            out.replies.append(Reply(frame[1], frame[3:-1]))
            return len(frame)
        if frame[1] != AMB_DATA_IND:
            return len(frame)
        payload = frame[3:-1]
        rssi = None
        if self.rssi and payload:
            payload, rssi = payload[:-1], rssi_dbm(payload[-1])
        if not payload or payload[0] != len(payload) - 1:
            out.problems.append("data indication dropped: its L-field does not fit its length")
            return len(frame)
        out.frames.append(RadioFrame(payload, rssi))
        return len(frame)


def amb8465_command(command: int, payload: bytes = b"") -> bytes:
    """Return a command-mode frame ``FF CMD LEN PAYLOAD CS`` (requests, and the answers)."""
    body = bytes((AMB_START, command, len(payload))) + payload
    cs = 0
    for byte in body:
        cs ^= byte
    return body + bytes((cs,))


def amb8465_frame(telegram: bytes, *, rssi: float | None = None) -> bytes:
    """Return a telegram (from its L-field on, no CRCs) as an AMB8465 data indication."""
    payload = telegram + (bytes((rssi_raw(rssi),)) if rssi is not None else b"")
    return amb8465_command(AMB_DATA_IND, payload)


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
