"""COSEM push contents -> OBIS values, with the scalers and list layouts a profile supplies.

Pushes carry their values in one of three shapes, all read by one walk over the body:

* OBIS-labelled with scaler and unit (Aidon; Austrian pushes)::

      structure { octet-string[6] obis, value, structure { integer scaler, enum unit } }

* OBIS-labelled without scaler (Kamstrup): ``obis, value, obis, value ...`` in one structure;
  the meter's profile supplies scaler and unit per OBIS code;
* bare values (Kaifa on the Norwegian HAN port): a structure of values whose meaning is given
  by their position; a profile's :class:`ListLayout` of the same length names each position.

Anything the walk meets that is neither an OBIS code, the value after one, nor a scaler-unit
pair is a *positional* value. Numbers are scaled exactly (``value * 10**scaler`` as Decimal);
octet-strings become a date-time where they are one, text where printable, else hex.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from omdp.decoders.dlms.axdr import (
    Array,
    BitString,
    CosemDateTime,
    Structure,
    looks_like_date_time,
    parse_date_time,
)
from omdp.decoders.obis_values import ObisValue, Value
from omdp.decoders.sml.units import unit_name
from omdp.domain.obis import ObisCode

CLOCK: Final = ObisCode.parse("0-0:1.0.0")
#: codes that identify the meter, in order of preference
METER_ID_CODES: Final = tuple(
    ObisCode.parse(c)
    for c in ("0-0:96.1.0", "0-0:96.1.1", "1-1:0.0.5", "1-0:0.0.5", "0-0:42.0.0", "1-0:0.0.0")
)


@dataclass(frozen=True, slots=True)
class Scaling:
    """Scaler (power of ten) and unit for a value the push sends without them."""

    scaler: int = 0
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class ListLayout:
    """The meaning of the positional values of a list without OBIS codes.

    Attributes:
        name: for messages (``kaifa-3phase-list3``).
        items: one OBIS code per position (None: a position to skip).
    """

    name: str
    items: tuple[ObisCode | None, ...]


@dataclass(frozen=True, slots=True)
class DlmsHints:
    """What a meter profile knows that the push leaves out.

    Attributes:
        layouts: list layouts, chosen by the number of positional values.
        scalings: scaler and unit per OBIS code (full code, or ``C.D.E`` for any A-B).
    """

    layouts: tuple[ListLayout, ...] = ()
    scalings: Mapping[str, Scaling] = field(default_factory=lambda: MappingProxyType({}))
    #: the answers of :meth:`scaling_for` so far (a push repeats the same codes every time)
    _memo: dict[ObisCode, Scaling | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def layout_for(self, count: int) -> ListLayout | None:
        """The layout with exactly ``count`` items, if any."""
        for layout in self.layouts:
            if len(layout.items) == count:
                return layout
        return None

    def scaling_for(self, code: ObisCode) -> Scaling | None:
        """The profile's scaling of ``code`` (full code first, then ``C.D.E``)."""
        if not self.scalings:
            return None
        memo = self._memo
        if code in memo:
            return memo[code]
        found = self.scalings.get(str(code)) or self.scalings.get(f"{code.c}.{code.d}.{code.e}")
        if len(memo) < _MEMO_LIMIT:
            memo[code] = found
        return found


_MEMO_LIMIT: Final = 1024
NO_HINTS: Final = DlmsHints()


class Labelled(NamedTuple):
    """A value with its OBIS code as the walk found it."""

    obis: ObisCode
    raw: Any
    scaler: int | None = None
    unit: int | None = None


@lru_cache(maxsize=_MEMO_LIMIT)
def _obis(raw: bytes) -> ObisCode:
    """The code of six bytes; pushes repeat the same few codes, so they are built once."""
    return ObisCode.from_bytes(raw)


def walk(body: Any) -> tuple[list[Labelled], list[Any]]:
    """Split a push body into OBIS-labelled values and positional values (in order)."""
    labelled: list[Labelled] = []
    positional: list[Any] = []
    if type(body) is Structure or type(body) is Array:
        _walk(body, labelled, positional)
    else:
        positional.append(body)
    return labelled, positional


def _walk(items: tuple[Any, ...], labelled: list[Labelled], positional: list[Any]) -> None:
    # exact type checks (bool is no int here, bytes no str): this runs for every value
    n = len(items)
    i = 0
    while i < n:
        item = items[i]
        kind = type(item)
        # value group A is 0-15 (abstract, electricity ... water): six printable bytes are text
        if kind is bytes and len(item) == 6 and item[0] <= 15 and i + 1 < n:
            raw = items[i + 1]
            i += 2
            scaler = unit = None
            if i < n:
                pair = items[i]
                if (
                    type(pair) is Structure
                    and len(pair) == 2
                    and type(pair[0]) is int
                    and type(pair[1]) is int
                ):
                    scaler, unit = pair
                    i += 1
            labelled.append(Labelled(_obis(item), raw, scaler, unit))
            continue
        if kind is Structure or kind is Array:
            _walk(item, labelled, positional)
        else:
            positional.append(item)
        i += 1


def _scaled(raw: int, scaler: int) -> Value:
    if scaler == 0:
        return raw
    if scaler > 0:
        return int(raw * 10**scaler)
    return Decimal(raw).scaleb(scaler)


def _text(raw: bytes) -> str:
    if raw.isascii() and (text := raw.decode("ascii")).isprintable():
        return text
    return raw.hex()


class Converted(NamedTuple):
    """A value ready for an :class:`ObisValue`: value, unit and a moment where it is one."""

    value: Value | None
    unit: str | None = None
    moment: datetime | None = None


_NO_SCALING: Final = Scaling()


def convert(code: ObisCode, raw: Any, scaling: Scaling | None, tz: tzinfo = UTC) -> Converted:
    """Turn a raw COSEM value into our value, scaled and with its unit."""
    kind = type(raw)
    if kind is int:  # nearly every value: test the exact type first
        s = scaling or _NO_SCALING
        return Converted(_scaled(raw, s.scaler), s.unit)
    if kind is bool:
        return Converted(int(raw))
    if kind is float:
        s = scaling or _NO_SCALING
        return Converted(raw * 10**s.scaler, s.unit)
    if kind is bytes and (looks_like_date_time(raw) or code == CLOCK):
        raw = parse_date_time(raw)
    if isinstance(raw, CosemDateTime):
        moment = raw.to_datetime(tz)
        return Converted(moment.isoformat() if moment else None, None, moment)
    if isinstance(raw, bytes):
        return Converted(_text(raw))
    if isinstance(raw, str):
        return Converted(raw)
    if isinstance(raw, BitString):
        return Converted(raw.bits)
    return Converted(None)  # null-data, dont-care, nested arrays: nothing to report


@lru_cache(maxsize=_MEMO_LIMIT)
def _pushed_scaling(scaler: int, unit: int | None) -> Scaling:
    """The scaler-unit pair a push sent (a handful of pairs, built once each)."""
    return Scaling(scaler, unit_name(unit))


def to_values(
    labelled: list[Labelled],
    positional: list[Any],
    hints: DlmsHints = NO_HINTS,
    tz: tzinfo = UTC,
) -> tuple[list[ObisValue], list[Any]]:
    """OBIS values of a walked push; the positional values no layout explained stay apart."""
    items: list[tuple[ObisCode, Any, Scaling | None]] = []
    for obis, raw, scaler, unit_code in labelled:
        if scaler is not None:
            items.append((obis, raw, _pushed_scaling(scaler, unit_code)))
        else:
            items.append((obis, raw, hints.scaling_for(obis)))
    rest: list[Any] = positional
    layout = hints.layout_for(len(positional)) if positional else None
    if layout is not None:
        rest = []
        for position, raw in zip(layout.items, positional, strict=True):
            if position is not None:
                items.append((position, raw, hints.scaling_for(position)))
    values = []
    for code, raw, scaling in items:
        if type(raw) is int:  # nearly every value: scaled inline, no call to convert
            s = scaling or _NO_SCALING
            value = raw if not s.scaler else _scaled(raw, s.scaler)
            values.append(ObisValue(code, value, s.unit))
            continue
        converted, unit, moment = convert(code, raw, scaling, tz)
        if converted is not None:
            values.append(ObisValue(code, converted, unit, moment))
    return values, rest
