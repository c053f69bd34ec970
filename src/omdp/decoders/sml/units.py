"""DLMS/COSEM unit codes (IEC 62056-62) as SML carries them, mapped to our spellings.

We keep the meter's unit (Wh stays Wh); the adapter's mapping converts. Codes not in
:data:`UNITS` fall back to ``smllib.const.UNITS``, then to ``"unit:<code>"``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from smllib.const import UNITS as LIBRARY_UNITS

UNITS: Final[Mapping[int, str]] = MappingProxyType(
    {
        7: "s",
        8: "°",
        9: "°C",
        13: "m3",
        14: "m3",  # corrected volume
        15: "m3/h",
        16: "m3/h",
        19: "l",
        27: "W",
        28: "VA",
        29: "var",
        30: "Wh",
        31: "VAh",
        32: "varh",
        33: "A",
        35: "V",
        44: "Hz",
        56: "%",
        255: "",  # "count / no unit"
    }
)

#: reverse table for the encoder
CODES: Final[Mapping[str, int]] = MappingProxyType(
    {"W": 27, "VA": 28, "var": 29, "Wh": 30, "VAh": 31, "varh": 32, "A": 33, "V": 35, "Hz": 44}
)


def unit_name(code: int | None) -> str | None:
    """Return our spelling of DLMS unit ``code``.

    Args:
        code: the SML ``unit`` field, or None.

    Returns:
        The unit, or None for no unit (absent, or 255 "count").
    """
    if code is None or code == 0:  # 0 is no DLMS unit; DZG meters send it with strings
        return None
    name = UNITS.get(code)
    if name is None:
        library = LIBRARY_UNITS.get(code)
        name = library.replace("³", "3") if library is not None else f"unit:{code}"
    return name or None
