"""Selectors: the ``from`` side of an OperationalPropertyMapping (AD-2).

Three forms, told apart by their first characters:

- an OBIS code, ``1-0:1.8.0`` (value groups A-B must match) or ``1.8.0`` (C.D.E only),
  optionally ``@channel`` for DSMR sub-meters: ``0-1:24.2.1``;
- an M-Bus record selector, ``mbus:quantity=Energy,function=instantaneous,storage=0,tariff=0``:
  every named field must match; fields not named match anything; ``index=N`` picks the N-th
  match (0 first); ``wmbus:name=total_m3`` picks a wireless M-Bus driver's named value;
- a JSON path into a JSON document, ``$.power.import`` or ``$.phases[0].voltage``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omdp.adapter.samples import MeterSample, SourceValue, plain_number
from omdp.domain.obis import ObisCode
from omdp.errors import ConfigError, DecodeError

MBUS_FIELDS = frozenset(
    {"quantity", "function", "storage", "tariff", "subunit", "unit", "index", "name"}
)  # name: a wireless M-Bus driver's named value (wmbus:name=total_m3)
_PATH_RE = re.compile(r"\.([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[\"([^\"]+)\"\]")


@dataclass(frozen=True, slots=True)
class ObisSelector:
    """Matches values whose OBIS code equals this one (A-B only when written)."""

    code: ObisCode
    full: bool

    def pick(self, sample: MeterSample) -> SourceValue | None:
        """The first value of the sample with this code."""
        for value in sample.values:
            text = value.fields.get("obis")
            if not isinstance(text, str):
                continue
            other = ObisCode.parse(text)
            same_cde = (other.c, other.d, other.e) == (self.code.c, self.code.d, self.code.e)
            if same_cde and (not self.full or (other.a, other.b) == (self.code.a, self.code.b)):
                return value
        return None


@dataclass(frozen=True, slots=True)
class RecordSelector:
    """Matches M-Bus records by quantity, function, storage number, tariff and sub-unit."""

    conditions: Mapping[str, str]
    index: int = 0

    def pick(self, sample: MeterSample) -> SourceValue | None:
        """The ``index``-th record that satisfies every condition."""
        found = 0
        for value in sample.values:
            if all(
                str(value.fields.get(key, "")).lower() == want.lower()
                for key, want in self.conditions.items()
            ):
                if found == self.index:
                    return value
                found += 1
        return None


@dataclass(frozen=True, slots=True)
class JsonPathSelector:
    """Picks a scalar from the sample's JSON document."""

    path: str
    steps: tuple[str | int, ...]

    def pick(self, sample: MeterSample) -> SourceValue | None:
        """The scalar at the path, or None when the path is absent or not a scalar."""
        node: Any = sample.document
        for step in self.steps:
            in_list = isinstance(step, int) and isinstance(node, list) and step < len(node)
            in_map = isinstance(step, str) and isinstance(node, Mapping) and step in node
            if not (in_list or in_map):
                return None
            node = node[step]
        number = plain_number(node)
        return None if number is None else SourceValue({"path": self.path}, number)


Selector = ObisSelector | RecordSelector | JsonPathSelector


def parse_selector(text: str) -> Selector:
    """Parse the ``from`` of a mapping.

    Raises:
        ConfigError: naming the selector and what is wrong with it.
    """
    text = text.strip()
    if text.startswith("$"):
        return _json_path(text)
    if text.lower().startswith(("mbus:", "wmbus:")):
        return _record(text)
    try:
        return ObisSelector(ObisCode.parse(text), full=":" in text)
    except DecodeError as exc:
        msg = (
            f"mapping source {text!r} is neither an OBIS code (1-0:1.8.0), an M-Bus selector "
            f"(mbus:quantity=Energy,storage=0) nor a JSON path ($.power): {exc}"
        )
        raise ConfigError(msg) from None


def _record(text: str) -> RecordSelector:
    conditions: dict[str, str] = {}
    index = 0
    for part in filter(None, (p.strip() for p in text.split(":", 1)[1].split(","))):
        key, sep, value = part.partition("=")
        key = key.strip().lower()
        if not sep or key not in MBUS_FIELDS or not value.strip():
            allowed = ", ".join(sorted(MBUS_FIELDS))
            msg = f"M-Bus selector {text!r}: {part!r} is not FIELD=VALUE with FIELD in {allowed}"
            raise ConfigError(msg)
        if key == "index":
            if not value.strip().isdigit():
                msg = f"M-Bus selector {text!r}: index must be a whole number"
                raise ConfigError(msg)
            index = int(value)
        else:
            conditions[key] = value.strip()
    if not conditions:
        msg = f"M-Bus selector {text!r} names no field"
        raise ConfigError(msg)
    return RecordSelector(conditions, index)


def _json_path(text: str) -> JsonPathSelector:
    steps: list[str | int] = []
    pos = 1
    while pos < len(text):
        match = _PATH_RE.match(text, pos)
        if match is None:
            msg = f"JSON path {text!r}: cannot read it at character {pos} (use $.a.b[0])"
            raise ConfigError(msg)
        name, number, quoted = match.groups()
        steps.append(int(number) if number is not None else (name or quoted))
        pos = match.end()
    return JsonPathSelector(text, tuple(steps))
