"""A reading's values packed into one column of its row: a JSON array of value arrays.

Each value is ``[property_id, number, text, unit, date]`` (``null`` where absent; the date as
RFC 3339 text in UTC), in the reading's order. One row per reading instead of one per value
is what ingest writes; JSON keeps the values readable by SQL on both engines, so value filters
stay in SQL (``json_each`` on SQLite, ``json_array_elements`` on PostgreSQL; see
:meth:`omdp.cloud.storage.dialect.Dialect.items`).

**One property's value without parsing the rest.** A ``]`` inside a JSON string is written
``\\u005d``, so that every raw ``]`` closes an array; and a quote inside a string is always
escaped. So a value of property ``p`` starts exactly where ``["p",`` occurs (:func:`needle`) and
ends at the first ``]`` after it: a query for one property decodes only that element.

Decoding builds the :class:`~omdp.cloud.model.StoredValue` tuples straight from the text
(``msgspec``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec

from omdp.cloud.model import StoredValue

_encoder = msgspec.json.Encoder()
_values = msgspec.json.Decoder(tuple[StoredValue, ...])
_value = msgspec.json.Decoder(StoredValue)
_needles: dict[str, str] = {}
CLOSE = "\\u005d"
"""How a ``]`` inside a string is written."""


def _in_utc(values: Sequence[StoredValue]) -> list[tuple[Any, ...]]:
    """The values with their dates in UTC, as plain tuples (what the encoder needs, and
    cheaper to build than named ones); equal dates in a row (the common case: a reading's
    values carry its own time) are converted once."""
    source: datetime | None = None
    utc: datetime | None = None
    out: list[tuple[Any, ...]] = []
    for v in values:
        when = v[4]
        if when is None:
            out.append(v)
            continue
        if when is not source and when != source:
            source, utc = when, when.astimezone(UTC)
        out.append((v[0], v[1], v[2], v[3], utc))
    return out


def _field(item: Any) -> str:
    return _encoder.encode(item).decode().replace("]", CLOSE)


def pack(values: Sequence[StoredValue]) -> str:
    """The values as stored: dates in UTC, so that they come back as the store gave them
    before; ``]`` in strings escaped (module docstring).

    """
    rows: Sequence[tuple[Any, ...]] = values
    for v in values:
        if v.date is not None and v.date.utcoffset():
            rows = _in_utc(values)
            break
    text = _encoder.encode(rows)
    if text.count(b"]") == len(rows) + 1:  # no "]" inside a string: the common case
        return text.decode()
    return "[" + ",".join("[" + ",".join(map(_field, v)) + "]" for v in rows) + "]"


def needle(property_id: str) -> str:
    """The text that starts, and only starts, a value of ``property_id``."""
    found = _needles.get(property_id)
    if found is None:
        found = _needles[property_id] = "[" + _field(property_id) + ","
    return found


def _all(text: str) -> tuple[StoredValue, ...]:
    return _values.decode(text)


def unpacker(properties: Collection[str] | None) -> Callable[[str], tuple[StoredValue, ...]]:
    """A function from a reading's packed values to all of them, or only those of
    ``properties``, in order: made once per query, applied to each of its readings."""
    if properties is None:
        return _all
    wanted = frozenset(properties)

    def some(text: str) -> tuple[StoredValue, ...]:
        return tuple(v for v in _values.decode(text) if v.property_id in wanted)

    if len(wanted) != 1:
        return some
    (prop,) = wanted
    start = needle(prop)
    one = _value.decode
    find = str.find

    def single(text: str) -> tuple[StoredValue, ...]:
        at = find(text, start)
        if at < 0:
            return ()
        end = find(text, "]", at)
        if find(text, start, end) >= 0:  # the property more than once
            return some(text)
        return (one(text[at : end + 1]),)

    return single


def unpack(text: str, properties: Collection[str] | None = None) -> tuple[StoredValue, ...]:
    """The values of one reading, all of them or only those of ``properties``, in order."""
    return unpacker(properties)(text)
