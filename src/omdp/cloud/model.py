"""The cloud's storage-side value types: what goes into a :class:`ReadingStore` and comes out.

These are named tuples and plain frozen dataclasses, not pydantic models: ingest builds
thousands per second and the REST API (issue 7) maps them onto its own response schemas. Times
are aware UTC datetimes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from omdp.domain.fast_reading import FastReading
from omdp.domain.query import PropertyFilter, ReadingsQuery
from omdp.domain.reading import (
    MeterIndividual,
    MeterReading,
    OperationalPropertyDefinition,
    PropertyValue,
)


class StoredValue(NamedTuple):
    """One property value of a stored reading.

    A named tuple rather than a frozen dataclass: ingest builds one per value (13 per typical
    reading), and a tuple is built in about half the time (docs/benchmarks.md, "Cloud
    ingest").
    """

    property_id: str
    numerical_value: float | None = None
    text_value: str | None = None
    unit: str | None = None
    date: datetime | None = None


class StoredReading(NamedTuple):
    """One reading as stored: its header and its values (CL-1).

    A named tuple, as :class:`StoredValue`: ingest builds one per message and a query one per
    reading it returns, and a tuple is built in a fraction of a frozen dataclass's time
    (docs/benchmarks.md, "Storage layout").
    """

    reading_id: str
    meter_id: str
    reading_time: datetime
    values: tuple[StoredValue, ...] = ()
    sequence_number: int | None = None
    fault_code: str | None = None
    concentrator_id: str | None = None

    @classmethod
    def from_reading(
        cls, reading: MeterReading, *, meter_id: str, concentrator_id: str | None = None
    ) -> StoredReading:
        """The storage form of a validated reading, for the meter the topic names."""
        return cls(
            reading_id=reading.meter_reading_identifier,
            meter_id=meter_id,
            reading_time=reading.reading_time,
            sequence_number=reading.sequence_number,
            fault_code=reading.fault_code,
            concentrator_id=concentrator_id,
            values=tuple(
                # positional: a third cheaper than keywords on this hot path
                StoredValue(v.property_id, v.numerical_value, v.text_value, v.unit, v.date)
                for v in reading.property_values
            ),
        )

    @classmethod
    def from_fast(
        cls, reading: FastReading, *, meter_id: str, concentrator_id: str | None = None
    ) -> StoredReading:
        """The storage form of a reading the msgspec fast path accepted (same fields).

        Built with ``tuple.__new__``: the named tuples' own constructors are a Python call
        each, thirteen and more a reading on the ingest's hot path.
        """
        new = tuple.__new__
        values = tuple([new(StoredValue, v) for v in reading.values])
        return new(
            cls,
            (
                reading.reading_id,
                meter_id,
                reading.reading_time,
                values,
                reading.sequence_number,
                reading.fault_code,
                concentrator_id,
            ),
        )

    def to_meter_reading(self) -> MeterReading:
        """The reading in the data model (property definitions carry only their ids)."""
        return MeterReading(
            meter_reading_identifier=self.reading_id,
            reading_time=self.reading_time,
            sequence_number=self.sequence_number,
            fault_code=self.fault_code,
            meter_individual=MeterIndividual(meter_individual_id=self.meter_id),
            property_values=[
                PropertyValue(
                    unit=v.unit,
                    date=v.date,
                    numerical_value=v.numerical_value,
                    text_value=v.text_value,
                    operational_property_definition=OperationalPropertyDefinition(
                        property_id=v.property_id
                    ),
                )
                for v in self.values
            ],
        )


@dataclass(frozen=True, slots=True)
class ValueFilter:
    """Keeps a reading only if its value of ``property_id`` satisfies every condition given.

    A reading without a value of the property is not kept. Numeric conditions need a numerical
    value; ``text_equal_to`` needs a text value.
    """

    property_id: str
    greater_than: float | None = None
    less_than: float | None = None
    equal_to: float | None = None
    text_equal_to: str | None = None

    @classmethod
    def from_query(cls, f: PropertyFilter) -> ValueFilter:
        """The storage form of one CL-3 ``operationalProperties`` filter."""
        return cls(
            property_id=f.specific_property_name,
            greater_than=f.numerical_value_greater_than,
            less_than=f.numerical_value_less_than,
            equal_to=f.numerical_value_equal_to,
            text_equal_to=f.text_value_equal_to,
        )


@dataclass(frozen=True, slots=True)
class ReadingFilter:
    """Which readings a query selects: time range ``[start, end)``, meters, value filters.

    ``properties`` limits the values returned (not the readings selected); None returns all.
    """

    start: datetime | None = None
    end: datetime | None = None
    meter_ids: tuple[str, ...] | None = None
    filters: tuple[ValueFilter, ...] = ()
    properties: tuple[str, ...] | None = None

    @classmethod
    def from_query(cls, query: ReadingsQuery) -> ReadingFilter:
        """The storage form of a CL-3 query body (paging is the caller's)."""
        return cls(
            start=query.reading_time_start,
            end=query.reading_time_end,
            filters=tuple(ValueFilter.from_query(f) for f in query.operational_properties or ()),
        )


class Interval(StrEnum):
    """Rollup bucket widths; days and months are the household's local ones."""

    QUARTER_HOUR = "15min"
    HOUR = "hour"
    DAY = "day"
    MONTH = "month"


class AggregateFunction(StrEnum):
    """What an aggregate row may carry."""

    MIN = "min"
    MAX = "max"
    MEAN = "mean"
    LAST = "last"
    COUNT = "count"
    CONSUMPTION = "consumption"


ALL_FUNCTIONS: frozenset[AggregateFunction] = frozenset(AggregateFunction)


@dataclass(frozen=True, slots=True)
class AggregateRow:
    """One bucket of one meter (or of several combined: ``meter_id`` None).

    ``consumption`` is set for cumulative registers only (catalogue kind CUMULATIVE).
    Functions not asked for are None. (Not a named tuple like :class:`StoredValue`: its field
    ``count`` would shadow ``tuple.count``; few are built, one per bucket.)
    """

    meter_id: str | None
    start: datetime
    end: datetime
    count: int | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    last: float | None = None
    consumption: float | None = None


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    """A message that could not be stored, with why (CL-2: ingest never stops on bad input)."""

    topic: str
    payload: bytes
    received_at: datetime
    problems: tuple[tuple[str, str], ...]
    entry_id: int | None = None

    @property
    def digest(self) -> str:
        """What identifies the message: a hash of its topic and bytes."""
        return hashlib.sha256(self.topic.encode() + b"\x00" + self.payload).hexdigest()


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one committed batch did."""

    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0


@dataclass(frozen=True, slots=True)
class UnknownMeter:
    """A meter that sent readings but is not in the registry (kept, listed, CL-1)."""

    meter_id: str
    first_seen: datetime
    last_seen: datetime
    readings: int


@dataclass(frozen=True, slots=True)
class MeterHealth:
    """What a meter's sequence numbers tell since a moment (gap detection in the cloud).

    Attributes:
        meter_id: The meter.
        readings: Readings stored since then (those without a sequence number included).
        last_reading: The newest of them (reading time).
        missing: Sequence numbers skipped between consecutive readings: readings never taken
            (the adapter counts missed polls into the numbering) or lost on the way.
        restarts: Times the numbering went back (an adapter that lost its state).
        first_sequence: The lowest and ``last_sequence`` the highest number seen.
    """

    meter_id: str
    readings: int
    last_reading: datetime
    missing: int
    restarts: int
    first_sequence: int | None
    last_sequence: int | None


@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    """How many days readings are kept; the most specific rule wins (household, class, default).

    Keys of ``meter_class_days`` are meter class names (``ELECTRICITY``, ...).
    """

    default_days: int | None = None
    meter_class_days: Mapping[str, int] = field(default_factory=dict)
    household_days: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What a retention run removed."""

    readings_deleted: int = 0


@dataclass(frozen=True, slots=True)
class ErasureRecord:
    """The audit record of one erasure: who, what, when, how many rows; never the data."""

    actor: str
    subject_kind: str
    subject_id: str
    at: datetime
    rows: Mapping[str, int]
    record_id: int | None = None

    @property
    def total_rows(self) -> int:
        """Rows removed over all tables."""
        return sum(self.rows.values())
