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
from types import MappingProxyType
from typing import Any, Final

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

    def layout_for(self, count: int) -> ListLayout | None:
        """The layout with exactly ``count`` items, if any."""
        for layout in self.layouts:
            if len(layout.items) == count:
                return layout
        return None

    def scaling_for(self, code: ObisCode) -> Scaling | None:
        """The profile's scaling of ``code`` (full code first, then ``C.D.E``)."""
        return self.scalings.get(str(code)) or self.scalings.get(f"{code.c}.{code.d}.{code.e}")


NO_HINTS: Final = DlmsHints()


@dataclass(frozen=True, slots=True)
class Labelled:
    """A value with its OBIS code as the walk found it."""

    obis: ObisCode
    raw: Any
    scaler: int | None = None
    unit: int | None = None


def _is_obis(item: Any) -> bool:
    # value group A is 0-15 (abstract, electricity, ... water): six printable characters are text
    return isinstance(item, bytes) and len(item) == 6 and item[0] <= 15


def _is_scaler_unit(item: Any) -> bool:
    return (
        isinstance(item, Structure)
        and len(item) == 2
        and isinstance(item[0], int)
        and isinstance(item[1], int)
        and not isinstance(item[0], bool)
    )


def walk(body: Any) -> tuple[list[Labelled], list[Any]]:
    """Split a push body into OBIS-labelled values and positional values (in order)."""
    labelled: list[Labelled] = []
    positional: list[Any] = []
    _walk(body, labelled, positional)
    return labelled, positional


def _walk(node: Any, labelled: list[Labelled], positional: list[Any]) -> None:
    if not isinstance(node, Structure | Array):
        positional.append(node)
        return
    items = list(node)
    i = 0
    n = len(items)
    while i < n:
        item = items[i]
        if _is_obis(item) and i + 1 < n:
            raw = items[i + 1]
            i += 2
            scaler = unit = None
            if i < n and _is_scaler_unit(items[i]):
                scaler, unit = items[i]
                i += 1
            labelled.append(Labelled(ObisCode.from_bytes(item), raw, scaler, unit))
            continue
        if isinstance(item, Structure | Array):
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
    if raw and all(0x20 <= b < 0x7F for b in raw):
        return raw.decode("ascii")
    return raw.hex()


@dataclass(frozen=True, slots=True)
class Converted:
    """A value ready for an :class:`ObisValue`: value, unit and a moment where it is one."""

    value: Value | None
    unit: str | None = None
    moment: datetime | None = None


def convert(code: ObisCode, raw: Any, scaling: Scaling | None, tz: tzinfo = UTC) -> Converted:
    """Turn a raw COSEM value into our value, scaled and with its unit."""
    if isinstance(raw, bool):
        return Converted(int(raw))
    if isinstance(raw, int):
        s = scaling or Scaling()
        return Converted(_scaled(raw, s.scaler), s.unit)
    if isinstance(raw, float):
        s = scaling or Scaling()
        return Converted(raw * 10**s.scaler, s.unit)
    if isinstance(raw, bytes) and (code == CLOCK or looks_like_date_time(raw)):
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


def to_values(
    labelled: list[Labelled],
    positional: list[Any],
    hints: DlmsHints = NO_HINTS,
    tz: tzinfo = UTC,
) -> tuple[list[ObisValue], list[Any]]:
    """OBIS values of a walked push; the positional values no layout explained stay apart."""
    items: list[tuple[ObisCode, Any, Scaling | None]] = []
    for item in labelled:
        scaling = hints.scaling_for(item.obis)
        if item.scaler is not None:
            scaling = Scaling(item.scaler, unit_name(item.unit))
        items.append((item.obis, item.raw, scaling))
    rest: list[Any] = positional
    layout = hints.layout_for(len(positional)) if positional else None
    if layout is not None:
        rest = []
        for code, raw in zip(layout.items, positional, strict=True):
            if code is not None:
                items.append((code, raw, hints.scaling_for(code)))
    values = []
    for code, raw, scaling in items:
        out = convert(code, raw, scaling, tz)
        if out.value is None:
            continue
        values.append(ObisValue(code, out.value, out.unit, out.moment))
    return values, rest
