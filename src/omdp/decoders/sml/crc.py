"""CRC16/X.25 as SML 1.04 uses it, per message and for the whole transport file.

Polynomial 0x1021 reflected (0x8408), initial value 0xFFFF, final XOR 0xFFFF. The value is
returned as the number the wire carries: SML writes the CRC low byte first, so a message field
``63 xx yy`` and the file trailer ``xx yy`` both read as big-endian ``xxyy`` of the swapped CRC.
"""

from __future__ import annotations

from typing import Final


def _table() -> tuple[int, ...]:
    rows = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
        rows.append(crc)
    return tuple(rows)


_TABLE: Final = _table()


def crc16_x25(data: bytes | memoryview) -> int:
    """Return the SML CRC16/X.25 of ``data``, byte-swapped as SML transmits it.

    Args:
        data: the bytes covered.

    Returns:
        The 16-bit value as it reads big-endian on the wire.
    """
    crc = 0xFFFF
    for byte in data:
        crc = (crc >> 8) ^ _TABLE[(crc ^ byte) & 0xFF]
    crc ^= 0xFFFF
    return ((crc & 0xFF) << 8) | (crc >> 8)
