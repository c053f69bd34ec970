"""The CRC of EN 13757-4 (wireless M-Bus): CRC-16, polynomial 0x3D65, complemented.

Used for the link-layer blocks of frame formats A and B, the payload CRC of the extended link
layer, and the format signature and data CRC of compact frames (CI 0x79).
"""

from __future__ import annotations

from typing import Final

POLY: Final = 0x3D65


def _table() -> tuple[int, ...]:
    out = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ POLY) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
        out.append(crc)
    return tuple(out)


_TABLE: Final = _table()


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Return the EN 13757 CRC of ``data`` (initial value 0, final complement)."""
    crc = 0
    table = _TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc ^ 0xFFFF
