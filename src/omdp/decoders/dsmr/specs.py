"""The DSMR telegram specifications we know, as one read-only table over ``dsmr_parser``'s.

Each :class:`DsmrSpec` row names a ``dsmr_parser.telegram_specifications`` dict, whether its
telegrams carry a CRC, the meter's time zone (where the wall-clock time the meter writes lives)
and, in ``fallback``, the specifications whose line rules type the lines it does not list
(every well-formed line is decoded whatever the specification; these only say which value type
a line gets: the Luxembourg Smarty's plain telegram is typed by the encrypted variant MSN first,
for example). :data:`DETECTION` picks a spec from a telegram's header and object lines, first
match wins; ``--spec`` only forces one. A new meter family is a new row here, not new control
flow in the decoder.

Every specification of ``dsmr_parser`` has a row: the Netherlands (DSMR 2.2, 3, 4, 5), Belgium
(Fluvius e-MUCS), Luxembourg (Smarty, and its encrypted form MSN read after decryption), Sweden,
Austria (Sagemcom T210-D-R, Energienetze Steiermark, both read after decryption), Ireland (Iskra),
Hungary (E.ON) and Germany's EasyMeter Q3D.

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
    fallback: tuple[str, ...] = ()


def _spec(
    name: str,
    library: Mapping[str, Any],
    tz: str = "Europe/Amsterdam",
    fallback: tuple[str, ...] = (),
) -> DsmrSpec:
    rules = tuple(
        ObjectRule(
            pattern=re.compile(obj["obis_reference"], re.DOTALL | re.MULTILINE),
            parser=obj["value_parser"],
            name=obj["value_name"],
        )
        for obj in library["objects"]
    )
    crc = bool(library["checksum_support"])
    return DsmrSpec(name=name, crc=crc, tz=ZoneInfo(tz), rules=rules, fallback=fallback)


#: The order in which other specifications type a line the chosen one does not list.
_COMMON: Final = ("v5", "v4", "belgian", "msn", "eon-hungary", "sweden", "v2.2")

SPECS: Final[Mapping[str, DsmrSpec]] = MappingProxyType(
    {
        s.name: s
        for s in (
            _spec("v2.2", ts.V2_2, fallback=("v3", *_COMMON)),
            _spec("v3", ts.V3, fallback=("v2.2", *_COMMON)),
            _spec("v4", ts.V4, fallback=_COMMON),
            _spec("v5", ts.V5, fallback=_COMMON),
            _spec("belgian", ts.BELGIUM_FLUVIUS, "Europe/Brussels", fallback=_COMMON),
            _spec("luxembourg", ts.LUXEMBOURG_SMARTY, "Europe/Luxembourg", fallback=_COMMON[3:]),
            # MSN and the two Austrian specs are marked "general_global_cipher" in dsmr_parser:
            # we read their plain (decrypted) telegrams, and the CRC covers those.
            _spec("msn", ts.MSN, "Europe/Luxembourg", fallback=_COMMON),
            _spec("sweden", ts.SWEDEN, "Europe/Stockholm", fallback=("msn", *_COMMON)),
            _spec("q3d", ts.Q3D, "Europe/Berlin", fallback=_COMMON),
            _spec("sagemcom-t210-d-r", ts.SAGEMCOM_T210_D_R, "Europe/Vienna", fallback=_COMMON),
            _spec(
                "energienetze-steiermark",
                ts.AUSTRIA_ENERGIENETZE_STEIERMARK,
                "Europe/Vienna",
                fallback=_COMMON,
            ),
            _spec("iskra-ie", ts.ISKRA_IE, "Europe/Dublin", fallback=_COMMON),
            _spec("eon-hungary", ts.EON_HUNGARY, "Europe/Budapest", fallback=_COMMON),
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
        "luxembourg-smarty": "luxembourg",
        "sagemcom": "sagemcom-t210-d-r",
        "austria": "sagemcom-t210-d-r",
        "steiermark": "energienetze-steiermark",
        "austria-energienetze-steiermark": "energienetze-steiermark",
        "ireland": "iskra-ie",
        "iskra": "iskra-ie",
        "hungary": "eon-hungary",
        "eon": "eon-hungary",
        "easymeter": "q3d",
    }
)

_HUNGARIAN: Final = r"(?=(?s:.*)^\d-\d:(?:1\.8\.[34]|[5-8]\.8\.0|1[34]\.7\.0)\()"
"""An E.ON Hungary telegram beside 0-0:42.0.0: tariffs 3 and 4, reactive quadrants, power
factor or frequency, which the Luxembourg Smarty does not send."""

#: (pattern over the telegram text, spec name); the first matching row wins. Headers first
#: (the maker's identification line), then object lines only one country sends, then the
#: Dutch version line, then the shape of the end line.
DETECTION: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern, re.MULTILINE), name)
    for pattern, name in (
        (r"\A/ESY5Q3D|^\d-\d:\d+\.\d+\.\d+\*255\(", "q3d"),
        (r"\A/EST5", "sagemcom-t210-d-r"),
        (r"\A/FLU5|^\d-\d:96\.1\.4\(", "belgian"),
        (r"\A" + _HUNGARIAN + r"(?s:.*)^\d-\d:42\.0\.0\(", "eon-hungary"),
        (r"\A/Lux5|^\d-\d:42\.0\.0\(", "luxembourg"),
        # Sweden: totals with a CRC and no tariff registers
        (r"\A(?!(?s:.*)^1-0:1\.8\.[12]\()(?=(?s:.*)^1-0:1\.8\.0\()(?s:.*)^![0-9A-F]{4}", "sweden"),
        (r"^0-0:96\.1\.0\(", "iskra-ie"),  # the meter's own id on 96.1.0 (NL: 96.1.1)
        # Austria: totals and tariffs in Wh and varh
        (r"^1-0:3\.8\.1\(|^1-0:1\.8\.0\(\d+\*Wh\)", "sagemcom-t210-d-r"),
        (r"^\d-\d:0\.2\.8\(5\d\)", "v5"),
        (r"^\d-\d:0\.2\.8\(4\d\)", "v4"),
        (r"^\d-\d:24\.3\.0\(", "v2.2"),
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
