"""COSEM push contents -> OBIS values, with the scalers and list layouts a profile supplies.

Pushes carry their values in one of three shapes, all read by one walk over the body:

* OBIS-labelled with scaler and unit (Aidon; Austrian pushes)::

      structure { octet-string[6] obis, value, structure { integer scaler, enum unit } }

* OBIS-labelled without scaler (Kamstrup): ``obis, value, obis, value ...`` in one structure;
  the meter's profile supplies scaler and unit per OBIS code;
* bare values (Kaifa on the Norwegian HAN port): a structure of values whose meaning is given
  by their position; a profile's :class:`ListLayout` of the same length names each position.

Anything the walk meets that is neither an OBIS code, the value after one, nor a scaler-unit
pair is a *positional* value. The name of the push setup (``0-x:25.9.0``) that IDIS pushes send
first labels nothing and is skipped. Numbers are scaled exactly (``value * 10**scaler`` as Decimal);
octet-strings become a date-time where they are one, text where printable, else hex.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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

    def fits(self, values: Sequence[Any]) -> bool:
        """Whether ``values`` can be this list: as many, and each of a type its code can hold.

        Lists of one length differ between operators (a Wiener Netze IM350 sends the meter
        number and the clock before eight registers, other Austrian pushes send time, date, six
        registers and two texts): the clock must be a 12-byte date-time, an energy or power
        register (``1-b:c.7.e``, ``1-b:c.8.e``) a number, a general-purpose text (``0-b:96.x.x``)
        an octet- or visible-string. Positions without a code hold anything.
        """
        if len(values) != len(self.items):
            return False
        return all(
            code is None or _holds(code, raw) for code, raw in zip(self.items, values, strict=True)
        )


def _holds(code: ObisCode, raw: Any) -> bool:
    if code.a == 0 and code.c == 1 and code.d == 0:  # clock
        return isinstance(raw, CosemDateTime) or (type(raw) is bytes and len(raw) == 12)
    if code.a == 1 and code.d in (7, 8):  # registers: numbers
        return type(raw) is int or type(raw) is float
    if code.a == 0 and code.c == 96:  # identifiers and texts
        return isinstance(raw, bytes | str)
    return True


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

    def layout_for(self, values: Sequence[Any]) -> ListLayout | None:
        """The first layout that ``values`` fit (as many items, of fitting types), if any."""
        for layout in self.layouts:
            if layout.fits(values):
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
            if item[2] == 25 and item[3] == 9:  # a push setup's own name opens IDIS pushes:
                i += 1  # it labels nothing (the meter number after it is a value of its own)
                continue
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
    if kind is bytes and (looks_like_date_time(raw) or (code == CLOCK and len(raw) == 12)):
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
    layout = hints.layout_for(positional) if positional else None
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
