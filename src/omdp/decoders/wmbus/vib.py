"""What a value information block means, by the tables of EN 13757-3:2018 and OMS.

The wired decoder (:mod:`omdp.decoders.mbus`) reads a record's structure and its data; radio
meters use much of the 2018 edition the wired tables predate, so each record of a telegram is
re-read here, as one table-driven computation over the whole VIB:

- the VIF: primary table, the ``FD`` and ``FB`` extension tables (with the second-level
  ``FD FD`` codes), plain-text units, manufacturer-specific codes (``7F``/``FF``: the number is
  kept, without a unit);
- then the combinable (orthogonal) VIFEs in order: multiplicative (``70``-``77``, ``7D``) and
  additive (``78``-``7B``) corrections, per-time and per-unit rates, limit values and the
  counts, dates and durations of their exceedances, "start date of", forward/backward
  accumulation, compact profiles (``13``, ``1E``, ``1F``), the ``FC`` extension (phases,
  quadrants), and ``FF``, after which the rest is the manufacturer's (the VIF's meaning stays).

Units are those of the wired decoder (Wh, J, m^3, s, °C, K, bar, W, ...), plus kvarh, kVAh,
kvar, kVA, Hz, V, A, %, dBm and ppm; imperial units and Mcal are converted into them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import Final

from omdp.decoders.mbus import tables as tb

KIND_NUMBER: Final = tb.KIND_NUMBER
KIND_DATE: Final = tb.KIND_DATE
KIND_DATETIME: Final = tb.KIND_DATETIME
KIND_TEXT: Final = tb.KIND_TEXT
KIND_MANUFACTURER: Final = tb.KIND_MANUFACTURER
KIND_UNKNOWN: Final = tb.KIND_UNKNOWN

PROFILE_INVERSE: Final = 0x13
PROFILE_REGISTER: Final = 0x1E
PROFILE_PLAIN: Final = 0x1F

_MCAL_KWH: Final = 1.163  # 1 Mcal (international table calorie) in kWh
_MCAL_WH: Final = 1163.0
_FT3_M3: Final = 0.028316846592
_GALLON_M3: Final = 0.003785411784
_MONTH_S: Final = 2629800.0  # a mean Gregorian month, as the wired tables count it
_YEAR_S: Final = 31557600.0
_SECONDS: Final = (1.0, 60.0, 3600.0, 86400.0)


@dataclass(frozen=True, slots=True)
class Meaning:
    """A whole VIB: quantity, unit, how the raw number becomes the unit, and its kind."""

    quantity: str
    unit: str
    factor: float = 1.0
    offset: float = 0.0
    kind: int = KIND_NUMBER
    profile: int | None = None  # a compact profile VIFE: the data holds many values


Row = tuple[str, str, float]


def _decades(first: int, count: int, quantity: str, unit: str, exp0: int) -> dict[int, Row]:
    return {first + n: (quantity, unit, 10.0 ** (exp0 + n)) for n in range(count)}


def _durations(first: int, quantity: str, factors: tuple[float, ...] = _SECONDS) -> dict[int, Row]:
    return {first + n: (quantity, "s", f) for n, f in enumerate(factors)}


def _names(entries: Mapping[int, str], unit: str = "") -> dict[int, Row]:
    return {code: (name, unit, 1.0) for code, name in entries.items()}


#: FD codes (bit 7 cleared) the wired tables lack or read otherwise -> (quantity, unit, factor).
FD_ROWS: Final = MappingProxyType(
    {
        0x19: ("Security key", "", 1.0),
        0x1F: ("Remote control", "", 1.0),
        0x23: ("Description of tariff and subunit", "", 1.0),
        0x2A: ("Operator specific data", "", 1.0),
        0x2B: ("Time point second", "s", 1.0),
        **_durations(0x68, "Duration since last cumulation", (3600.0, 86400.0, _MONTH_S, _YEAR_S)),
        **_durations(0x6C, "Operating time battery", (3600.0, 86400.0, _MONTH_S, _YEAR_S)),
        0x71: ("RF level", "dBm", 1.0),
        0x72: ("Daylight saving", "", 1.0),
        0x73: ("Listening window management", "", 1.0),
        0x74: ("Remaining battery life", "d", 1.0),
        0x75: ("Number of times the meter was stopped", "", 1.0),
        0x76: ("Data container for manufacturer specific protocol", "", 1.0),
    }
)
#: codes after ``FD FD`` (the second-level extension) -> (quantity, unit, factor).
FDFD_ROWS: Final = MappingProxyType(
    {
        0x00: ("Currently selected application", "", 1.0),
        0x02: ("Remaining battery life", "s", _MONTH_S),
        0x03: ("Remaining battery life", "s", _YEAR_S),
    }
)
#: FB codes (bit 7 cleared) -> (quantity, unit, factor); units as the wired tables name them.
FB_ROWS: Final = MappingProxyType(
    {
        **_decades(0x00, 2, "Energy", "Wh", 5),  # 10^(n-1) MWh
        **_decades(0x02, 2, "Reactive energy", "kvarh", 0),
        **_decades(0x04, 2, "Apparent energy", "kVAh", 0),
        **_decades(0x08, 2, "Energy", "J", 8),  # 10^(n-1) GJ
        **{0x0C + n: ("Energy", "Wh", _MCAL_WH * 10.0 ** (n - 1)) for n in range(4)},
        **_decades(0x10, 2, "Volume", "m^3", 2),
        **_decades(0x14, 4, "Reactive power", "kvar", -3),
        **_decades(0x18, 2, "Mass", "kg", 5),  # 10^(n+2) t
        **_decades(0x1A, 2, "Relative humidity", "%", -1),
        0x20: ("Volume", "m^3", _FT3_M3),
        0x21: ("Volume", "m^3", _FT3_M3 / 10),
        0x22: ("Volume", "m^3", _GALLON_M3),
        0x23: ("Volume", "m^3", _GALLON_M3 / 10),
        0x24: ("Volume flow", "m^3/h", _GALLON_M3 * 60),
        0x25: ("Volume flow", "m^3/h", _GALLON_M3 * 60 / 1000),
        0x26: ("Volume flow", "m^3/h", _GALLON_M3),
        **_decades(0x28, 2, "Power", "W", 5),  # 10^(n-1) MW
        0x2A: ("Phase U-U", "°", 0.1),
        0x2B: ("Phase U-I", "°", 0.1),
        **_decades(0x2C, 4, "Frequency", "Hz", -3),
        **_decades(0x30, 2, "Power", "J/h", 8),  # 10^(n-1) GJ/h
        **_decades(0x34, 4, "Apparent power", "kVA", -3),
        **_names(
            {
                0x68: "Resulting rating factor K",
                0x69: "Thermal output rating factor Kq",
                0x6A: "Thermal coupling rating factor overall Kc",
                0x6B: "Thermal coupling rating factor room side Kcr",
                0x6C: "Thermal coupling rating factor heater side Kch",
                0x6D: "Low temperature rating factor KT",
                0x6E: "Display output scaling factor KD",
            }
        ),
        **_decades(0x74, 4, "Cold / Warm Temperature Limit", "°C", -3),
        **_decades(0x78, 8, "Cumul count max power", "W", -3),
    }
)
#: FB codes in °F -> (quantity, whether a difference, exponent of the first code).
FB_FAHRENHEIT: Final = MappingProxyType(
    {
        0x58: ("Flow temperature", False),
        0x5C: ("Return temperature", False),
        0x60: ("Temperature difference", True),
        0x64: ("External temperature", False),
        0x70: ("Cold / Warm Temperature Limit", False),
    }
)

#: combinable VIFE -> the unit a rate gets ("per hour" ...), and its factor into that unit.
_PER_TIME: Final = MappingProxyType(
    {0x20: ("s", 1.0), 0x21: ("min", 1.0), 0x22: ("h", 1.0), 0x23: ("d", 1.0)}
)
_PER_TIME_LONG: Final = MappingProxyType(
    {0x24: "week", 0x25: "month", 0x26: "year", 0x27: "revolution/measurement"}
)
_PER_UNIT: Final = MappingProxyType(
    {
        0x28: "per input pulse (channel 0)",
        0x29: "per input pulse (channel 1)",
        0x2A: "per output pulse (channel 0)",
        0x2B: "per output pulse (channel 1)",
        0x2C: "per litre",
        0x2D: "per m^3",
        0x2E: "per kg",
        0x2F: "per K",
        0x30: "per kWh",
        0x31: "per GJ",
        0x32: "per kW",
        0x33: "per K*l",
        0x34: "per V",
        0x35: "per A",
        0x36: "times s",
        0x37: "times s/V",
        0x38: "times s/A",
    }
)
#: flow units a volume or mass per time unit becomes, as the wired tables name them.
_RATES: Final = MappingProxyType(
    {
        ("m^3", "h"): ("Volume flow", "m^3/h", 1.0),
        ("m^3", "min"): ("Volume flow", "m^3/min", 1.0),
        ("m^3", "s"): ("Volume flow", "m^3/s", 1.0),
        ("m^3", "d"): ("Volume flow", "m^3/h", 1 / 24),
        ("kg", "h"): ("Mass flow", "kg/h", 1.0),
        ("kg", "d"): ("Mass flow", "kg/h", 1 / 24),
        ("Wh", "h"): ("Power", "W", 1.0),
        ("Wh", "d"): ("Power", "W", 1 / 24),
        ("J", "h"): ("Power", "J/h", 1.0),
    }
)
#: plain-text VIF texts that name a unit (lower case) -> our unit.
PLAIN_UNITS: Final = MappingProxyType(
    {
        "ppm": "ppm",
        "%": "%",
        "%rh": "%",
        "rh": "%",
        "°c": "°C",
        "degc": "°C",
        "c": "°C",
        "k": "K",
        "kwh": "kWh",
        "wh": "Wh",
        "mwh": "MWh",
        "m3": "m^3",
        "m^3": "m^3",
        "l": "l",
        "w": "W",
        "kw": "kW",
        "v": "V",
        "a": "A",
        "hz": "Hz",
        "bar": "bar",
        "mbar": "mbar",
        "pa": "Pa",
        "hpa": "hPa",
        "lx": "lx",
        "lux": "lx",
        "db": "dB",
        "dbm": "dBm",
    }
)
#: plain-text VIF texts that name a gas whose concentration is given in ppm.
PLAIN_PPM: Final = frozenset({"co2", "co", "voc", "tvoc", "o3", "no2"})


def _base(vib: bytes) -> tuple[Meaning, int]:
    """The meaning of the VIF (and extension code); return it and where the VIFEs start."""
    first = vib[0]
    if first in (0xFD, 0xFB) and len(vib) > 1:
        code = vib[1] & 0x7F
        if first == 0xFD and code == 0x7D and len(vib) > 2:  # FD FD: second-level extension
            row = FDFD_ROWS.get(vib[2] & 0x7F)
            if row is None:
                return Meaning("", "", kind=KIND_UNKNOWN), 3
            return Meaning(row[0], row[1], row[2]), 3
        if first == 0xFB:
            return _fb(code), 2
        row = FD_ROWS.get(code)
        if row is not None:
            return Meaning(row[0], row[1], row[2]), 2
        info = tb.FD_VIF[code]
        return Meaning(info.quantity, info.unit, info.scale, info.offset, info.kind), 2
    if first & 0x7F == 0x7C:  # plain text: length, text (back to front), then VIFEs
        n = vib[1] if len(vib) > 1 else 0
        return _plain(vib[2 : 2 + n]), 2 + n
    info = tb.PRIMARY_VIF[first & 0x7F]
    return Meaning(info.quantity, info.unit, info.scale, info.offset, info.kind), 1


def _fb(code: int) -> Meaning:
    row = FB_ROWS.get(code)
    if row is not None:
        return Meaning(row[0], row[1], row[2])
    start = code & ~0x03
    hot = FB_FAHRENHEIT.get(start)
    if hot is not None:
        quantity, difference = hot
        scale = 10.0 ** ((code & 0x03) - 3) * 5 / 9
        if difference:
            return Meaning(quantity, "K", scale)
        return Meaning(quantity, "°C", scale, offset=-32 * 5 / 9)
    info = tb.FB_VIF[code]
    return Meaning(info.quantity, info.unit, info.scale, info.offset, info.kind)


def _plain(text: bytes) -> Meaning:
    name = text[::-1].decode("latin-1").strip()
    unit = PLAIN_UNITS.get(name.lower())
    if unit is not None:
        return Meaning(name, unit, kind=KIND_TEXT)
    if name.lower() in PLAIN_PPM:
        return Meaning(name, "ppm", kind=KIND_TEXT)
    return Meaning(name, "-", kind=KIND_TEXT)


def _limit(code: int, m: Meaning) -> Meaning:
    """VIFEs 0x40-0x6F: limit values, their exceedances, and the values during them."""
    side = "upper" if code & 0x08 else "lower"
    low = code & 0x07
    if code < 0x50:
        if low == 0:
            return replace(m, quantity=f"{m.quantity} ({side} limit)")
        if low == 1:
            return Meaning(f"{m.quantity}: number of {side} limit exceedances", "")
        if not low & 0x02:
            return replace(m, quantity=f"{m.quantity} (reserved VIFE 0x{code:02X})")
        which = "last" if code & 0x04 else "first"
        edge = "end" if code & 0x01 else "begin"
        what = f"{m.quantity}: date of {edge} of {which} {side} limit exceedance"
        return Meaning(what, "-", kind=KIND_DATETIME)
    if code < 0x60:  # E101 u f nn: u upper/lower, f last/first, nn the time unit
        which = "last" if code & 0x04 else "first"
        what = f"{m.quantity}: duration of {which} {side} limit exceedance"
        return Meaning(what, "s", _SECONDS[code & 0x03])
    if code < 0x68:
        which = "last" if code & 0x04 else "first"
        return Meaning(f"{m.quantity}: duration of {which}", "s", _SECONDS[code & 0x03])
    names = {
        0x68: "value during lower limit exceedance",
        0x69: "leakage value",
        0x6C: "value during upper limit exceedance",
        0x6D: "overflow value",
    }
    if code in names:
        return replace(m, quantity=f"{m.quantity} ({names[code]})")
    which = "last" if code & 0x01 else "first"
    edge = "end" if code & 0x04 else "begin"
    return Meaning(f"{m.quantity}: date of {edge} of {which}", "-", kind=KIND_DATETIME)


def _rate(m: Meaning, per: str, factor: float) -> Meaning:
    known = _RATES.get((m.unit, per))
    if known is not None:
        quantity, unit, f = known
        return replace(m, quantity=quantity, unit=unit, factor=m.factor * factor * f)
    return replace(m, quantity=f"{m.quantity} per {per}", unit=f"{m.unit}/{per}")


def _combine(m: Meaning, code: int) -> Meaning:
    """Apply one combinable (orthogonal) VIFE code (bit 7 cleared) to a meaning."""
    if 0x70 <= code <= 0x77:
        return replace(m, factor=m.factor * 10.0 ** (code - 0x76))
    if 0x78 <= code <= 0x7B:
        return replace(m, offset=m.offset + m.factor * 10.0 ** (code - 0x7B))
    if code == 0x7D:
        return replace(m, factor=m.factor * 1000.0)
    if code in (PROFILE_INVERSE, PROFILE_REGISTER, PROFILE_PLAIN):
        return replace(m, profile=code)
    if code in _PER_TIME:
        per, factor = _PER_TIME[code]
        return _rate(m, per, factor)
    if code in _PER_TIME_LONG:
        return replace(m, quantity=f"{m.quantity} per {_PER_TIME_LONG[code]}")
    if code in _PER_UNIT:
        per = _PER_UNIT[code]
        return replace(m, quantity=f"{m.quantity} {per}", unit=f"{m.unit} {per}")
    if code == 0x39:
        return Meaning(f"Start date of {m.quantity}", "-", kind=KIND_DATETIME)
    if 0x40 <= code <= 0x6F:
        return _limit(code, m)
    if code == 0x7E:
        return replace(m, quantity=f"{m.quantity} (future value)")
    return m  # 3A-3F (conditions, forward/backward), 12 averaged, error codes: same quantity


def meaning(vib: bytes) -> Meaning:
    """Return what a whole VIB means (cached by its bytes)."""
    found = _CACHE.get(vib)
    if found is None:
        found = _meaning(vib)
        if len(_CACHE) < _CACHE_LIMIT:
            _CACHE[vib] = found
    return found


_CACHE: dict[bytes, Meaning] = {}
_CACHE_LIMIT: Final = 4096


def _meaning(vib: bytes) -> Meaning:
    m, i = _base(vib)
    if m.kind in (KIND_MANUFACTURER, KIND_UNKNOWN):
        return m
    more = vib[0] & 0x80 if vib[0] & 0x7F == 0x7C else vib[i - 1] & 0x80
    if not more:
        return m
    extended = False
    for byte in vib[i:]:
        code = byte & 0x7F
        if extended:  # after FC: phase, quadrant... the quantity stays
            extended = False
        elif code == 0x7C:
            extended = True
        elif code == 0x7F:
            break  # the rest is the manufacturer's; the VIF's meaning stays
        else:
            m = _combine(m, code)
        if not byte & 0x80:
            break
    return m


__all__ = ["Meaning", "meaning"]
