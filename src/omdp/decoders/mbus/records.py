"""EN 13757-3 data records: DIB (DIF, DIFEs), VIB (VIF, plain text, VIFEs) and the data field.

One generic engine reads every record; what a VIF means comes from :mod:`.tables`, and what the
data bytes hold from the DIF coding and :mod:`.datatypes`. The meaning of a VIB is computed once
and cached by its bytes, so a readout of a known meter is mostly dictionary lookups.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, TypeAlias

from omdp.decoders.mbus import datatypes as dt
from omdp.decoders.mbus import tables as tb
from omdp.decoders.mbus.errors import MBusDecodeError

#: A decoded value: a number, a string (text, hex of opaque bytes), a date, or nothing.
Value: TypeAlias = int | float | str | dt.DateTimeValue | None

MAX_EXTENSIONS: Final = 10  # libmbus (and EN 13757-3) allow at most 10 DIFEs and 10 VIFEs
_BCD_CODINGS: Final = frozenset((0x9, 0xA, 0xB, 0xC, 0xE))
_INT_CODINGS: Final = frozenset((0x1, 0x2, 0x3, 0x4, 0x6, 0x7))
_CACHE_LIMIT: Final = 4096


@dataclass(frozen=True, slots=True)
class VibMeaning:
    """What a whole VIB means: quantity, unit, and how to turn the raw number into the unit."""

    quantity: str
    unit: str
    factor: float
    divisor: int  # > 1 when dividing by an integer is exact where multiplying is not
    multiplier: int  # > 0 when the factor is a whole number, so integers stay integers
    summand: float
    kind: int


@dataclass(frozen=True, slots=True)
class DataRecord:
    """One data record, decoded and normalised, with its raw bytes kept.

    ``value`` is scaled into ``unit`` (libmbus's normalised units); ``raw_value`` is the number,
    text or date as coded, before scaling. ``data`` includes the LVAR byte of variable-length
    fields. Manufacturer data (DIF 0x0F/0x1F) has ``vib`` empty and ``value`` as spaced hex.
    """

    dib: bytes
    vib: bytes
    data: bytes
    function: str
    storage_number: int
    tariff: int
    subunit: int
    quantity: str
    unit: str
    value: Value
    raw_value: Value

    @property
    def raw(self) -> bytes:
        """Return the record's bytes as on the wire."""
        return self.dib + self.vib + self.data


def spaced_hex(data: bytes) -> str:
    """Return bytes as upper-case hex pairs separated by spaces (libmbus's notation)."""
    return data.hex(" ").upper()


_VIB_CACHE: dict[bytes, VibMeaning] = {}


def vib_meaning(vib: bytes) -> VibMeaning:
    """Return the meaning of a VIB (cached); ``vib`` must be complete and well-formed."""
    meaning = _VIB_CACHE.get(vib)
    if meaning is None:
        meaning = _interpret_vib(vib)
        if len(_VIB_CACHE) < _CACHE_LIMIT:
            _VIB_CACHE[vib] = meaning
    return meaning


def _interpret_vib(vib: bytes) -> VibMeaning:
    first = vib[0]
    code = first & 0x7F
    if first in (0xFD, 0xFB):
        info = (tb.FD_VIF if first == 0xFD else tb.FB_VIF)[vib[1] & 0x7F]
        modifiers = vib[2:]
        quantity = info.quantity
    elif code == 0x7C:
        info = tb.PLAIN_TEXT_VIF
        n = vib[1]
        quantity = dt.decode_text(vib[2 : 2 + n])
        modifiers = vib[2 + n :]
    else:
        info = tb.PRIMARY_VIF[code]
        modifiers = vib[1:]
        quantity = info.quantity
    factor, summand = info.scale, info.offset
    if modifiers and info.kind in (tb.KIND_NUMBER, tb.KIND_TEXT):
        m = modifiers[0] & 0x7F
        factor *= tb.VIFE_FACTOR.get(m, 1.0)
        summand += tb.VIFE_SUMMAND.get(m, 0.0)
    divisor = 1
    if factor < 1.0:
        inverse = round(1.0 / factor)
        if abs(inverse * factor - 1.0) < 1e-12:
            divisor = inverse
    multiplier = int(factor) if factor >= 1.0 and factor.is_integer() else 0
    return VibMeaning(quantity, info.unit, factor, divisor, multiplier, summand, info.kind)


def scale(meaning: VibMeaning, raw: int | float) -> int | float:
    """Scale a raw number into the meaning's unit (exact division where the factor is 10^-n)."""
    if meaning.kind in (tb.KIND_MANUFACTURER, tb.KIND_UNKNOWN):
        return raw
    if meaning.divisor > 1:
        value = raw / meaning.divisor
    elif meaning.multiplier:
        value = raw * meaning.multiplier
    else:
        value = raw * meaning.factor
    if meaning.summand:
        return value + meaning.summand
    return value


def decode_value(
    coding: int, data: bytes, meaning: VibMeaning, *, msb_first: bool
) -> tuple[Value, Value]:
    """Decode a data field; return ``(value, raw_value)``.

    Raises:
        ValueError: the field cannot hold what the VIF says (the caller adds the offset).
    """
    if coding == 0xD:
        return _decode_lvar(data, msb_first=msb_first)
    if msb_first and len(data) > 1:
        data = data[::-1]
    kind = meaning.kind
    raw: int | float
    if coding in _INT_CODINGS:
        if kind in (tb.KIND_DATE, tb.KIND_DATETIME) and len(data) in (2, 3, 4, 6):
            date = dt.decode_date(data)
            return date, date
        raw = int.from_bytes(data, "little", signed=True)
    elif coding in _BCD_CODINGS:
        raw = dt.decode_bcd(data)
    elif coding == 0x5:
        raw = dt.decode_real(data)
    else:  # 0x0 no data, 0x8 selection for readout
        return None, None
    return scale(meaning, raw), raw


def _decode_lvar(data: bytes, *, msb_first: bool = False) -> tuple[Value, Value]:
    """Text (back to front), BCD, negative BCD, or a binary number: unsigned and, as every
    M-Bus number, least significant byte first (but in a frame of CI 0x76/0x77, MSB first);
    the number is the bytes' integer as sent, not scaled (libmbus shows the bytes)."""
    lvar = data[0]
    body = data[1:]
    if lvar <= 0xBF:
        text = dt.decode_text(body)
        return text, text
    if lvar <= 0xCF:
        number = dt.decode_bcd(body)
        return number, number
    if lvar <= 0xDF:
        number = -dt.decode_bcd(body)
        return number, number
    number = int.from_bytes(body, "big" if msb_first else "little", signed=False)
    return number, number


def lvar_length(lvar: int) -> int:
    """Return the number of bytes after an LVAR byte.

    Raises:
        ValueError: the LVAR value is reserved.
    """
    if lvar <= 0xBF:
        return lvar
    if lvar <= 0xDF:
        return lvar & 0x0F
    if lvar <= 0xEF:
        return lvar - 0xE0
    if lvar <= 0xF4:
        return 4 * (lvar - 0xEC)
    if lvar == 0xF5:
        return 48
    if lvar == 0xF6:
        return 64
    msg = f"reserved LVAR 0x{lvar:02X}"
    raise ValueError(msg)


def parse_records(
    buf: bytes, start: int, end: int, *, msb_first: bool = False
) -> tuple[DataRecord, ...]:
    """Parse the data records in ``buf[start:end]``; offsets in errors index ``buf``.

    Raises:
        MBusDecodeError: a record is truncated, over-extended or reserved.
    """
    out: list[DataRecord] = []
    append = out.append
    i = start
    while i < end:
        dif = buf[i]
        if dif == 0x2F:  # filler
            i += 1
            continue
        if dif == 0x0F or dif == 0x1F:  # noqa: PLR1714 - the two codes read best side by side
            rest = bytes(buf[i + 1 : end])
            function = "manufacturerSpecific" if dif == 0x0F else "moreRecordsFollow"
            text = spaced_hex(rest)
            append(DataRecord(bytes((dif,)), b"", rest, function, 0, 0, 0, "", "", text, text))
            break
        if dif & 0x0F == 0x0F:
            msg = f"reserved special-function DIF 0x{dif:02X}"
            raise MBusDecodeError(msg, offset=i)
        rec_start = i
        i += 1
        storage = (dif >> 6) & 1
        tariff = subunit = 0
        ext = dif & 0x80
        n = 0
        while ext:
            if i >= end:
                msg = "premature end of record: DIFE expected"
                raise MBusDecodeError(msg, offset=i)
            if n == MAX_EXTENSIONS:
                msg = "more than 10 DIFEs"
                raise MBusDecodeError(msg, offset=i)
            dife = buf[i]
            storage |= (dife & 0x0F) << (1 + 4 * n)
            tariff |= ((dife >> 4) & 3) << (2 * n)
            subunit |= ((dife >> 6) & 1) << n
            n += 1
            i += 1
            ext = dife & 0x80
        dib_end = i
        i = _skip_vib(buf, i, end)
        coding = dif & 0x0F
        length = tb.DATA_LENGTH[coding]
        data_start = i
        if length < 0:  # LVAR
            if i >= end:
                msg = "premature end of record: LVAR expected"
                raise MBusDecodeError(msg, offset=i)
            try:
                length = 1 + lvar_length(buf[i])
            except ValueError as exc:
                raise MBusDecodeError(str(exc), offset=i) from exc
        i += length
        if i > end:
            msg = f"premature end of data: {length} data bytes expected, {end - data_start} left"
            raise MBusDecodeError(msg, offset=data_start)
        vib = bytes(buf[dib_end:data_start])
        data = bytes(buf[data_start:i])
        meaning = vib_meaning(vib)
        try:
            value, raw = decode_value(coding, data, meaning, msb_first=msb_first)
        except ValueError as exc:
            raise MBusDecodeError(str(exc), offset=data_start) from exc
        append(
            DataRecord(
                bytes(buf[rec_start:dib_end]),
                vib,
                data,
                tb.FUNCTIONS[(dif >> 4) & 3],
                storage,
                tariff,
                subunit,
                meaning.quantity,
                meaning.unit,
                value,
                raw,
            )
        )
    return tuple(out)


def _skip_vib(buf: bytes, i: int, end: int) -> int:
    """Return the index after the VIB that starts at ``i``, checking its structure."""
    if i >= end:
        msg = "premature end of record: VIF expected"
        raise MBusDecodeError(msg, offset=i)
    vif = buf[i]
    i += 1
    if vif & 0x7F == 0x7C:  # plain-text unit: length, text, then the VIFEs
        if i >= end:
            msg = "premature end of record: plain-text length expected"
            raise MBusDecodeError(msg, offset=i)
        n = buf[i]
        if i + 1 + n > end:
            msg = f"premature end of plain-text VIF: {n} characters announced"
            raise MBusDecodeError(msg, offset=i)
        i += 1 + n
    elif vif in (0xFB, 0xFD) and i >= end:
        msg = "premature end of record: extension VIF code expected"
        raise MBusDecodeError(msg, offset=i)
    ext = vif & 0x80
    n = 0
    while ext:
        if i >= end:
            msg = "premature end of record: VIFE expected"
            raise MBusDecodeError(msg, offset=i)
        if n == MAX_EXTENSIONS:
            msg = "more than 10 VIFEs"
            raise MBusDecodeError(msg, offset=i)
        ext = buf[i] & 0x80
        n += 1
        i += 1
    return i
