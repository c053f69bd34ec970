"""Units: the catalogue's spellings, their synonyms, and conversions between them.

The published catalogues write ``kWh``, ``kW``, ``m3``, ``degreeCelsius``; meters and decoders
write ``Wh``, ``W``, ``m^3``, ``°C``. :func:`canonical_unit` maps a synonym to the catalogue's
spelling; :func:`conversion_factor` tells how to scale a value from one unit into another
(linear units only: temperatures differ by an offset and are converted by :func:`convert`).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Final

SYNONYMS: Final = MappingProxyType(
    {
        "m^3": "m3",
        "m³": "m3",
        "°C": "degreeCelsius",
        "C": "degreeCelsius",
        "degC": "degreeCelsius",
        "m^3/h": "m3/h",
        "m³/h": "m3/h",
        "kVArh": "kvarh",
        "kVAr": "kvar",
        "varh": "varh",
        "K": "K",
    }
)

# unit -> (base unit, factor to the base)
_LINEAR: Final = MappingProxyType(
    {
        "Wh": ("Wh", 1.0),
        "kWh": ("Wh", 1e3),
        "MWh": ("Wh", 1e6),
        "GWh": ("Wh", 1e9),
        "J": ("Wh", 1 / 3600),
        "kJ": ("Wh", 1e3 / 3600),
        "MJ": ("Wh", 1e6 / 3600),
        "GJ": ("Wh", 1e9 / 3600),
        "W": ("W", 1.0),
        "kW": ("W", 1e3),
        "MW": ("W", 1e6),
        "J/h": ("W", 1 / 3600),
        "varh": ("varh", 1.0),
        "kvarh": ("varh", 1e3),
        "var": ("var", 1.0),
        "kvar": ("var", 1e3),
        "VAh": ("VAh", 1.0),
        "kVAh": ("VAh", 1e3),
        "VA": ("VA", 1.0),
        "kVA": ("VA", 1e3),
        "m3": ("m3", 1.0),
        "l": ("m3", 1e-3),
        "L": ("m3", 1e-3),
        "m3/h": ("m3/h", 1.0),
        "l/h": ("m3/h", 1e-3),
        "m3/min": ("m3/h", 60.0),
        "m3/s": ("m3/h", 3600.0),
        "V": ("V", 1.0),
        "mV": ("V", 1e-3),
        "A": ("A", 1.0),
        "mA": ("A", 1e-3),
        "bar": ("bar", 1.0),
        "mbar": ("bar", 1e-3),
        "Pa": ("bar", 1e-5),
        "kPa": ("bar", 1e-2),
        "s": ("s", 1.0),
        "min": ("s", 60.0),
        "h": ("s", 3600.0),
        "d": ("s", 86400.0),
        "kg": ("kg", 1.0),
        "t": ("kg", 1e3),
        "Hz": ("Hz", 1.0),
    }
)


def canonical_unit(unit: str) -> str:
    """Return the catalogue's spelling of ``unit`` (``m^3`` -> ``m3``); unknown units unchanged."""
    return SYNONYMS.get(unit, unit)


def units_equal(a: str, b: str) -> bool:
    """Tell whether two unit spellings name the same unit."""
    return canonical_unit(a) == canonical_unit(b)


def conversion_factor(source: str, target: str) -> float | None:
    """Factor that turns a value in ``source`` into ``target``, or None when not convertible.

    >>> conversion_factor("Wh", "kWh")
    0.001
    """
    src = _LINEAR.get(canonical_unit(source))
    dst = _LINEAR.get(canonical_unit(target))
    if src is None or dst is None or src[0] != dst[0]:
        return None
    return src[1] / dst[1]


def convert(value: float, source: str, target: str) -> float | None:
    """Convert ``value`` from ``source`` to ``target``; None when the units are not convertible."""
    src, dst = canonical_unit(source), canonical_unit(target)
    if src == dst:
        return value
    if {src, dst} == {"degreeCelsius", "K"}:
        return value + 273.15 if dst == "K" else value - 273.15
    a, b = _LINEAR.get(src), _LINEAR.get(dst)
    if a is None or b is None or a[0] != b[0]:
        return None
    # multiply, then divide: 1234567 Wh / 1000 is exactly 1234.567 kWh, * 0.001 is not
    return value * a[1] / b[1]
