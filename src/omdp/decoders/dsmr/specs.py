"""The DSMR telegram specifications we read, as one read-only table over ``dsmr_parser``'s.

Each :class:`DsmrSpec` row names a ``dsmr_parser.telegram_specifications`` dict, whether its
telegrams carry a CRC, and the meter's time zone (where the wall-clock time the meter writes
lives). :data:`DETECTION` picks a spec from a telegram's header and version lines, first match
wins. A new meter family is a new row here, not new control flow in the decoder.

``dsmr_parser``'s regexes are compiled once, here, into :class:`ObjectRule` rows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final
from zoneinfo import ZoneInfo

from dsmr_parser import telegram_specifications as ts

AMSTERDAM: Final = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True, slots=True)
class ObjectRule:
    """One line kind of a spec: the library's line regex and value parser."""

    pattern: re.Pattern[str]
    parser: Any  # a dsmr_parser DSMRObjectParser (untyped library)
    name: str


@dataclass(frozen=True, slots=True)
class DsmrSpec:
    """A telegram specification.

    Attributes:
        name: our name for it (``v5``, ``belgian``...), as ``--spec`` takes it.
        crc: whether telegrams end in ``!XXXX`` with a CRC16/ARC that must match.
        tz: the meter's time zone; DSMR timestamps are its wall-clock time.
        rules: the line rules, in the library's order.
    """

    name: str
    crc: bool
    tz: ZoneInfo
    rules: tuple[ObjectRule, ...]


def _spec(name: str, library: Mapping[str, Any], tz: str = "Europe/Amsterdam") -> DsmrSpec:
    rules = tuple(
        ObjectRule(
            pattern=re.compile(obj["obis_reference"], re.DOTALL | re.MULTILINE),
            parser=obj["value_parser"],
            name=obj["value_name"],
        )
        for obj in library["objects"]
    )
    return DsmrSpec(name=name, crc=bool(library["checksum_support"]), tz=ZoneInfo(tz), rules=rules)


SPECS: Final[Mapping[str, DsmrSpec]] = MappingProxyType(
    {
        s.name: s
        for s in (
            _spec("v2.2", ts.V2_2),
            _spec("v3", ts.V3),
            _spec("v4", ts.V4),
            _spec("v5", ts.V5),
            _spec("belgian", ts.BELGIUM_FLUVIUS, "Europe/Brussels"),
            _spec("luxembourg", ts.LUXEMBOURG_SMARTY, "Europe/Luxembourg"),
            _spec("sweden", ts.SWEDEN, "Europe/Stockholm"),
            _spec("q3d", ts.Q3D, "Europe/Berlin"),
            # The T210-D-R spec is marked "general_global_cipher" in dsmr_parser; we only read
            # its plain (decrypted) telegrams, and the CRC covers those.
            _spec("sagemcom-t210-d-r", ts.SAGEMCOM_T210_D_R, "Europe/Vienna"),
            _spec("iskra-ie", ts.ISKRA_IE, "Europe/Dublin"),
            _spec("eon-hungary", ts.EON_HUNGARY, "Europe/Budapest"),
        )
    }
)

#: Aliases accepted by ``--spec``.
ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "v2": "v2.2",
        "v22": "v2.2",
        "v4.2": "v4",
        "v5.0": "v5",
        "belgium": "belgian",
        "fluvius": "belgian",
        "smarty": "luxembourg",
        "sagemcom": "sagemcom-t210-d-r",
        "austria": "sagemcom-t210-d-r",
    }
)

#: (pattern over the telegram text, spec name); the first matching row wins.
DETECTION: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.MULTILINE), name)
    for pattern, name in (
        (r"\A/ESY5Q3D", "q3d"),
        (r"\A/EST5", "sagemcom-t210-d-r"),
        (r"^\d-\d:96\.1\.4\(", "belgian"),
        (r"^\d-\d:42\.0\.0\(", "luxembourg"),
        (r"^\d-\d:0\.2\.8\(5\d\)", "v5"),
        (r"^\d-\d:0\.2\.8\(4\d\)", "v4"),
        (r"^\d-\d:24\.3\.0\(", "v2.2"),
        (r"^1-0:1\.8\.0\(.*\r?\n(?s:.*)^![0-9A-Fa-f]{4}", "sweden"),
        (r"^![0-9A-Fa-f]{4}", "v4"),
        (r"^!", "v3"),
    )
)


def spec_by_name(name: str) -> DsmrSpec:
    """Return the spec called ``name`` (or one of its aliases), case-insensitive.

    Args:
        name: a key of :data:`SPECS` or :data:`ALIASES`.

    Returns:
        The spec.

    Raises:
        KeyError: no such spec; the message lists the known names.
    """
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in SPECS:
        msg = f"unknown DSMR spec {name!r}; known: {', '.join(sorted(SPECS))}"
        raise KeyError(msg)
    return SPECS[key]


def detect_spec(text: str) -> DsmrSpec:
    """Choose the spec of a telegram from its header and version lines.

    Args:
        text: the telegram, from ``/`` to the end line.

    Returns:
        The first spec of :data:`DETECTION` whose pattern matches (``v3`` when none does).
    """
    for pattern, name in DETECTION:
        if pattern.search(text):
            return SPECS[name]
    return SPECS["v3"]
