"""CRC16/X.25 as SML 1.04 and DLMS HDLC (HCS/FCS) use it.

Polynomial 0x1021 reflected (0x8408), initial value 0xFFFF, final XOR 0xFFFF. The value is
returned as the number the wire carries: SML and HDLC write the CRC low byte first, so a field
``xx yy`` reads as big-endian ``xxyy`` of the swapped CRC.

The reflected CRC is computed in C by the standard library: X.25 over some bytes is the
bit-reversed CRC-CCITT (``binascii.crc_hqx``, the same polynomial unreflected, the same
all-ones initial value) over the bit-reversed bytes, and reversing the bits of every byte is a
``bytes.translate`` with a 256-entry table: much faster than a table-driven loop in Python
(docs/benchmarks.md, "CRCs"), with no dependency.
"""

from __future__ import annotations

from binascii import crc_hqx
from typing import Final

#: every byte with its bits in reverse order (bit 0 <-> bit 7 ...)
_REVERSED: Final = bytes(int(f"{b:08b}"[::-1], 2) for b in range(256))


def crc16_x25(data: bytes | bytearray | memoryview) -> int:
    """Return the CRC16/X.25 of ``data``, byte-swapped as SML and HDLC transmit it.

    Args:
        data: the bytes covered.

    Returns:
        The 16-bit value as it reads big-endian on the wire.
    """
    crc = crc_hqx(bytes(data).translate(_REVERSED), 0xFFFF) ^ 0xFFFF
    # the unreflected result bit-reversed is the X.25 CRC; its low byte goes first on the wire
    return (_REVERSED[crc >> 8] << 8) | _REVERSED[crc & 0xFF]
