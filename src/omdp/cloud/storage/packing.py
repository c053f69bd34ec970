"""A reading's values packed into one column of its row: a JSON array of value arrays.

Each value is ``[property_id, number, text, unit, date]`` (``null`` where absent; the date as
RFC 3339 text in UTC), in the reading's order. One row per reading instead of one per value
is what ingest writes; JSON keeps the values readable by SQL on both engines, so value filters
stay in SQL (``json_each`` on SQLite, ``json_array_elements`` on PostgreSQL; see
:meth:`omdp.cloud.storage.dialect.Dialect.items`).

Decoding builds the :class:`~omdp.cloud.model.StoredValue` tuples straight from the text
(``msgspec``). When only some properties are wanted, each one's element is found by its
opening ``["property_id",``: inside a JSON string a quote is always escaped, so that text can
only start an element; the element ends at the first ``]`` after it unless a text value holds
one, in which case the slice is not valid JSON and the whole array is decoded instead.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from datetime import UTC

import msgspec

from omdp.cloud.model import StoredValue

_encoder = msgspec.json.Encoder()
_values = msgspec.json.Decoder(tuple[StoredValue, ...])
_value = msgspec.json.Decoder(StoredValue)
_needles: dict[str, str] = {}


def pack(values: Sequence[StoredValue]) -> str:
    """The values as stored (dates in UTC, so that they come back as stored before)."""
    for v in values:
        if v.date is not None and v.date.utcoffset():
            values = [
                w if w.date is None else w._replace(date=w.date.astimezone(UTC)) for w in values
            ]
            break
    return _encoder.encode(values).decode()


def _needle(property_id: str) -> str:
    found = _needles.get(property_id)
    if found is None:
        found = _needles[property_id] = "[" + _encoder.encode(property_id).decode() + ","
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
    needle = _needle(prop)
    one = _value.decode
    find = str.find

    def single(text: str) -> tuple[StoredValue, ...]:
        at = find(text, needle)
        if at < 0:
            return ()
        end = find(text, "]", at)
        if find(text, needle, end) < 0:  # the property once: its element alone
            try:
                return (one(text[at : end + 1]),)
            except (msgspec.ValidationError, msgspec.DecodeError):
                pass  # a "]" inside a text value: decode the whole array
        return some(text)

    return single


def unpack(text: str, properties: Collection[str] | None = None) -> tuple[StoredValue, ...]:
    """The values of one reading, all of them or only those of ``properties``, in order."""
    return unpacker(properties)(text)
