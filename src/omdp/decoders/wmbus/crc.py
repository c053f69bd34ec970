"""The CRC of EN 13757-4 (wireless M-Bus): CRC-16, polynomial 0x3D65, complemented.

Used for the link-layer blocks of frame formats A and B, the payload CRC of the extended link
layer, and the format signature and data CRC of compact frames (CI 0x79). ``fastcrc`` computes
it (CRC-16/EN-13757) in C rather than a table loop in Python, which matters because every
telegram without CRCs is checked for format B's (docs/benchmarks.md, "CRCs").
"""

from __future__ import annotations

from fastcrc import crc16 as _crc16


def crc16(data: bytes | bytearray | memoryview) -> int:
    """Return the EN 13757 CRC of ``data`` (initial value 0, final complement)."""
    return int(_crc16.en_13757(bytes(data)))
