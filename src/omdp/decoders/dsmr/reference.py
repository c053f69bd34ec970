"""How many of the reference library's values our decoder gives, telegram by telegram.

``dsmr_parser`` is the reference: for each telegram every one of its specifications is tried
(the encrypted ones on the plain text, checksum not checked) and the one that finds the most
values is its *best* specification for that telegram. Each value it then finds (a line's value
and unit; an M-Bus reading's value, unit and capture time; each entry of a profile generic
buffer or a maximum-demand history) must be among ours, with the same OBIS code (A-B:C.D.E),
the same value (numbers by value, times by instant, texts as written), the same unit (in our
spelling) and, where it has one, the same time. ``omdp dsmr compare`` prints the figure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from dsmr_parser import telegram_specifications as ts
from dsmr_parser.exceptions import ParseError
from dsmr_parser.objects import CosemObject, MBusObject, MBusObjectPeak, ProfileGenericObject

from omdp.decoders.dsmr.decoder import _parse_line, decode_telegram
from omdp.decoders.dsmr.generic import unit_of
from omdp.decoders.obis_values import ObisValue
from omdp.domain.obis import ObisCode
from omdp.errors import DecodeError

_CODE = re.compile(r"[^(]*")
LIBRARY_SPECS: dict[str, dict[str, Any]] = {
    name: spec
    for name, spec in vars(ts).items()
    if isinstance(spec, dict) and "objects" in spec and name.isupper()
}
"""Every specification of dsmr_parser by its name there."""


@dataclass(frozen=True, slots=True)
class RefValue:
    """One value the reference library found."""

    code: str
    value: Any
    unit: str | None
    at: datetime | None


def _short(code: ObisCode) -> str:
    return f"{code.a}-{code.b}:{code.c}.{code.d}.{code.e}"


def _items(obj: Any) -> Iterable[tuple[Any, Any, datetime | None]]:
    if isinstance(obj, list):
        for peak in obj:
            if isinstance(peak, MBusObjectPeak):
                yield peak.value, peak.unit, peak.occurred
    elif isinstance(obj, ProfileGenericObject):
        for entry in obj.buffer:
            yield entry.value, entry.unit, entry.datetime
    elif isinstance(obj, MBusObject):
        yield obj.value, obj.unit, obj.datetime
    elif isinstance(obj, CosemObject):
        yield obj.value, obj.unit, None


def reference_values(text: str, spec: dict[str, Any]) -> list[RefValue]:
    """The values ``dsmr_parser`` finds in ``text`` with ``spec`` (None values left out), as
    its ``TelegramParser.parse`` finds them, on the plain text (no decryption, no checksum)."""
    found: list[RefValue] = []
    seen: set[int] = set()  # a line two rules match (0-1:96.3.10 in MSN) counts once
    for obj in spec["objects"]:
        pattern = re.compile(obj["obis_reference"], re.DOTALL | re.MULTILINE)
        for match in pattern.finditer(text):
            if match.start() in seen:
                continue
            line = match.group(0)
            try:
                parsed = _parse_line(obj["value_parser"], line)
                code = _short(ObisCode.parse(_CODE.match(line).group(0)))  # type: ignore[union-attr]
            except (ParseError, DecodeError, ValueError, IndexError, InvalidOperation, TypeError):
                continue
            seen.add(match.start())
            for value, unit, at in _items(parsed):
                if value is not None:
                    found.append(RefValue(code, value, unit, at))
    return found


def best_reference(text: str) -> tuple[str, list[RefValue]]:
    """The library's specification that finds the most values in ``text``, and those values."""
    best: tuple[str, list[RefValue]] = ("", [])
    for name, spec in LIBRARY_SPECS.items():
        values = reference_values(text, spec)
        if len(values) > len(best[1]):
            best = (name, values)
    return best


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _same(ref: RefValue, ours: ObisValue, *, strict_types: bool) -> bool:
    if _short(ours.obis) != ref.code:
        return False
    if unit_of(ref.unit) != ours.unit and (ref.unit or "").lower() != (ours.unit or "").lower():
        return False
    if ref.at is not None and ours.timestamp != ref.at:
        return False
    if isinstance(ref.value, datetime):
        return ours.timestamp == ref.value
    if isinstance(ref.value, str):
        if isinstance(ours.value, str):
            return ours.value == ref.value
        return not strict_types and _number(ref.value) == _number(ours.value)
    if isinstance(ours.value, str) and strict_types:
        return False
    theirs, mine = _number(ref.value), _number(ours.value)
    return theirs is not None and theirs == mine


@dataclass(slots=True)
class Comparison:
    """Values of the reference library found among ours, over one or more telegrams."""

    total: int = 0
    matched: int = 0
    same_type: int = 0
    missed: list[tuple[str, RefValue]] = field(default_factory=list)
    specs: dict[str, str] = field(default_factory=dict)

    @property
    def share(self) -> float:
        """Matched values as a fraction of the reference's (1.0 when it found none)."""
        return self.matched / self.total if self.total else 1.0


def compare(named: Sequence[tuple[str, str]], *, spec: str = "auto") -> Comparison:
    """Compare our decoding of each ``(name, telegram text)`` with the library's best.

    A telegram we refuse (CRC, truncation) counts every reference value as missed.
    """
    result = Comparison()
    for name, text in named:
        best, refs = best_reference(text)
        result.specs[name] = best
        result.total += len(refs)
        try:
            ours = list(decode_telegram(text, spec=spec).values)
        except DecodeError:
            ours = []
        loose, strict = list(ours), list(ours)
        for ref in refs:
            hit = next((v for v in loose if _same(ref, v, strict_types=False)), None)
            if hit is None:
                result.missed.append((name, ref))
                continue
            loose.remove(hit)
            result.matched += 1
            exact = next((v for v in strict if _same(ref, v, strict_types=True)), None)
            if exact is not None:
                strict.remove(exact)
                result.same_type += 1
    return result
