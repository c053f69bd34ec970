"""The one accumulator of values per bucket, and the one rule for a register's consumption.

**Consumption of cumulative registers.** Between consecutive values ``p`` then ``c`` of a
register the consumption is ``c - p``; a drop (``c < p``: counter reset, meter exchange or
rollover) counts the new value from zero, so the step is ``c``. Consumption is attributed to
the bucket of the *later* value. Across a gap (buckets without values) nothing is
interpolated here: the step from the last value before the gap to the first one after it is
that later bucket's (:mod:`omdp.cloud.storage.energy` spreads it over the gap instead).

:func:`step` is that rule; :func:`step_sql` the same rule as SQL, for the one place where two
stored buckets meet inside the database (the merge of an ingest partial into its stored hour,
:func:`omdp.cloud.storage.rollups.merge_sql`). Ingest partials, recomputation of late or
deleted data and rebuilds all fold values with :func:`fold_readings`; the queries combine
stored buckets with :func:`step` (:func:`omdp.cloud.storage.rollups.roll`,
:func:`omdp.cloud.storage.energy.register_cells`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple


class Partial(NamedTuple):
    """One bucket of one meter's property: count, min, max, sum, the first and last value
    with their times (integer microseconds since the epoch), and ``internal``, the
    consumption between consecutive values inside the bucket."""

    meter_id: str
    property_id: str
    width: int
    bucket: int
    n: int
    vmin: float
    vmax: float
    vsum: float
    first_t: int
    first_v: float
    last_t: int
    last_v: float
    internal: float


def step(previous: float | None, current: float) -> float:
    """Consumption between two consecutive register values; a drop counts from zero; no
    previous value, no consumption."""
    if previous is None:
        return 0.0
    return current - previous if current >= previous else current


def step_sql(previous: str, current: str) -> str:
    """:func:`step` as an SQL expression of two (not null) columns."""
    return f"CASE WHEN {current} >= {previous} THEN {current} - {previous} ELSE {current} END"


Accumulator = list[Any]
"""``[n, min, max, sum, first_t, first, last_t, last, internal]`` of one bucket (a list: it is
updated in place for every value at ingest)."""


def add(props: dict[str, Accumulator], t: int, values: Iterable[Sequence[Any]]) -> None:
    """Fold ``(property, value, ...)`` items at time ``t`` into the accumulators of one
    (meter, bucket), one per property. Items without a number are skipped."""
    for item in values:
        v = item[1]
        if v is None:
            continue
        a = props.get(item[0])
        if a is None:
            props[item[0]] = [1, v, v, v, t, v, t, v, 0.0]
            continue
        a[0] += 1
        if v < a[1]:  # noqa: PLR1730 - a comparison costs less than calling min()
            a[1] = v
        if v > a[2]:  # noqa: PLR1730
            a[2] = v
        a[3] += v
        a[8] += step(a[7], v)
        a[6] = t
        a[7] = v


def fold_readings(
    readings: Iterable[tuple[str, int, Iterable[Sequence[Any]]]], width: int
) -> list[Partial]:
    """Bucket partials of ``(meter, t_us, values)`` readings given in storage order, each
    value a ``(property, number, ...)`` sequence (a :class:`~omdp.cloud.model.StoredValue`).

    Storage order is (time, row id) per meter: the order a recomputation reads them in, so
    that merging partials and recomputing agree. The reading's (meter, bucket) is looked up
    once and its values fold in without a tuple each.
    """
    span = width * 1_000_000
    groups: dict[tuple[str, int], dict[str, Accumulator]] = {}
    for meter, t, values in readings:
        key = (meter, t - t % span)
        props = groups.get(key)
        if props is None:
            props = groups[key] = {}
        add(props, t, values)
    make = Partial._make
    return [
        make((m, p, width, b, *a)) for (m, b), props in groups.items() for p, a in props.items()
    ]
