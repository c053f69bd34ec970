"""CRC16/ARC, the checksum DSMR 4 and later put after the ``!`` of every P1 telegram.

Polynomial 0x8005 reflected (0xA001), initial value 0, no final XOR, computed over every byte from
the leading ``/`` up to and including the ``!``.
"""

from __future__ import annotations

from typing import Final


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        rows.append(crc)
    return tuple(rows)


_TABLE: Final = _table()


def crc16_arc(data: bytes) -> int:
    """Return the CRC16/ARC of ``data``.

    Args:
        data: the bytes to check.

    Returns:
        The 16-bit CRC.
    """
    crc = 0
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    return crc
