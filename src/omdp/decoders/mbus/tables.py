"""EN 13757-3 lookup tables: VIF (primary, FD and FB extensions), VIFE, media, fixed units.

Units and scaling follow libmbus's normalised output (``mbus_vif_unit_normalize``): energy in
Wh or J, volume in m^3, durations in seconds, temperatures in °C or K. Every table is built once
at import into tuples or read-only mappings indexed by the code byte, so decoding is a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

#: How a record's data is to be read, whatever its DIF coding says.
KIND_NUMBER: Final = 0
KIND_DATE: Final = 1  # type G / F / I chosen by length
KIND_DATETIME: Final = 2
KIND_TEXT: Final = 3  # plain-text VIF
KIND_MANUFACTURER: Final = 4
KIND_UNKNOWN: Final = 5  # libmbus cannot normalise: reserved code


@dataclass(frozen=True, slots=True)
class VifInfo:
    """What a VIF code means: the quantity, its unit and the factor to that unit."""

    quantity: str
    unit: str
    scale: float
    kind: int = KIND_NUMBER
    offset: float = 0.0


def _decades(first: int, count: int, quantity: str, unit: str, exp0: int) -> dict[int, VifInfo]:
    return {first + n: VifInfo(quantity, unit, 10.0 ** (exp0 + n)) for n in range(count)}


def _durations(first: int, quantity: str) -> dict[int, VifInfo]:
    factors = (1.0, 60.0, 3600.0, 86400.0)  # seconds, minutes, hours, days
    return {first + n: VifInfo(quantity, "s", f) for n, f in enumerate(factors)}


def _named(entries: dict[int, str], unit: str = "") -> dict[int, VifInfo]:
    return {code: VifInfo(name, unit, 1.0) for code, name in entries.items()}


MANUFACTURER_VIF: Final = VifInfo("Manufacturer specific", "", 1.0, KIND_MANUFACTURER)
PLAIN_TEXT_VIF: Final = VifInfo("", "-", 1.0, KIND_TEXT)

_PRIMARY: dict[int, VifInfo] = {
    **_decades(0x00, 8, "Energy", "Wh", -3),
    **_decades(0x08, 8, "Energy", "J", 0),
    **_decades(0x10, 8, "Volume", "m^3", -6),
    **_decades(0x18, 8, "Mass", "kg", -3),
    **_durations(0x20, "On time"),
    **_durations(0x24, "Operating time"),
    **_decades(0x28, 8, "Power", "W", -3),
    **_decades(0x30, 8, "Power", "J/h", 0),
    **_decades(0x38, 8, "Volume flow", "m^3/h", -6),
    **_decades(0x40, 8, "Volume flow", "m^3/min", -7),
    **_decades(0x48, 8, "Volume flow", "m^3/s", -9),
    **_decades(0x50, 8, "Mass flow", "kg/h", -3),
    **_decades(0x58, 4, "Flow temperature", "°C", -3),
    **_decades(0x5C, 4, "Return temperature", "°C", -3),
    **_decades(0x60, 4, "Temperature difference", "K", -3),
    **_decades(0x64, 4, "External temperature", "°C", -3),
    **_decades(0x68, 4, "Pressure", "bar", -3),
    0x6C: VifInfo("Time point (date)", "-", 1.0, KIND_DATE),
    0x6D: VifInfo("Time point (date & time)", "-", 1.0, KIND_DATETIME),
    0x6E: VifInfo("H.C.A.", "Units for H.C.A.", 1.0),
    **_durations(0x70, "Averaging Duration"),
    **_durations(0x74, "Actuality Duration"),
    0x78: VifInfo("Fabrication No", "", 1.0),
    0x79: VifInfo("(Enhanced) Identification", "", 1.0),
    0x7A: VifInfo("Bus Address", "", 1.0),
    0x7C: PLAIN_TEXT_VIF,
    0x7E: VifInfo("Any VIF", "", 1.0),
    0x7F: MANUFACTURER_VIF,
}

_FD: dict[int, VifInfo] = {
    **_decades(0x00, 4, "Credit", "Currency units", -3),
    **_decades(0x04, 4, "Debit", "Currency units", -3),
    **_named(
        {
            0x08: "Access Number (transmission count)",
            0x09: "Medium",
            0x0A: "Manufacturer",
            0x0B: "Parameter set identification",
            0x0C: "Model / Version",
            0x0D: "Hardware version",
            0x0E: "Firmware version",
            0x0F: "Software version",
            0x10: "Customer location",
            0x11: "Customer",
            0x12: "Access Code User",
            0x13: "Access Code Operator",
            0x14: "Access Code System Operator",
            0x15: "Access Code Developer",
            0x16: "Password",
            0x17: "Error flags",
            0x18: "Error mask",
            0x1A: "Digital Output",
            0x1B: "Digital Input",
            0x1E: "Retry",
            0x20: "First storage # for cyclic storage",
            0x21: "Last storage # for cyclic storage",
            0x22: "Size of storage block",
            0x3A: "Dimensionless",
            0x60: "Reset counter",
            0x61: "Cumulation counter",
            0x62: "Control signal",
            0x63: "Day of week",
            0x64: "Week number",
            0x65: "Time point of day change",
            0x66: "State of parameter activation",
            0x67: "Special supplier information",
        }
    ),
    0x1C: VifInfo("Baudrate", "Baud", 1.0),
    0x1D: VifInfo("Response delay time", "Bittimes", 1.0),
    **_durations(0x24, "Storage interval"),
    0x28: VifInfo("Storage interval", "s", 2629800.0),  # month(s), mean Gregorian month
    0x29: VifInfo("Storage interval", "s", 31557600.0),  # year(s)
    **_durations(0x2C, "Duration since last readout"),
    0x30: VifInfo("Start of tariff", "-", 1.0, KIND_DATETIME),
    **{
        0x30 + n: VifInfo("Duration of tariff", "s", f)
        for n, f in ((1, 60.0), (2, 3600.0), (3, 86400.0))
    },
    **_durations(0x34, "Period of tariff"),
    0x38: VifInfo("Period of tariff", "s", 2629800.0),
    0x39: VifInfo("Period of tariff", "s", 31557600.0),
    **_decades(0x40, 16, "Voltage", "V", -9),
    **_decades(0x50, 16, "Current", "A", -12),
    **{
        0x68 + n: VifInfo("Duration since last cumulation", "s", f)
        for n, f in enumerate((3600.0, 86400.0, 2629800.0, 31557600.0))
    },
    **{
        0x6C + n: VifInfo("Operating time battery", "s", f)
        for n, f in enumerate((3600.0, 86400.0, 2629800.0, 31557600.0))
    },
    0x70: VifInfo("Date and time of battery change", "-", 1.0, KIND_DATETIME),
    0x71: VifInfo("RF level", "dBm", 2.0, offset=-130.0),
    0x7C: PLAIN_TEXT_VIF,
    0x7F: MANUFACTURER_VIF,
}

_FB: dict[int, VifInfo] = {
    **_decades(0x00, 2, "Energy", "Wh", 5),
    **_decades(0x08, 2, "Energy", "J", 8),
    **_decades(0x10, 2, "Volume", "m^3", 2),
    **_decades(0x18, 2, "Mass", "kg", 5),
    **_decades(0x1A, 2, "Relative humidity", "%", -1),
    **_decades(0x28, 2, "Power", "W", 5),
    **_decades(0x30, 2, "Power", "J/h", 8),
    **_decades(0x58, 4, "Flow temperature", "°F", -3),
    **_decades(0x5C, 4, "Return temperature", "°F", -3),
    **_decades(0x60, 4, "Temperature difference", "°F", -3),
    **_decades(0x64, 4, "External temperature", "°F", -3),
    **_decades(0x70, 4, "Cold / Warm Temperature Limit", "°F", -3),
    **_decades(0x74, 4, "Cold / Warm Temperature Limit", "°C", -3),
    **_decades(0x78, 8, "Cumul count max power", "W", -3),
    0x7C: PLAIN_TEXT_VIF,
    0x7F: MANUFACTURER_VIF,
}

RESERVED_EXTENSION: Final = "Reserved VIF extension"
"""The quantity of a reserved VIF extension code (libmbus's words), so that a user sees why a
record is not mapped; its bytes stay in the record's ``vib``."""


def _unmapped(code: int, table: str) -> VifInfo:
    """What a code no table row names means: reserved (E111 nnnn of the FD table, every free
    code of the FB table), or unknown (the others, named by their code)."""
    if table == "FB" or (table == "FD" and code & 0x70 == 0x70):
        quantity = RESERVED_EXTENSION
    elif table == "FD":
        quantity = f"Unrecognized VIF 0xFD extension: 0x{code:02x}"
    else:
        quantity = f"Reserved VIF: 0x{code:02x}"
    return VifInfo(quantity, "", 1.0, KIND_UNKNOWN)


#: primary VIF code (bit 7 cleared) -> meaning; tuple indexed by the code.
PRIMARY_VIF: Final[tuple[VifInfo, ...]] = tuple(
    _PRIMARY.get(c) or _unmapped(c, "primary") for c in range(128)
)
#: VIFE code after VIF 0xFD (bit 7 cleared) -> meaning.
FD_VIF: Final[tuple[VifInfo, ...]] = tuple(_FD.get(c) or _unmapped(c, "FD") for c in range(128))
#: VIFE code after VIF 0xFB (bit 7 cleared) -> meaning.
FB_VIF: Final[tuple[VifInfo, ...]] = tuple(_FB.get(c) or _unmapped(c, "FB") for c in range(128))

#: libmbus applies the first VIFE after the VIF code as a factor (0x70-0x77, 0x7D) or a summand
#: (0x78-0x7B); bit 7 cleared.
VIFE_FACTOR: Final = MappingProxyType(
    {**{0x70 + n: 10.0 ** (n - 6) for n in range(8)}, 0x7D: 1000.0}
)
VIFE_SUMMAND: Final = MappingProxyType({0x78 + n: 10.0 ** (n - 3) for n in range(4)})

#: DIF function field (bits 5-4) -> libmbus function text and our JSON name.
FUNCTIONS: Final = ("instantaneous", "maximum", "minimum", "error")
FUNCTION_TEXT: Final = MappingProxyType(
    {
        "instantaneous": "Instantaneous value",
        "maximum": "Maximum value",
        "minimum": "Minimum value",
        "error": "Value during error state",
        "manufacturerSpecific": "Manufacturer specific",
        "moreRecordsFollow": "More records follow",
    }
)

_MEDIA = {
    0x00: "Other",
    0x01: "Oil",
    0x02: "Electricity",
    0x03: "Gas",
    0x04: "Heat: Outlet",
    0x05: "Steam",
    0x06: "Hot water",
    0x07: "Water",
    0x08: "Heat Cost Allocator",
    0x09: "Compressed Air",
    0x0A: "Cooling load meter: Outlet",
    0x0B: "Cooling load meter: Inlet",
    0x0C: "Heat: Inlet",
    0x0D: "Heat / Cooling load meter",
    0x0E: "Bus/System",
    0x0F: "Unknown Medium",
    0x15: "Hot water (>=90°C)",
    0x16: "Cold water",
    0x17: "Hot/Cold water",
    0x18: "Pressure",
    0x19: "A/D Converter",
    0x1A: "Smoke detector",
    0x1B: "Room sensor",
    0x1C: "Gas detector",
    0x20: "Breaker (electricity)",
    0x21: "Valve (gas or water)",
    0x25: "Customer unit",
    0x28: "Waste water",
    0x29: "Garbage",
    0x2B: "Service unit",
    0x31: "Radio converter",
}
#: medium byte of the variable data structure -> name.
MEDIUM: Final[tuple[str, ...]] = tuple(_MEDIA.get(c, "Reserved") for c in range(256))
#: name -> medium byte (for the encoder and the CLI).
MEDIUM_CODE: Final = MappingProxyType({v: k for k, v in _MEDIA.items()})

#: medium of the fixed data structure (4 bits).
FIXED_MEDIUM: Final = (
    "Other",
    "Oil",
    "Electricity",
    "Gas",
    "Heat",
    "Steam",
    "Hot Water",
    "Water",
    "H.C.A.",
    "Reserved",
    "Gas Mode 2",
    "Heat Mode 2",
    "Hot Water Mode 2",
    "Water Mode 2",
    "H.C.A. Mode 2",
    "Reserved",
)
#: unit code (6 bits) of the fixed data structure.
FIXED_UNIT: Final = (
    "h,m,s",
    "D,M,Y",
    "Wh",
    "10 Wh",
    "100 Wh",
    "kWh",
    "10 kWh",
    "100 kWh",
    "MWh",
    "10 MWh",
    "100 MWh",
    "kJ",
    "10 kJ",
    "100 kJ",
    "MJ",
    "10 MJ",
    "100 MJ",
    "GJ",
    "10 GJ",
    "100 GJ",
    "W",
    "10 W",
    "100 W",
    "kW",
    "10 kW",
    "100 kW",
    "MW",
    "10 MW",
    "100 MW",
    "kJ/h",
    "10 kJ/h",
    "100 kJ/h",
    "MJ/h",
    "10 MJ/h",
    "100 MJ/h",
    "GJ/h",
    "10 GJ/h",
    "100 GJ/h",
    "ml",
    "10 ml",
    "100 ml",
    "l",
    "10 l",
    "100 l",
    "m^3",
    "10 m^3",
    "100 m^3",
    "ml/h",
    "10 ml/h",
    "100 ml/h",
    "l/h",
    "10 l/h",
    "100 l/h",
    "m^3/h",
    "10 m^3/h",
    "100 m^3/h",
    "1e-3 °C",
    "units for HCA",
    "reserved",
    "reserved",
    "reserved",
    "reserved",
    "reserved but historic",
    "without units",
)

#: application error codes of CI 0x70.
APPLICATION_ERRORS: Final = MappingProxyType(
    {
        0: "Unspecified error",
        1: "Unimplemented CI-Field",
        2: "Buffer too long, truncated",
        3: "Too many records",
        4: "Premature end of record",
        5: "More than 10 DIFE's",
        6: "More than 10 VIFE's",
        7: "Reserved",
        8: "Application too busy for handling readout request",
        9: "Too many readouts",
    }
)

#: data field (DIF bits 3-0) -> length in bytes; -1 for variable length (0x0D), -2 special (0x0F).
DATA_LENGTH: Final = (0, 1, 2, 3, 4, 4, 6, 8, 0, 1, 2, 3, 4, -1, 6, -2)
