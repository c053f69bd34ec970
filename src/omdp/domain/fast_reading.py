"""The ingest's fast path: a MeterReading decoded by msgspec, pydantic for everything else.

:func:`~omdp.domain.validation.parse_reading` (pydantic) is the definition of a valid reading
and the source of every error message. On the ingest's hot path it cost about half of the
time to classify a message, and msgspec decodes the same readings several times faster
(``omdp bench validation``; docs/benchmarks.md). :func:`fast_values` mirrors the model with
msgspec structs carrying the same constraints and answers only when it is sure:

- it returns the reading's storage fields when msgspec accepts the message, the meter the
  message names (if any) is the topic's, and every value has a number or a text (DM-3);
- it returns ``None`` otherwise, and the caller asks pydantic, which then accepts (a spelling
  only pydantic takes, such as a numeric string for an integer) or says precisely what is wrong.

So the fast path may refuse what pydantic accepts, never the reverse. Where the two would read
the same bytes differently, the bytes go to pydantic: any key the structs do not name (pydantic
ignores unknown keys but also takes snake_case field names; the structs forbid unknown keys),
and times with more than six fractional digits (pydantic truncates, msgspec rounds). Bytes that
are not UTF-8 or nest too deeply go to pydantic as well (msgspec raises UnicodeDecodeError or
RecursionError for them), and so do messages with an escaped NUL character (``\u0000``), which
pydantic refuses in the texts the stores keep and allows elsewhere.
``tests/unit/domain/test_fast_reading.py`` checks the promise on thousands of mutated readings
and on hostile bytes.
"""

from __future__ import annotations

import re
import sys
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from omdp.domain.reading import EARLIEST, LATEST

_MAX = sys.float_info.max
_Finite = Annotated[float, msgspec.Meta(ge=-_MAX, le=_MAX)]
# \Z, not $: Python's $ also matches before a final newline, pydantic's does not
_Id = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:@~-]{0,127}\Z")]
_PropertyId = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
_Time = Annotated[datetime, msgspec.Meta(tz=True)]
_Class = Literal["ELECTRICITY", "GAS", "WATER", "HEAT"]

_FINE_TIME = re.compile(rb"\.\d{7}\d*[Zz+-]")
"""A time with more than six fractional digits: pydantic truncates, msgspec rounds."""


def _in_range(when: datetime) -> bool:
    """``EARLIEST <= when < LATEST``, the years first: a year strictly between 1 and 9998
    is inside whatever the offset (at most a day), and reading ``year`` costs nothing, where
    comparing aware datetimes of two offsets is slow enough to show on a 13-value reading."""
    return 1 < when.year < 9998 or EARLIEST <= when < LATEST


class _Definition(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    property_id: _PropertyId
    property_description: str | None = None
    property_name: str | None = None
    allowed_units: list[str] | None = None


class _Value(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    operational_property_definition: _Definition
    unit: str | None = None
    date: _Time | None = None
    numerical_value: _Finite | None = None
    text_value: str | None = None


class _Element(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    physical_element_id: _Id
    physical_meter_class: _Class
    physical_element_name: str | None = None
    physical_element_description: str | None = None
    physical_element_version_id: str | None = None
    physical_element_is_virtual: bool = False
    physical_meter_operational_properties: list[_Definition] = []


class _Individual(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    meter_individual_id: _Id
    meter_individual_name: str | None = None
    meter_individual_description: str | None = None
    household_id: _Id | None = None
    physical_meter_type: _Element | None = None
    physical_meter: _Element | None = None


class _Reading(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    meter_reading_identifier: _Id
    reading_time: _Time
    sequence_number: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None
    fault_code: str | None = None
    property_values: list[_Value] = []
    meter_individual: _Individual | None = None


_decoder = msgspec.json.Decoder(_Reading)

FastValue = tuple[str, float | None, str | None, str | None, datetime | None]
"""``(property_id, numerical_value, text_value, unit, date)`` of one value."""


class FastReading(msgspec.Struct, frozen=True):
    """What the store needs of a reading the fast path accepted."""

    reading_id: str
    reading_time: datetime
    sequence_number: int | None
    fault_code: str | None
    values: list[FastValue]


def fast_values(payload: bytes, meter_id: str) -> FastReading | None:
    """The reading in ``payload`` when msgspec is sure it is valid for ``meter_id``, else None.

    None means: ask :func:`~omdp.domain.validation.parse_reading`.
    """
    if _FINE_TIME.search(payload) is not None or (
        b"\\" in payload and b"\\u0000" in payload  # a byte is found faster than six
    ):
        return None
    try:
        reading = _decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):  # pydantic says why
        return None
    if not _in_range(reading.reading_time):
        return None
    individual = reading.meter_individual
    if individual is not None and individual.meter_individual_id != meter_id:
        return None
    values: list[FastValue] = []
    for v in reading.property_values:
        date = v.date
        if (v.numerical_value is None and v.text_value is None) or (
            date is not None and not _in_range(date)
        ):
            return None
        definition = v.operational_property_definition
        unit = v.unit or None  # an empty unit is no unit (DM-3)
        values.append((definition.property_id, v.numerical_value, v.text_value, unit, date))
    return FastReading(
        reading.meter_reading_identifier,
        reading.reading_time,
        reading.sequence_number,
        reading.fault_code,
        values,
    )


class _LiveDefinition(msgspec.Struct, rename="camel"):
    property_id: str


class _LiveValue(msgspec.Struct, rename="camel"):
    operational_property_definition: _LiveDefinition
    numerical_value: _Finite | None = None
    text_value: str | None = None
    unit: str | None = None


class _LiveReading(msgspec.Struct, rename="camel"):
    reading_time: _Time
    property_values: list[_LiveValue] = []


_live_decoder = msgspec.json.Decoder(_LiveReading)

LiveValues = dict[str, tuple[float, str | None]]
"""Numerical values by property id, with their units."""


def live_values(payload: bytes) -> tuple[datetime, LiveValues] | None:
    """The reading time and numerical values of a reading, for live data and alert rules.

    Reads only what live data needs, with the model's rules for it (an aware time from 1970 to
    2199, finite numbers, a number or a text on every value); the rest of the message is not
    checked here: the edge forwards it unchanged and the cloud validates it whole. None when
    these parts are unusable (the caller then asks pydantic for the reason).
    """
    try:
        reading = _live_decoder.decode(payload)
    except (msgspec.DecodeError, RecursionError, UnicodeDecodeError):  # pydantic says why
        return None
    if not _in_range(reading.reading_time):
        return None
    values: LiveValues = {}
    for v in reading.property_values:
        if v.numerical_value is None:
            if v.text_value is None:
                return None
            continue
        unit = v.unit or None  # an empty unit is no unit (DM-3)
        values[v.operational_property_definition.property_id] = (v.numerical_value, unit)
    return reading.reading_time, values
