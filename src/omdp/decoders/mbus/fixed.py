"""The fixed data structure (CI 0x73/0x77, EN 1434-3 heritage): two counters with unit codes.

Layout: ``ID(4, BCD) ACC STATUS MED/UNIT(2) COUNTER1(4) COUNTER2(4)``. The medium is spread over
the top two bits of both MED/UNIT bytes; each counter has a 6-bit unit code. Status bit 7
clear means the counters are BCD (libmbus's reading), bit 6 set means stored values.
"""

from __future__ import annotations

from omdp.decoders.mbus import tables as tb
from omdp.decoders.mbus.datatypes import decode_bcd
from omdp.decoders.mbus.errors import MBusDecodeError
from omdp.decoders.mbus.header import Header
from omdp.decoders.mbus.records import DataRecord


def decode_fixed(
    buf: bytes, start: int, end: int, *, msb_first: bool
) -> tuple[Header, tuple[DataRecord, ...]]:
    """Decode a fixed data structure; return its header and its two counters as records.

    Raises:
        MBusDecodeError: the structure is not 16 bytes long.
    """
    if end - start != 16:
        msg = f"fixed data structure must be 16 bytes, got {end - start}"
        raise MBusDecodeError(msg, offset=start)
    b = buf[start:end]
    ident = b[0:4] if msb_first else b[3::-1]
    status = b[5]
    mu0, mu1 = b[6], b[7]
    medium = ((mu0 & 0xC0) >> 6) | ((mu1 & 0xC0) >> 4)
    header = Header(ident.hex().upper(), None, None, medium, b[4], status, None)
    stored = bool(status & 0x40)
    records = []
    for k, unit_code in enumerate((mu0 & 0x3F, mu1 & 0x3F)):
        data = bytes(b[8 + 4 * k : 12 + 4 * k])
        wire = data[::-1] if msb_first else data
        raw = int.from_bytes(wire, "little") if status & 0x80 else decode_bcd(wire)
        records.append(
            DataRecord(
                b"",
                b"",
                data,
                "instantaneous",
                1 if stored else 0,
                0,
                0,
                "",
                tb.FIXED_UNIT[unit_code],
                raw,
                raw,
            )
        )
    return header, tuple(records)
