"""VIF codes that EN 13757-3:2018 and OMS added after the tables of the wired decoder.

The wired decoder (libmbus's tables) leaves these records without a quantity; radio meters use
them often: battery lifetime, reactive and apparent energy and power, frequency. Each row is
``(quantity, unit, factor)``; a record the wired tables left unknown is re-read through them.
"""

from __future__ import annotations

from dataclasses import replace
from types import MappingProxyType
from typing import Final

from omdp.decoders.mbus.records import DataRecord

Row = tuple[str, str, float]


def _decades(first: int, count: int, quantity: str, unit: str, exp0: int) -> dict[int, Row]:
    return {first + n: (quantity, unit, 10.0 ** (exp0 + n)) for n in range(count)}


#: code after 0xFB (bit 7 cleared) -> (quantity, unit, factor to the unit).
FB_2018: Final = MappingProxyType(
    {
        **_decades(0x02, 2, "Reactive energy", "kvarh", 0),
        **_decades(0x04, 2, "Apparent energy", "kVAh", 0),
        **_decades(0x0C, 4, "Energy", "kWh", 0),  # 10^(nn-1) MCal, as kWh below
        **_decades(0x14, 4, "Reactive power", "kvar", -3),
        **_decades(0x2C, 4, "Frequency", "Hz", -3),
        **_decades(0x34, 4, "Apparent power", "kVA", -3),
    }
)
_MCAL_KWH: Final = 1.163  # 1 Mcal = 1.163 kWh
#: code after 0xFD (bit 7 cleared) -> (quantity, unit, factor).
FD_2018: Final = MappingProxyType(
    {
        0x72: ("Daylight saving", "", 1.0),
        0x73: ("Local legal time zone", "", 1.0),
        0x74: ("Remaining battery life", "d", 1.0),
        0x75: ("Number of times the meter was stopped", "", 1.0),
        0x3B: ("Reserved", "", 1.0),
    }
)


def _row(vib: bytes) -> Row | None:
    if len(vib) < 2:
        return None
    code = vib[1] & 0x7F
    if vib[0] == 0xFB:
        row = FB_2018.get(code)
        if row is not None and 0x0C <= code <= 0x0F:
            return (row[0], row[1], 10.0 ** (code - 0x0C - 1) * _MCAL_KWH)
        return row
    if vib[0] == 0xFD:
        return FD_2018.get(code)
    return None


def extend(record: DataRecord) -> DataRecord:
    """Return the record re-read through the 2018 tables if the wired tables left it unknown."""
    if record.quantity or not record.vib:
        return record
    row = _row(record.vib)
    raw = record.raw_value
    if row is None or isinstance(raw, str) or raw is None or not isinstance(raw, int | float):
        return record
    quantity, unit, factor = row
    value: int | float = raw * factor
    if isinstance(raw, int) and factor >= 1.0 and float(factor).is_integer():
        value = raw * int(factor)
    elif factor < 1.0:
        inverse = round(1.0 / factor)
        if abs(inverse * factor - 1.0) < 1e-12:
            value = raw / inverse
    return replace(record, quantity=quantity, unit=unit, value=value)
