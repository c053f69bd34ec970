"""EN 13757-4 link layer: frame formats A and B, their block CRCs, and the link header.

Both formats start with the same 10-byte first block ``L C M(2) A(6)``; ``A`` is the
identification number (4 bytes BCD, least significant first), the version and the device type.

- Format A: every block carries its own CRC; the first block is 10 bytes, then 16-byte blocks,
  the last one shorter. ``L`` counts the bytes after it without the CRCs.
- Format B: the first block has no CRC; the second block runs to byte 127 at most and ends in a
  CRC over the first two blocks; a third block, if any, has its own CRC. ``L`` counts the CRCs.

Receivers usually hand telegrams over with the CRCs already checked and removed; rtl-wmbus and
raw captures keep them. :func:`strip_crcs` tells the three apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from omdp.decoders.mbus.header import manufacturer_letters
from omdp.decoders.mbus.tables import MEDIUM
from omdp.decoders.wmbus.crc import crc16
from omdp.decoders.wmbus.errors import WMBusCrcError, WMBusTruncatedError

FORMAT_A: Final = "A"
FORMAT_B: Final = "B"
FORMAT_NONE: Final = "none"  # CRCs already removed (what most receivers deliver)
FORMATS: Final = (FORMAT_A, FORMAT_B, FORMAT_NONE)

LINK_HEADER_LEN: Final = 10  # L C M M A A A A A A
_B_SECOND_END: Final = 128  # format B: the second block ends (with its CRC) at byte 127

#: C-field values (EN 13757-4 table 4) -> name.
C_FIELDS: Final = {
    0x44: "SND_NR",
    0x46: "SND_IR",
    0x47: "ACC_NR",
    0x48: "ACC_DMD",
    0x08: "RSP_UD",
    0x06: "SND_NKE",
    0x53: "SND_UD",
    0x73: "SND_UD2",
    0x5A: "REQ_UD1",
    0x5B: "REQ_UD2",
    0x00: "ACK",
    0x01: "NACK",
    0x40: "SND_NKE",
    0x4A: "CNF_IR",
}


@dataclass(frozen=True, slots=True)
class LinkHeader:
    """The link layer's first block: length, C-field, M-field and A-field."""

    length: int
    control: int
    manufacturer_code: int
    id: str  # the 8 digits as printed (BCD, most significant first)
    version: int
    device_type: int

    @property
    def manufacturer(self) -> str:
        """Return the three letters of the M-field."""
        return manufacturer_letters(self.manufacturer_code)

    @property
    def medium_name(self) -> str:
        """Return the device type as text (EN 13757-3 medium table)."""
        return MEDIUM[self.device_type]

    @property
    def address(self) -> bytes:
        """Return the 8 bytes ``M(2) A(6)`` as on the wire (for IVs and key derivation)."""
        return (
            self.manufacturer_code.to_bytes(2, "little")
            + bytes.fromhex(self.id)[::-1]
            + bytes((self.version, self.device_type))
        )


def parse_link_header(frame: bytes) -> LinkHeader:
    """Read the first block of a telegram without CRCs.

    Raises:
        WMBusTruncatedError: fewer than 10 bytes.
    """
    if len(frame) < LINK_HEADER_LEN:
        msg = f"telegram truncated: {len(frame)} bytes, the link header alone needs 10"
        raise WMBusTruncatedError(msg, offset=len(frame))
    return LinkHeader(
        frame[0],
        frame[1],
        int.from_bytes(frame[2:4], "little"),
        frame[7:3:-1].hex().upper(),
        frame[8],
        frame[9],
    )


def _a_length(length: int) -> int:
    """Return the bytes a format A frame with this L-field takes, CRCs included."""
    rest = max(0, length + 1 - LINK_HEADER_LEN)
    return length + 1 + 2 * (1 + (rest + 15) // 16)


def wire_length(length: int, frame_format: str) -> int:
    """Return how many bytes a telegram with this L-field takes in a frame format."""
    return _a_length(length) if frame_format == FORMAT_A else length + 1


def _check(block: bytes, crc_bytes: bytes, at: int) -> None:
    want = int.from_bytes(crc_bytes, "big")
    got = crc16(block)
    if want != got:
        msg = f"bad CRC: block CRC 0x{want:04X}, computed 0x{got:04X}"
        raise WMBusCrcError(msg, offset=at)


def strip_format_a(data: bytes) -> bytes:
    """Check and remove the block CRCs of a format A frame.

    Raises:
        WMBusCrcError: a block CRC does not match.
        WMBusTruncatedError: the frame is shorter than its L-field says.
    """
    need = _a_length(data[0])
    if len(data) < need:
        msg = f"telegram truncated: format A with L={data[0]} needs {need} bytes, got {len(data)}"
        raise WMBusTruncatedError(msg, offset=len(data))
    out = bytearray()
    i = 0
    size = LINK_HEADER_LEN
    while i < need:
        block = data[i : i + size]
        _check(block, data[i + size : i + size + 2], i + size)
        out += block
        i += size + 2
        size = min(16, need - i - 2)
    return bytes(out)


def strip_format_b(data: bytes) -> bytes:
    """Check and remove the CRCs of a format B frame.

    Raises:
        WMBusCrcError: a CRC does not match.
        WMBusTruncatedError: the frame is shorter than its L-field says.
    """
    need = data[0] + 1
    if len(data) < need or need < LINK_HEADER_LEN + 2:
        msg = f"telegram truncated: format B with L={data[0]} needs {need} bytes, got {len(data)}"
        raise WMBusTruncatedError(msg, offset=len(data))
    second_end = min(need, _B_SECOND_END)
    _check(data[: second_end - 2], data[second_end - 2 : second_end], second_end - 2)
    out = bytearray(data[: second_end - 2])
    if need > second_end:
        _check(data[second_end : need - 2], data[need - 2 : need], need - 2)
        out += data[second_end : need - 2]
    out[0] = len(out) - 1  # L as if the CRCs had never been there
    return bytes(out)


def _b_crcs_match(data: bytes) -> bool:
    try:
        strip_format_b(data)
    except (WMBusCrcError, WMBusTruncatedError):
        return False
    return True


def strip_crcs(data: bytes, frame_format: str = "auto") -> tuple[bytes, str]:
    """Return the telegram without link-layer CRCs, and the format it came in.

    ``auto`` takes a frame whose length is exactly that of format A with this L-field as
    format A (its CRCs must then match), a frame of exactly L + 1 bytes whose format B CRCs
    match as format B, and any other frame of L + 1 bytes as already without CRCs. Bytes after
    a telegram (a receiver's RSSI byte, noise) are left out: the telegram is what L says.

    Raises:
        WMBusCrcError: a CRC of the format found (or given) does not match.
        WMBusTruncatedError: the frame is shorter than its L-field says.
    """
    if not data:
        msg = "empty telegram"
        raise WMBusTruncatedError(msg, offset=0)
    length = data[0]
    if frame_format == FORMAT_A:
        return strip_format_a(data), FORMAT_A
    if frame_format == FORMAT_B:
        return strip_format_b(data), FORMAT_B
    if frame_format == FORMAT_NONE:
        if len(data) < length + 1:
            msg = f"telegram truncated: L={length} needs {length + 1} bytes, got {len(data)}"
            raise WMBusTruncatedError(msg, offset=len(data))
        return data[: length + 1], FORMAT_NONE
    a_length = _a_length(length)
    if len(data) == a_length and len(data) != length + 1:
        return strip_format_a(data), FORMAT_A
    if len(data) == length + 1:
        if _b_crcs_match(data):
            return strip_format_b(data), FORMAT_B
        return data, FORMAT_NONE
    if len(data) < length + 1:
        msg = f"telegram truncated: L={length} needs {length + 1} bytes, got {len(data)}"
        raise WMBusTruncatedError(msg, offset=len(data))
    if len(data) > a_length:  # format A followed by something (a receiver's RSSI, noise)?
        try:
            return strip_format_a(data[:a_length]), FORMAT_A
        except WMBusCrcError:
            pass
    return data[: length + 1], FORMAT_NONE  # bytes after the telegram: the caller says so


def add_crcs(frame: bytes, frame_format: str) -> bytes:
    """Add the link-layer CRCs of ``frame_format`` to a telegram without CRCs."""
    if frame_format == FORMAT_NONE:
        return frame
    if frame_format == FORMAT_A:
        out = bytearray()
        i = 0
        size = LINK_HEADER_LEN
        while i < len(frame):
            block = frame[i : i + size]
            out += block + crc16(block).to_bytes(2, "big")
            i += size
            size = 16
        return bytes(out)
    body = bytearray(frame)
    total = len(frame) + 2 + (2 if len(frame) + 2 > _B_SECOND_END else 0)
    body[0] = total - 1
    second = bytes(body[: min(len(body), _B_SECOND_END - 2)])
    out = bytearray(second + crc16(second).to_bytes(2, "big"))
    third = bytes(body[_B_SECOND_END - 2 :])
    if third:
        out += third + crc16(third).to_bytes(2, "big")
    return bytes(out)
