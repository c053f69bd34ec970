"""Records of a radio telegram re-read through the 2018 tables, compact profiles expanded.

:func:`reread` takes a record the wired engine parsed (structure, data bytes, raw value) and
gives it the quantity, unit and value :mod:`.vib` finds for its whole VIB. A record whose VIB
carries a *compact profile* VIFE (EN 13757-3:2018: ``1F`` compact profile, ``1E`` with register
numbers, ``13`` inverse) holds many values in one variable-length field:

``LVAR, spacing control, spacing value, element, element, ...``

The spacing control byte says how the elements count (bits 7-6: absolute values, positive or
negative increments, signed differences), the spacing unit (bits 5-4: seconds, minutes, hours,
days; a spacing value of 0xFE with days means one month, 0xFD half a month) and the elements'
data coding (bits 3-0, as a DIF's). Each element becomes a record of its own, with the profile
record's DIB and VIB, ``storageNumber`` counting on from the profile's (element *k*, from 1,
in the order sent), and the VIF's quantity (``... increment``, ``... decrement`` or ``...
difference`` when the elements are not absolute values). An element holding the coding's
"invalid" value (all bits set for BCD, the most negative integer) has no value.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Final

from omdp.decoders.mbus import datatypes as dt
from omdp.decoders.mbus.records import DataRecord, Value, vib_meaning
from omdp.decoders.mbus.tables import DATA_LENGTH
from omdp.decoders.wmbus.vib import (
    KIND_DATE,
    KIND_DATETIME,
    KIND_MANUFACTURER,
    KIND_UNKNOWN,
    Meaning,
    meaning,
)

_BCD: Final = frozenset((0x9, 0xA, 0xB, 0xC, 0xE))
_INT: Final = frozenset((0x1, 0x2, 0x3, 0x4, 0x6, 0x7))
_MODES: Final = ("", " increment", " decrement", " difference")
_LVAR_CODING: Final = 0x0D


def scaled(raw: int | float, factor: float, offset: float = 0.0) -> int | float:
    """Return ``raw * factor + offset``, dividing exactly where the factor is 10^-n."""
    value: int | float
    if factor == 1.0:
        value = raw
    elif factor < 1.0 and abs(round(1 / factor) * factor - 1.0) < 1e-12:
        value = raw / round(1 / factor)
    elif isinstance(raw, int) and float(factor).is_integer():
        value = raw * int(factor)
    else:
        value = raw * factor
    return value + offset if offset else value


def _number(coding: int, data: bytes, *, signed: bool) -> int | float | None:
    if coding in _BCD:
        if data and all(b == 0xFF for b in data):
            return None
        return dt.decode_bcd(data)
    if coding == 0x5:
        return dt.decode_real(data)
    if coding in _INT:
        raw = int.from_bytes(data, "little", signed=signed)
        invalid = 1 << (8 * len(data) - 1) if signed else (1 << (8 * len(data))) - 1
        return None if raw in (-invalid, invalid) and len(data) > 1 else raw
    return None


def _all_f(record: DataRecord) -> bool:
    return (
        record.dib[0] & 0x0F in _BCD
        and bool(record.data)
        and record.data.count(0xFF) == len(record.data)
    )


def _value(record: DataRecord, m: Meaning) -> Value:
    raw = record.raw_value
    coding = record.dib[0] & 0x0F
    if m.kind in (KIND_DATE, KIND_DATETIME):
        if isinstance(raw, dt.DateTimeValue) or coding not in _INT:
            return raw
        try:
            return dt.decode_date(record.data)
        except ValueError:
            return raw
    if isinstance(raw, dt.DateTimeValue):
        return raw
    if coding in _BCD and record.data and all(b == 0xFF for b in record.data):
        return None  # BCD with every digit F: no value
    if m.kind in (KIND_MANUFACTURER, KIND_UNKNOWN) or not isinstance(raw, int | float):
        return raw
    return scaled(raw, m.factor, m.offset)


def _profile(record: DataRecord, m: Meaning) -> tuple[DataRecord, ...] | None:
    body = record.data[1:]  # after the LVAR byte
    if len(body) < 2:
        return None
    control = body[0]
    mode = control >> 6
    coding = control & 0x0F
    size = DATA_LENGTH[coding]
    if size <= 0 or (len(body) - 2) % size:
        return None
    quantity = m.quantity + _MODES[mode]
    out = []
    elements = body[2:]
    for k in range(len(elements) // size):
        data = elements[k * size : (k + 1) * size]
        raw = _number(coding, data, signed=mode in (0, 3))
        value: Value = None
        if raw is not None:
            value = scaled(-raw if mode == 2 else raw, m.factor, m.offset if mode == 0 else 0.0)
        out.append(
            replace(
                record,
                data=data,
                storage_number=record.storage_number + k + 1,
                quantity=quantity,
                unit=m.unit,
                value=value,
                raw_value=raw,
            )
        )
    return tuple(out)


_AS_WIRED: dict[bytes, bool] = {}  # VIB -> whether the wired tables read it the same way
_AS_WIRED_LIMIT: Final = 4096


def _as_wired(vib: bytes, m: Meaning) -> bool:
    same = _AS_WIRED.get(vib)
    if same is None:
        w = vib_meaning(vib)
        same = m.profile is None and (m.quantity, m.unit, m.kind, m.offset) == (
            w.quantity,
            w.unit,
            w.kind,
            w.summand,
        )
        same = same and abs(m.factor - w.factor) <= 1e-12 * max(abs(m.factor), 1e-300)
        if len(_AS_WIRED) < _AS_WIRED_LIMIT:
            _AS_WIRED[vib] = same
    return same


def reread(record: DataRecord) -> tuple[DataRecord, ...]:
    """Return the record with its 2018 meaning (several records for a compact profile)."""
    if not record.vib:
        return (record,)
    m = meaning(record.vib)
    if _as_wired(record.vib, m) and not _all_f(record):
        return (record,)
    if m.profile is not None and record.dib[0] & 0x0F == _LVAR_CODING:
        expanded = _profile(record, m)
        if expanded is not None:
            return expanded
    if m.kind == KIND_UNKNOWN and not m.quantity:
        return (record,)
    value = _value(record, m)
    if (m.quantity, m.unit, value) == (record.quantity, record.unit, record.value):
        return (record,)
    return (replace(record, quantity=m.quantity, unit=m.unit, value=value),)


__all__ = ["reread", "scaled"]
