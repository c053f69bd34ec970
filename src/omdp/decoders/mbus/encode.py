"""Build M-Bus frames and records from the same tables the decoder reads.

:func:`make_record` turns a DIB description, a VIB and a raw value into the
:class:`DataRecord` the decoder would produce for those bytes; :func:`encode` turns a
:class:`Frame` back into bytes, so that ``decode(encode(frame)) == frame``.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

from omdp.decoders.mbus import datatypes as dt
from omdp.decoders.mbus import link
from omdp.decoders.mbus import tables as tb
from omdp.decoders.mbus.application import (
    CI_FIXED,
    CI_FIXED_MSB,
    CI_SELECT,
    CI_SHORT_HEADER,
    CI_VARIABLE,
    CI_VARIABLE_MSB,
    Frame,
)
from omdp.decoders.mbus.errors import MBusEncodeError
from omdp.decoders.mbus.header import Header
from omdp.decoders.mbus.records import (
    MAX_EXTENSIONS,
    DataRecord,
    Value,
    decode_value,
    spaced_hex,
    vib_meaning,
)

#: coding name -> DIF data field nibble.
CODINGS: Final = MappingProxyType(
    {
        "none": 0x0,
        "int8": 0x1,
        "int16": 0x2,
        "int24": 0x3,
        "int32": 0x4,
        "real32": 0x5,
        "int48": 0x6,
        "int64": 0x7,
        "selection": 0x8,
        "bcd2": 0x9,
        "bcd4": 0xA,
        "bcd6": 0xB,
        "bcd8": 0xC,
        "lvar": 0xD,
        "bcd12": 0xE,
    }
)
_FUNCTION_BITS: Final = MappingProxyType({name: n for n, name in enumerate(tb.FUNCTIONS)})


def _vib_index() -> dict[tuple[str, str, float], bytes]:
    index: dict[tuple[str, str, float], bytes] = {}
    tables = ((b"", tb.PRIMARY_VIF), (b"\xfb", tb.FB_VIF), (b"\xfd", tb.FD_VIF))
    for prefix, table in reversed(tables):  # primary codes win over extension codes
        for code, info in enumerate(table):
            if info.kind in (tb.KIND_UNKNOWN, tb.KIND_TEXT, tb.KIND_MANUFACTURER):
                continue
            vib = bytes((prefix[0], code)) if prefix else bytes((code,))
            index[(info.quantity, info.unit, info.scale)] = vib
    return index


#: (quantity, unit, scale) -> the VIB that means it.
VIB_BY_MEANING: Final = MappingProxyType(_vib_index())


def vib_for(quantity: str, unit: str, scale: float = 1.0) -> bytes:
    """Return the VIB for a quantity in a unit with a scale, e.g. ``("Energy", "Wh", 1000.0)``.

    Raises:
        MBusEncodeError: no VIF of the tables means that.
    """
    for (q, u, s), vib in VIB_BY_MEANING.items():
        if q == quantity and u == unit and abs(s - scale) <= 1e-12 * max(1.0, abs(scale)):
            return vib
    msg = f"no VIF for {quantity} in {scale:g} {unit}"
    raise MBusEncodeError(msg)


def encode_dib(coding: int, function: str, storage: int, tariff: int, subunit: int) -> bytes:
    """Return DIF and DIFEs for a data field coding and the record's storage/tariff/sub-unit."""
    if storage < 0 or tariff < 0 or subunit < 0:
        msg = "storage number, tariff and sub-unit must not be negative"
        raise MBusEncodeError(msg)
    dif = coding | _FUNCTION_BITS[function] << 4 | (storage & 1) << 6
    storage >>= 1
    difes = bytearray()
    while storage or tariff or subunit:
        difes.append((storage & 0x0F) | (tariff & 3) << 4 | (subunit & 1) << 6)
        storage, tariff, subunit = storage >> 4, tariff >> 2, subunit >> 1
    if len(difes) > MAX_EXTENSIONS:
        msg = "storage, tariff or sub-unit too large for 10 DIFEs"
        raise MBusEncodeError(msg)
    if not difes:
        return bytes((dif,))
    for k in range(len(difes) - 1):
        difes[k] |= 0x80
    return bytes((dif | 0x80,)) + bytes(difes)


def encode_data(coding: int, raw: Value) -> bytes:
    """Encode a raw value in a DIF data field coding (LSB first).

    Raises:
        MBusEncodeError: the value does not fit the coding.
    """
    length = tb.DATA_LENGTH[coding]
    if isinstance(raw, dt.DateTimeValue):
        data = dt.encode_date(raw)
        if len(data) != length:
            msg = f"a type {raw.coding} date is {len(data)} bytes, coding 0x{coding:X} has {length}"
            raise MBusEncodeError(msg)
        return data
    if coding in (0x0, 0x8):
        return b""
    if coding == 0x5 and isinstance(raw, int | float):
        return dt.encode_real(float(raw))
    if coding == 0xD:
        if isinstance(raw, str):
            text = dt.encode_text(raw)
            if len(text) > 0xBF:
                msg = "LVAR strings hold at most 191 characters"
                raise MBusEncodeError(msg)
            return bytes((len(text),)) + text
        if isinstance(raw, int) and 0 <= raw < 1 << 120:
            n = max(1, (raw.bit_length() + 7) // 8)
            return bytes((0xE0 + n,)) + raw.to_bytes(n, "little")
    if isinstance(raw, int):
        if 0x9 <= coding <= 0xE:
            return dt.encode_bcd(raw, length)
        return dt.encode_int(raw, length)
    msg = f"cannot encode {raw!r} with data coding 0x{coding:X}"
    raise MBusEncodeError(msg)


def make_record(
    vib: bytes,
    raw: Value,
    *,
    coding: str = "int32",
    function: str = "instantaneous",
    storage: int = 0,
    tariff: int = 0,
    subunit: int = 0,
) -> DataRecord:
    """Build the record the decoder yields for these fields: DIB, VIB, data and scaled value.

    Args:
        vib: the VIB bytes (see :func:`vib_for`; plain text VIBs are ``7C len text``).
        raw: the value as coded: int, float (real32), str (lvar), :class:`DateTimeValue`.
        coding: a key of :data:`CODINGS`.
        function: ``instantaneous``, ``maximum``, ``minimum`` or ``error``.
        storage: storage number; tariff and subunit likewise.
    """
    code = CODINGS[coding]
    dib = encode_dib(code, function, storage, tariff, subunit)
    data = encode_data(code, raw)
    meaning = vib_meaning(vib)
    value, raw_value = decode_value(code, data, meaning, msb_first=False)
    return DataRecord(
        dib,
        vib,
        data,
        function,
        storage,
        tariff,
        subunit,
        meaning.quantity,
        meaning.unit,
        value,
        raw_value,
    )


def make_manufacturer_record(data: bytes, *, more_records_follow: bool = False) -> DataRecord:
    """Build a DIF 0x0F (or 0x1F, "more records follow") record; it must come last."""
    dif = 0x1F if more_records_follow else 0x0F
    function = "moreRecordsFollow" if more_records_follow else "manufacturerSpecific"
    text = spaced_hex(data)
    return DataRecord(bytes((dif,)), b"", data, function, 0, 0, 0, "", "", text, text)


def encode_header(header: Header, ci: int) -> bytes:
    """Encode the data header that CI ``ci`` carries (long, short or selection).

    Raises:
        MBusEncodeError: a field the CI needs is missing.
    """
    if ci == CI_SHORT_HEADER:
        fields = (header.access_number, header.status, header.signature)
        if any(f is None for f in fields):
            msg = "a short header needs access number, status and signature"
            raise MBusEncodeError(msg)
        return bytes((header.access_number or 0, header.status or 0)) + (
            header.signature or 0
        ).to_bytes(2, "little")
    if header.id is None or header.manufacturer_code is None:
        msg = "a long header needs id and manufacturer"
        raise MBusEncodeError(msg)
    ident = bytes.fromhex(header.id.rjust(8, "0"))
    man = header.manufacturer_code.to_bytes(2, "little")
    head = ident[::-1] + man + bytes((header.version or 0, header.medium or 0))
    if ci == CI_SELECT:
        return head
    tail = bytes((header.access_number or 0, header.status or 0))
    sig = (header.signature or 0).to_bytes(2, "little")
    if ci == CI_VARIABLE_MSB:
        return ident + man[::-1] + head[6:8] + tail + sig[::-1]
    return head + tail + sig


def _encode_fixed(frame: Frame) -> bytes:
    h = frame.header
    if h is None or h.id is None or len(frame.records) != 2:
        msg = "a fixed data structure needs a header with id and two counters"
        raise MBusEncodeError(msg)
    units = [tb.FIXED_UNIT.index(r.unit) for r in frame.records]
    medium = h.medium or 0
    mu = bytes(((medium & 3) << 6 | units[0], (medium >> 2 & 3) << 6 | units[1]))
    ident = bytes.fromhex(h.id)
    out = (ident if frame.msb_first else ident[::-1]) + bytes((h.access_number or 0, h.status or 0))
    out += mu
    for r in frame.records:
        out += r.data
    return out


def encode(frame: Frame) -> bytes:
    """Encode a frame (any kind) to bytes; the inverse of :func:`decode`.

    Raises:
        MBusEncodeError: the frame's fields cannot be encoded.
    """
    if frame.ci is None:
        return link.encode_link(link.LinkFrame(frame.kind, frame.control, frame.address))
    if frame.ci in (CI_FIXED, CI_FIXED_MSB):
        user = _encode_fixed(frame)
    else:
        user = b""
        if frame.header is not None:
            user = encode_header(frame.header, frame.ci)
        elif frame.ci in (CI_VARIABLE, CI_VARIABLE_MSB, CI_SHORT_HEADER, CI_SELECT):
            msg = f"CI 0x{frame.ci:02X} needs a header"
            raise MBusEncodeError(msg)
        user += b"".join(r.dib + r.vib + r.data for r in frame.records)
    try:
        return link.encode_link(
            link.LinkFrame(link.KIND_LONG, frame.control, frame.address, frame.ci, user)
        )
    except ValueError as exc:
        raise MBusEncodeError(str(exc)) from exc


def make_frame(
    ci: int,
    records: tuple[DataRecord, ...] = (),
    *,
    header: Header | None = None,
    control: int = link.C_RSP_UD,
    address: int = 0,
) -> Frame:
    """Build a long (or, without user data, control) frame as :func:`decode` would return it."""
    empty = not records and header is None
    kind = link.KIND_CONTROL if empty else link.KIND_LONG
    return Frame(
        kind,
        control,
        address,
        ci,
        header,
        records,
        msb_first=ci in (CI_VARIABLE_MSB, CI_FIXED_MSB),
        fixed=ci in (CI_FIXED, CI_FIXED_MSB),
    )
