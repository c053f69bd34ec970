"""HDLC frames of IEC 62056-46 as DLMS push meters send them (Nordic HAN ports, P1/D0 heads).

Wire layout (no octet stuffing: the length field delimits the frame)::

    7E  Ax LL  dst(1-4)  src(1-4)  ctrl  HCS(2)  info ...  FCS(2)  7E
        |  '-- frame length: format to FCS, 11 bits (low 3 bits of Ax and LL)
        '----- format type 3 (0xA); bit 0x08 set: more segments of this APDU follow

Addresses end with the byte whose lowest bit is 1. HCS covers format to control, FCS covers
format to the end of info; both are CRC-16/X.25, low byte first. A long push is split into
segments; the first carries the LLC header ``E6 E7 00`` (or ``E6 E6 00``), which we drop.
Meters also send 0x7E inside a frame (a value byte): reading by length handles that, and a
frame's closing flag may be the next frame's opening flag.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from omdp.decoders.dlms.errors import DlmsChecksumError, DlmsError, DlmsTruncatedError
from omdp.decoders.sml.crc import crc16_x25

FLAG: Final = 0x7E
_FORMAT_TYPE: Final = 0xA0
_SEGMENTED: Final = 0x08
LLC_HEADERS: Final = (b"\xe6\xe7\x00", b"\xe6\xe6\x00")
#: the longest frame the 11-bit length field allows, plus the two flags
MAX_FRAME: Final = 0x7FF + 2


@dataclass(frozen=True, slots=True)
class HdlcFrame:
    """One checked HDLC frame.

    Attributes:
        destination: destination address bytes.
        source: source address bytes.
        control: the control byte.
        information: the information field (may begin with the LLC header).
        segmented: more segments of the same APDU follow.
    """

    destination: bytes
    source: bytes
    control: int
    information: bytes
    segmented: bool


def _fcs_ok(data: bytes | memoryview, wire: bytes | memoryview) -> bool:
    return crc16_x25(data) == (wire[0] << 8 | wire[1])


def _address(frame: bytes, pos: int, end: int, what: str) -> int:
    for i in range(pos, min(pos + 4, end)):
        if frame[i] & 1:
            return i + 1
    msg = f"HDLC {what} address has no final byte (lowest bit set) within 4 bytes"
    raise DlmsError(msg, offset=pos)


def parse_hdlc(frame: bytes) -> HdlcFrame:
    """Check and parse exactly one frame, flags included.

    Raises:
        DlmsChecksumError: HCS or FCS does not match (the message names which).
        DlmsTruncatedError: fewer bytes than the length field says.
        DlmsError: not a type-3 frame, no flags, bad addresses.
    """
    n = len(frame)
    if n < 3 or frame[0] != FLAG:
        msg = "an HDLC frame starts with the flag 0x7E"
        raise DlmsError(msg, offset=0)
    if frame[1] & 0xF0 != _FORMAT_TYPE:
        msg = f"HDLC format byte 0x{frame[1]:02X} is not frame format type 3 (0xA_)"
        raise DlmsError(msg, offset=1)
    length = ((frame[1] & 0x07) << 8) | frame[2]
    total = length + 2
    if n < total:
        msg = f"HDLC frame truncated: its length field says {total} bytes, got {n}"
        raise DlmsTruncatedError(msg, offset=n)
    if frame[total - 1] != FLAG:
        msg = f"HDLC frame of {total} bytes does not end with the flag 0x7E"
        raise DlmsError(msg, offset=total - 1)
    if length < 7:
        msg = f"HDLC length field {length} is too short for addresses, control and FCS"
        raise DlmsError(msg, offset=1)
    body = memoryview(frame)[1 : total - 1]  # format .. FCS
    if not _fcs_ok(body[:-2], body[-2:]):
        msg = f"HDLC FCS {bytes(body[-2:]).hex()} does not match the frame (corrupted frame)"
        raise DlmsChecksumError(msg, offset=total - 3)
    fcs_at = total - 3
    dst_end = _address(frame, 3, fcs_at, "destination")
    src_end = _address(frame, dst_end, fcs_at, "source")
    control_at = src_end
    if control_at >= fcs_at:
        msg = "HDLC frame has no control byte"
        raise DlmsError(msg, offset=control_at)
    info_at = control_at + 1
    if info_at < fcs_at:  # an information field: HCS follows the control byte
        if info_at + 2 > fcs_at:
            msg = "HDLC frame too short for its HCS"
            raise DlmsTruncatedError(msg, offset=info_at)
        if not _fcs_ok(memoryview(frame)[1:info_at], memoryview(frame)[info_at : info_at + 2]):
            msg = f"HDLC HCS {frame[info_at : info_at + 2].hex()} does not match the header"
            raise DlmsChecksumError(msg, offset=info_at)
        info_at += 2
    return HdlcFrame(
        destination=bytes(frame[3:dst_end]),
        source=bytes(frame[dst_end:src_end]),
        control=frame[control_at],
        information=bytes(frame[info_at:fcs_at]),
        segmented=bool(frame[1] & _SEGMENTED),
    )


def frame_size_at(buf: bytes | bytearray, i: int) -> int:
    """Length of a candidate frame starting at ``buf[i]`` (a flag): flags included.

    Returns 0 when no type-3 frame can start there, -1 when more bytes are needed.
    """
    n = len(buf)
    if buf[i] != FLAG:
        return 0
    if i + 3 > n:
        return -1
    if buf[i + 1] & 0xF0 != _FORMAT_TYPE:
        return 0
    total = (((buf[i + 1] & 0x07) << 8) | buf[i + 2]) + 2
    if total < 9:
        return 0
    if i + total > n:
        return -1
    return total if buf[i + total - 1] == FLAG else 0


def strip_llc(information: bytes) -> bytes:
    """The APDU of a first segment: the information field without its LLC header."""
    for header in LLC_HEADERS:
        if information.startswith(header):
            return information[3:]
    return information


def encode_hdlc(
    information: bytes,
    *,
    destination: bytes = b"\x01",
    source: bytes = b"\x02\x23",
    control: int = 0x13,
    segmented: bool = False,
) -> bytes:
    """Build one HDLC frame around ``information`` (HCS and FCS computed)."""
    length = 2 + len(destination) + len(source) + 1 + 2 + len(information) + 2
    if length > 0x7FF:
        msg = f"HDLC frame of {length} bytes exceeds the 11-bit length field"
        raise ValueError(msg)
    fmt = bytes((_FORMAT_TYPE | (_SEGMENTED if segmented else 0) | (length >> 8), length & 0xFF))
    header = fmt + destination + source + bytes((control,))
    hcs = crc16_x25(header).to_bytes(2, "big")
    body = header + hcs + information
    return bytes((FLAG,)) + body + crc16_x25(body).to_bytes(2, "big") + bytes((FLAG,))
