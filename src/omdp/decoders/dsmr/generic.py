"""DSMR lines read by their shape: what no specification of ``dsmr_parser`` lists is kept too.

A line is an OBIS code and one or more value groups, ``code(...)(...)``; DSMR 2.2 continues a
gas reading on the next line, which starts with ``(``. :func:`object_lines` cuts a telegram into
such lines; :func:`read_by_shape` reads one whose code no line rule knows:

======================================  =============================================
``1-0:3.8.0(000462.590*kvarh)``         a value with its unit (a Decimal)
``0-0:96.13.2(303132)``, ``(1)``        a text (kept as written, leading zeros too)
``0-0:1.0.0(230101120000W)``            a time (YYMMDDhhmmss, S/W: summer/winter)
``0-2:24.2.1(200512134558S)(00872.234*m3)``  a capture time and a value (M-Bus channels)
``1-0:99.97.0(2)(0-0:96.7.19)(t1)(v1*s)(t2)(v2*s)``  a profile generic buffer: n pairs
``0-0:98.1.0(n)(id)(id)(month)(at)(v*kW)...``  a maximum-demand history: n triples
``0-1:24.3.0(t)(00)(60)(1)(0-1:24.2.1)(m3)`` + ``(00001.001)``  DSMR 2.2 gas
anything else, ``1-1:31.4.0(040*A)(-040*A)``  each group a value of the same code
======================================  =============================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final
from zoneinfo import ZoneInfo

from dsmr_parser.value_types import timestamp

from omdp.decoders.obis_values import ObisValue, Value
from omdp.domain.obis import ObisCode

_OBJECT: Final = re.compile(r"(\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}(?:\*\d{1,3})?)(\(.*)")
_GROUP: Final = re.compile(r"\(([^()]*)\)")
_GROUPS: Final = re.compile(r"(?:\([^()]*\))+[ \t]*")
_NUMBER: Final = re.compile(r"[-+]?\d+(?:\.\d*)?|[-+]?\.\d+")
_UNIT: Final = re.compile(r"[A-Za-z%°³][A-Za-z0-9%°³/*^.]*")
_STAMP: Final = re.compile(r"\d{12}[SW]?")
_CODE: Final = re.compile(r"\d{1,3}-\d{1,3}:\d{1,3}\.\d{1,3}\.\d{1,3}")
#: DSMR unit spellings -> ours
_UNITS: Final = {"m3": "m3", "M3": "m3", "m³": "m3", "KWH": "kWh", "kwh": "kWh", "KW": "kW"}


@dataclass(frozen=True, slots=True)
class ObjectLine:
    """One object of a telegram: its code, its value groups, where it starts, its text."""

    pos: int
    code: str
    groups: tuple[str, ...]
    text: str


def object_lines(body: str) -> Iterator[ObjectLine]:
    """Every line of ``body`` that is an OBIS code followed by value groups, in order; a
    following line of groups alone (DSMR 2.2's gas value) belongs to it."""
    lines = body.split("\r\n")
    pos = 0
    index = 0
    while index < len(lines):
        line = lines[index]
        start, index = pos, index + 1
        pos += len(line) + 2
        match = _OBJECT.fullmatch(line.rstrip(" \t"))
        if match is None or _GROUPS.fullmatch(match.group(2)) is None:
            continue
        text = line
        while index < len(lines) and lines[index].startswith("("):
            if _GROUPS.fullmatch(lines[index]) is None:
                break
            text += "\r\n" + lines[index]
            pos += len(lines[index]) + 2
            index += 1
        groups = tuple(_GROUP.findall(text[len(match.group(1)) :]))
        yield ObjectLine(start, match.group(1), groups, text)


def channel_of(code: ObisCode) -> int | None:
    """The M-Bus channel of a sub-meter's line (``0-n:...``, n > 0), else None."""
    return code.b if code.a == 0 and code.b != 0 else None


def unit_of(unit: Any) -> str | None:
    """Our spelling of a DSMR unit; None for none."""
    if unit is None or unit == "":
        return None
    text = str(unit)
    return _UNITS.get(text, text)


def local_time(moment: Any, tz: ZoneInfo) -> datetime | None:
    """A parsed time in the meter's zone, or None."""
    return moment.astimezone(tz) if isinstance(moment, datetime) else None


def make_value(
    code: ObisCode, raw: Any, unit: Any, stamp: datetime | None, channel: int | None
) -> ObisValue | None:
    """One value; None for an empty one. A time is kept as its ISO text with itself as stamp."""
    if raw is None or raw == "":
        return None
    value: Value
    if isinstance(raw, datetime):
        value, stamp = raw.isoformat(), raw
    elif isinstance(raw, Decimal | int | str):
        value = raw
    else:
        value = str(raw)
    return ObisValue(code, value, unit_of(unit), stamp, channel)


def _stamp(text: str, tz: ZoneInfo) -> datetime | None:
    return local_time(timestamp(text), tz) if _STAMP.fullmatch(text) else None


def _split(group: str) -> tuple[str, str | None]:
    """``"000462.590*kvarh"`` -> (``"000462.590"``, ``"kvarh"``)."""
    value, star, unit = group.partition("*")
    if star and _NUMBER.fullmatch(value) and _UNIT.fullmatch(unit):
        return value, unit
    return group, None


def _typed(group: str, tz: ZoneInfo) -> tuple[Any, str | None]:
    text, unit = _split(group)
    if unit is not None:
        try:
            return Decimal(text), unit
        except InvalidOperation:  # pragma: no cover - _NUMBER matched
            return text, unit
    moment = _stamp(text, tz)
    return (moment, None) if moment is not None else (text, None)


def read_by_shape(code: ObisCode, groups: tuple[str, ...], tz: ZoneInfo) -> list[Any]:
    """The values of a line no line rule reads, by the shapes of the module docstring.

    Raises:
        ValueError: a group count that contradicts the line's own count (a broken buffer).
    """
    channel = channel_of(code)

    def one(group: str, stamp: datetime | None = None) -> ObisValue | None:
        raw, unit = _typed(group, tz)
        if isinstance(raw, datetime) and stamp is not None:
            raw = raw.isoformat()
        return make_value(code, raw, unit, stamp, channel)

    n = int(groups[0]) if groups and groups[0].isdigit() else -1
    if n >= 0 and len(groups) == 2 + 2 * n and _CODE.fullmatch(groups[1] or "0-0:0.0.0"):
        pairs = zip(groups[2::2], groups[3::2], strict=True)  # profile generic buffer
        return [one(value, _stamp(at, tz)) for at, value in pairs]
    if n >= 0 and len(groups) == 3 + 3 * n and _CODE.fullmatch(groups[1]):
        triples = zip(groups[4::3], groups[5::3], strict=True)  # maximum-demand history
        return [one(value, _stamp(at, tz)) for at, value in triples]
    if len(groups) == 7 and _CODE.fullmatch(groups[4]) and _STAMP.fullmatch(groups[0]):
        return [one(f"{groups[6]}*{groups[5]}", _stamp(groups[0], tz))]  # DSMR 2.2 gas
    if len(groups) == 2 and _STAMP.fullmatch(groups[0]) and not _STAMP.fullmatch(groups[1]):
        return [one(groups[1], _stamp(groups[0], tz))]  # a capture time and a value
    if n >= 0 and len(groups) > 1 and _CODE.fullmatch(groups[1]):
        msg = f"a buffer of {n} entries with {len(groups) - 2} groups"
        raise ValueError(msg)
    return [one(group) for group in groups]
