"""EN 13757-3 application layer: CI field, fixed and variable data structures, and ``decode``.

Variable data structure (CI 0x72, LSB first; 0x76, MSB first)::

    ID(4, BCD) MAN(2) VER MED ACC STATUS SIG(2) | records...

CI 0x7A has the short header (ACC STATUS SIG(2)), CI 0x78 none. The fixed data structure
(CI 0x73 LSB first, 0x77 MSB first) is ``ID(4) ACC STATUS MED/UNIT(2) COUNTER1(4) COUNTER2(4)``.
Master-to-slave frames carry records (CI 0x51) or a selection (CI 0x52, same layout as the long
header up to the medium, with ``F`` wildcards). CI 0x70 is the slave's application error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from omdp.decoders.mbus import link
from omdp.decoders.mbus import tables as tb
from omdp.decoders.mbus.datatypes import decode_bcd
from omdp.decoders.mbus.errors import MBusDecodeError, MBusSlaveError
from omdp.decoders.mbus.fixed import decode_fixed
from omdp.decoders.mbus.header import Header
from omdp.decoders.mbus.records import DataRecord, parse_records

CI_DATA_SEND: Final = 0x51
CI_SELECT: Final = 0x52
CI_APP_RESET: Final = 0x50
CI_ERROR: Final = 0x70
CI_VARIABLE: Final = 0x72
CI_VARIABLE_MSB: Final = 0x76
CI_FIXED: Final = 0x73
CI_FIXED_MSB: Final = 0x77
CI_NO_HEADER: Final = 0x78
CI_SHORT_HEADER: Final = 0x7A

_USER_DATA_AT: Final = 7  # offset of the first byte after CI in a long frame


@dataclass(frozen=True, slots=True)
class Frame:
    """A decoded M-Bus frame: link fields, header and records.

    ``ci`` is ``None`` for ack and short frames; ``header`` is ``None`` where the CI has none.
    ``msb_first`` is set for CI 0x76/0x77; ``fixed`` for the fixed data structure.
    """

    kind: str
    control: int = 0
    address: int = 0
    ci: int | None = None
    header: Header | None = None
    records: tuple[DataRecord, ...] = ()
    msb_first: bool = False
    fixed: bool = False

    @property
    def more_records_follow(self) -> bool:
        """Return whether the slave has another telegram (last record DIF 0x1F)."""
        return bool(self.records) and self.records[-1].function == "moreRecordsFollow"


def decode(data: bytes | bytearray | memoryview) -> Frame:
    """Decode one complete M-Bus frame (link and application layer).

    Args:
        data: exactly one frame, from the start byte to the stop byte.

    Returns:
        The frame with its header and normalised records.

    Raises:
        MBusChecksumError: the checksum does not match.
        MBusSlaveError: the slave answered with an application error (CI 0x70).
        MBusDecodeError: any other reason the bytes are not a frame we can read.
    """
    buf = bytes(data)
    lf = link.parse_link(buf)
    if lf.ci is None:
        return Frame(lf.kind, lf.control, lf.address)
    return decode_application(lf, buf)


def decode_application(lf: link.LinkFrame, buf: bytes) -> Frame:
    """Decode the application layer of a parsed long or control frame.

    ``buf`` is the whole frame; user data sits at ``buf[7:-2]`` and error offsets index ``buf``.
    """
    ci = lf.ci
    if lf.kind == link.KIND_CONTROL and ci != CI_ERROR:  # CI only, no data to read
        return Frame(lf.kind, lf.control, lf.address, ci)
    start = _USER_DATA_AT
    end = len(buf) - 2
    if ci in (CI_VARIABLE, CI_VARIABLE_MSB):
        msb = ci == CI_VARIABLE_MSB
        header = _long_header(buf, start, end, msb=msb)
        records = parse_records(buf, start + 12, end, msb_first=msb)
        return Frame(lf.kind, lf.control, lf.address, ci, header, records, msb_first=msb)
    if ci == CI_SHORT_HEADER:
        _need(buf, start, end, 4, "short header")
        header = Header(
            None,
            None,
            None,
            None,
            buf[start],
            buf[start + 1],
            int.from_bytes(buf[start + 2 : start + 4], "little"),
        )
        records = parse_records(buf, start + 4, end)
        return Frame(lf.kind, lf.control, lf.address, ci, header, records)
    if ci in (CI_FIXED, CI_FIXED_MSB):
        header, records = decode_fixed(buf, start, end, msb_first=ci == CI_FIXED_MSB)
        return Frame(
            lf.kind,
            lf.control,
            lf.address,
            ci,
            header,
            records,
            msb_first=ci == CI_FIXED_MSB,
            fixed=True,
        )
    if ci in (CI_NO_HEADER, CI_DATA_SEND):
        return Frame(lf.kind, lf.control, lf.address, ci, None, parse_records(buf, start, end))
    if ci == CI_SELECT:
        _need(buf, start, end, 8, "selection")
        header = _selection_header(buf, start)
        return Frame(
            lf.kind, lf.control, lf.address, ci, header, parse_records(buf, start + 8, end)
        )
    if ci == CI_ERROR:
        code = buf[start] if end > start else None
        text = tb.APPLICATION_ERRORS.get(code or 0, "Reserved")
        raise MBusSlaveError(text, code=code, offset=start if code is not None else 6)
    if ci == CI_APP_RESET or 0xB8 <= ci <= 0xBF:  # type: ignore[operator]
        return Frame(lf.kind, lf.control, lf.address, ci, None, ())
    msg = f"unsupported CI field 0x{ci:02X}"
    raise MBusDecodeError(msg, offset=6)


def _need(buf: bytes, start: int, end: int, n: int, what: str) -> None:
    if end - start < n:
        msg = f"{what} truncated: {n} bytes expected, {end - start} left"
        raise MBusDecodeError(msg, offset=end)


def _long_header(buf: bytes, start: int, end: int, *, msb: bool) -> Header:
    _need(buf, start, end, 12, "data header")
    h = buf[start : start + 12]
    if msb:
        ident, man, sig = h[0:4], h[5:3:-1], h[11:9:-1]
    else:
        ident, man, sig = h[3::-1], h[4:6], h[10:12]
    return Header(
        ident.hex().upper(),
        int.from_bytes(man, "little"),
        h[6],
        h[7],
        h[8],
        h[9],
        int.from_bytes(sig, "little"),
    )


def _selection_header(buf: bytes, start: int) -> Header:
    h = buf[start : start + 8]
    return Header(
        h[3::-1].hex().upper(), int.from_bytes(h[4:6], "little"), h[6], h[7], None, None, None
    )


def id_number(header: Header) -> int | None:
    """Return the identification number as an integer (libmbus prints it so), if it is BCD."""
    if header.id is None or not header.id.isdigit():
        return None
    return decode_bcd(bytes.fromhex(header.id)[::-1])
