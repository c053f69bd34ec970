"""Rollups: per meter and property, hourly buckets kept at ingest; quarter-hours computed from
the values on query; days and months derived from hours (or quarter-hours) in the household's
local time on query.

**What is stored.** A row per (meter, property, hour), UTC-aligned. Every real timezone offset
is a multiple of 15 minutes, so local hours (whole-hour zones), days and months are unions of
hours, or else of quarter-hours. A row holds count, min, max, sum, the first and last value
with their times, and ``internal``: the consumption between consecutive values *inside* the
bucket. Rows are therefore self-contained: a late reading changes only the bucket it falls in;
the step from one bucket's last value to the next one's first is taken on query.

**Why hours only.** Meters send every 15 minutes or more often, so a stored quarter-hour would
hold about one value: it would double the rows every batch writes to save nothing on query.
Quarter-hours are aggregated here from the values of the meter's readings in the span.

**How ingest keeps them.** Each batch's new values are folded in Python
(:func:`omdp.cloud.storage.accumulate.fold_readings`) into one partial per (meter, property,
hour), and the partials are upserted: when the partial lies at or after the bucket's last
value (the normal, in-order case) it is merged (counts add, ``internal`` gains the step from
the old last to the new first value); otherwise the bucket is marked dirty and recomputed from
the stored readings in the same transaction, folded the same way. Consumption follows the one
rule of :mod:`omdp.cloud.storage.accumulate`. Measurements behind these choices are in
``docs/benchmarks.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Final, NamedTuple
from zoneinfo import ZoneInfo

from omdp.cloud.model import AggregateFunction, AggregateRow, Interval, StoredReading
from omdp.cloud.storage.accumulate import Partial, fold_readings, step, step_sql
from omdp.cloud.storage.packing import unpack, unpacker

if TYPE_CHECKING:
    from omdp.cloud.storage.dialect import Dialect, Tx

__all__ = ["Partial", "step"]

WIDTHS: Final = (3600,)
"""Bucket widths kept at ingest, in seconds: hours only (15-minute buckets come from the values)."""

HOUR: Final = 3600
QUARTER: Final = 900

ROLLUP_COLUMNS: Final = (
    "meter_id, property_id, width, bucket, n, vmin, vmax, vsum, "
    "first_t, first_v, last_t, last_v, internal"
)
_COLUMNS = ROLLUP_COLUMNS + ", dirty"


def partials(values: Iterable[tuple[str, str, int, float]], width: int = HOUR) -> list[Partial]:
    """Bucket partials of ``(meter, property, t_us, value)`` rows given in storage order
    (time, row id, position); times in integer microseconds since the epoch."""
    return fold_readings(((m, t, ((p, v),)) for m, p, t, v in values), width)


def batch_partials(
    readings: Sequence[StoredReading], order: Iterable[int], times: Sequence[int]
) -> list[Partial]:
    """Hourly partials of the numerical values of ``readings[i]`` for ``i`` in ``order``
    (time order, batch order within a time: the row ids' order); times in microseconds.

    They come sorted by the rollups' key (meter, property, width, bucket), so that the upsert
    meets the key's index in order, a leaf after the next, instead of hopping between every
    meter's and property's leaves (docs/benchmarks.md, "Storage").
    """
    parts = fold_readings(
        ((readings[i].meter_id, times[i], readings[i].values) for i in order), HOUR
    )
    parts.sort()
    return parts


def _partial_rows(source: str | None) -> str:
    """The rows an upsert of partials inserts (not dirty): one partial as parameters, for
    ``executemany``, or every partial of ``source`` (a staging table or sub-select)."""
    if source:
        return f"SELECT {ROLLUP_COLUMNS}, 0 FROM {source} WHERE 1 = 1"  # noqa: S608
    return "VALUES (" + ", ".join("?" * 13) + ", 0)"


def merge_sql(d: Dialect, *, source: str | None = None) -> str:
    """Upsert partials: merge in-order ones, mark the others dirty (recomputed afterwards).

    Without ``source`` the statement takes one partial as parameters (``executemany``); with
    it, the partials are selected from ``source`` (a staging table with the same columns).
    """
    # ties go after the stored values: their row ids are higher, as in a recomputation
    ok = "rollups.last_t <= excluded.first_t"

    def pick(merged: str, column: str) -> str:
        return f"{column} = CASE WHEN {ok} THEN {merged} ELSE rollups.{column} END"

    across = step_sql("rollups.last_v", "excluded.first_v")
    sets = ", ".join(
        (
            pick("rollups.n + excluded.n", "n"),
            pick(f"{d.least}(rollups.vmin, excluded.vmin)", "vmin"),
            pick(f"{d.greatest}(rollups.vmax, excluded.vmax)", "vmax"),
            pick("rollups.vsum + excluded.vsum", "vsum"),
            pick("excluded.last_t", "last_t"),
            pick("excluded.last_v", "last_v"),
            pick(f"rollups.internal + excluded.internal + {across}", "internal"),
            f"dirty = CASE WHEN {ok} THEN rollups.dirty ELSE 1 END",
        )
    )
    return (
        f"INSERT INTO rollups ({_COLUMNS}) {_partial_rows(source)}\n"
        f"ON CONFLICT (meter_id, property_id, width, bucket) DO UPDATE SET {sets}"
    )


class StoredRow(NamedTuple):
    """A reading as a recomputation reads it: meter, time (µs) and packed values."""

    meter_id: str
    t: int
    vals: str


def readings_partials(rows: Iterable[StoredRow], width: int) -> list[Partial]:
    """The partials of stored readings (in storage order), folded as at ingest."""
    return fold_readings(((r.meter_id, r.t, unpack(r.vals)) for r in rows), width)


def dirty_readings(tx: Tx, width: int) -> list[StoredRow]:
    """The readings in the buckets of ``width`` that hold a dirty property, in storage order.

    Per (meter, bucket): the meter's readings in the bucket (by (meter, time)), each read once
    for all its properties; the properties that were not dirty come out as they were stored.
    """
    d = tx.dialect
    rows = tx.run(
        f"SELECT g.meter_id, {d.us_sql('g.t')}, g.vals FROM "  # noqa: S608
        f"(SELECT DISTINCT meter_id, bucket FROM rollups WHERE dirty = 1 AND width = {width}) o "
        f"JOIN readings g ON g.meter_id = o.meter_id AND g.t >= o.bucket "
        f"AND g.t < {d.plus('o.bucket', width)} ORDER BY g.meter_id, g.t, g.rid"
    )
    return [StoredRow(m, int(t), vals) for m, t, vals in rows]


def meter_readings(tx: Tx, meter_id: str) -> list[StoredRow]:
    """Every stored reading of one meter, in storage order (a rebuild of its rollups)."""
    d = tx.dialect
    rows = tx.run(
        f"SELECT meter_id, {d.us_sql('t')}, vals FROM readings WHERE meter_id = ?"  # noqa: S608
        " ORDER BY t, rid",
        [meter_id],
    )
    return [StoredRow(m, int(t), vals) for m, t, vals in rows]


def replace_sql(source: str | None = None) -> str:
    """Upsert recomputed buckets: their rows are replaced and no longer dirty.

    Without ``source`` the statement takes one partial as parameters (``executemany``); with
    it, the partials are selected from ``source``, as in :func:`merge_sql`.
    """
    replace = ", ".join(
        f"{c} = excluded.{c}"
        for c in (
            "n", "vmin", "vmax", "vsum", "first_t", "first_v", "last_t", "last_v", "internal"
        )
    )  # fmt: skip
    return (
        f"INSERT INTO rollups ({_COLUMNS}) {_partial_rows(source)}\n"
        "ON CONFLICT (meter_id, property_id, width, bucket) DO UPDATE SET "
        f"{replace}, dirty = 0"
    )


# -- derivation on query ---------------------------------------------------------------------


class FineRow(NamedTuple):
    """One stored bucket, as the derivation needs it (a named tuple: cheap to build)."""

    bucket: datetime
    n: int
    vmin: float
    vmax: float
    vsum: float
    first_v: float
    last_v: float
    internal: float


Bucketer = Callable[[datetime], tuple[datetime, datetime]]


def bucketer(interval: Interval, width: int, zone: ZoneInfo) -> Bucketer:
    """Map a stored bucket's UTC start to the UTC (start, end) of its ``interval`` bucket."""
    if interval is Interval.DAY:

        def day(b: datetime) -> tuple[datetime, datetime]:
            local = b.astimezone(zone).date()
            start = datetime.combine(local, time(), zone)
            end = datetime.combine(local + timedelta(days=1), time(), zone)
            return start.astimezone(UTC), end.astimezone(UTC)

        return day
    if interval is Interval.MONTH:

        def month(b: datetime) -> tuple[datetime, datetime]:
            local = b.astimezone(zone).date().replace(day=1)
            nxt = (local + timedelta(days=32)).replace(day=1)
            start = datetime.combine(local, time(), zone)
            return start.astimezone(UTC), datetime.combine(nxt, time(), zone).astimezone(UTC)

        return month
    size = 900 if interval is Interval.QUARTER_HOUR else 3600
    if size == width:
        delta = timedelta(seconds=size)
        return lambda b: (b, b + delta)

    def hour(b: datetime) -> tuple[datetime, datetime]:
        start = b - timedelta(minutes=b.astimezone(zone).minute)
        return start, start + timedelta(hours=1)

    return hour


def fine_width(interval: Interval, zone: ZoneInfo, start: datetime, end: datetime) -> int:
    """Hourly rows when the zone's offsets at both ends are whole hours, else 15 minutes."""
    if interval is Interval.QUARTER_HOUR:
        return 900
    for when in (start, end):
        offset = when.astimezone(zone).utcoffset() or timedelta()
        if offset.total_seconds() % 3600:
            return 900
    return 3600


def roll(
    meter_id: str | None,
    *,
    rows: Sequence[FineRow],
    previous: float | None,
    key: Bucketer,
    functions: frozenset[AggregateFunction],
    cumulative: bool,
) -> list[AggregateRow]:
    """Combine stored buckets (sorted) into coarser ones; ``previous`` is the last value before.

    Written for speed (a year of hours is 8,784 rows): the target bucket is computed only when
    a row leaves the current one, and the accumulator lives in local variables.
    """
    f = functions
    want_n, want_min = AggregateFunction.COUNT in f, AggregateFunction.MIN in f
    want_max = AggregateFunction.MAX in f
    want_mean, want_last = AggregateFunction.MEAN in f, AggregateFunction.LAST in f
    want_use = cumulative and AggregateFunction.CONSUMPTION in f
    out: list[AggregateRow] = []
    start = end = None
    n = 0
    lo = hi = total = use = last = 0.0

    def flush() -> None:
        out.append(
            AggregateRow(
                meter_id,
                start,  # type: ignore[arg-type]
                end,  # type: ignore[arg-type]
                n if want_n else None,
                lo if want_min else None,
                hi if want_max else None,
                total / n if want_mean else None,
                last if want_last else None,
                use if want_use else None,
            )
        )

    for row in rows:
        b = row.bucket
        if start is None or not start <= b < end:  # type: ignore[operator]
            if start is not None:
                flush()
            start, end = key(b)
            n, lo, hi, total, use = 0, row.vmin, row.vmax, 0.0, 0.0
        if want_use:  # consumption only where asked for: one call a row saved otherwise
            use += step(previous, row.first_v) + row.internal
        previous = last = row.last_v
        n += row.n
        if row.vmin < lo:  # noqa: PLR1730 - a comparison costs less than calling min()
            lo = row.vmin
        if row.vmax > hi:  # noqa: PLR1730
            hi = row.vmax
        total += row.vsum
    if start is not None:
        flush()
    return out


def combine_rows(rows: Sequence[AggregateRow]) -> list[AggregateRow]:
    """Merge several meters' rows bucket by bucket (a household's total)."""
    by_start: dict[datetime, list[AggregateRow]] = {}
    for row in rows:
        by_start.setdefault(row.start, []).append(row)

    def total(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return sum(present) if present else None

    out = []
    for start in sorted(by_start):
        group = by_start[start]
        counts = [r.count for r in group if r.count is not None]
        weighted = [r.mean * r.count for r in group if r.mean is not None and r.count]
        mins = [r.min for r in group if r.min is not None]
        maxs = [r.max for r in group if r.max is not None]
        out.append(
            AggregateRow(
                meter_id=None,
                start=start,
                end=group[0].end,
                count=sum(counts) if counts else None,
                min=min(mins) if mins else None,
                max=max(maxs) if maxs else None,
                mean=sum(weighted) / sum(counts) if weighted and counts else None,
                last=total([r.last for r in group]),
                consumption=total([r.consumption for r in group]),
            )
        )
    return out


def series_values(
    tx: Tx, *, meter_id: str, property_id: str, start: datetime, end: datetime
) -> list[tuple[int, float]]:
    """``(t_us, value)`` of one meter's property in ``[start, end)``, in storage order: the
    meter's readings by (meter, time), the property's numerical value taken from each."""
    d = tx.dialect
    rows = tx.run(
        f"SELECT {d.us_sql('t')}, vals FROM readings WHERE meter_id = ?"  # noqa: S608
        " AND t >= ? AND t < ? ORDER BY t, rid",
        [meter_id, d.ts(start), d.ts(end)],
    )
    values = unpacker((property_id,))
    return [
        (int(t), float(v.numerical_value))
        for t, vals in rows
        for v in values(vals)
        if v.numerical_value is not None
    ]


def fetch_fine(
    tx: Tx, *, meter_id: str, property_id: str, width: int, start: datetime, end: datetime
) -> tuple[float | None, list[FineRow]]:
    """The buckets of one series in ``[start, end)`` and the last value before them.

    Hours come from the stored rollups; quarter-hours are computed here from the values
    themselves (the meter's readings in the span, each probed for the property's value), see
    the module docstring.
    """
    d = tx.dialect
    aligned = datetime.fromtimestamp(start.timestamp() // width * width, start.tzinfo)
    key = [meter_id, property_id]
    if width != HOUR:
        # the last value before an hour is its predecessor's ``last_v``; the values from that
        # hour on are read through the meter's readings and folded in up to ``aligned``
        hour = datetime.fromtimestamp(aligned.timestamp() // HOUR * HOUR, UTC)
        before = tx.scalar(
            "SELECT last_v FROM rollups WHERE meter_id = ? AND property_id = ? AND width = ?"
            " AND bucket < ? ORDER BY bucket DESC LIMIT 1",
            [*key, HOUR, d.ts(hour)],
        )
        values = series_values(tx, meter_id=meter_id, property_id=property_id, start=hour, end=end)
        edge = d.us(d.ts(aligned))
        series: list[tuple[str, str, int, float]] = []
        for us, v in values:
            if us < edge:
                before = v
            else:
                series.append((meter_id, property_id, us, v))
        fine = [
            FineRow(
                d.dt(d.from_us(p.bucket)), p.n, p.vmin, p.vmax, p.vsum, p.first_v, p.last_v,
                p.internal,
            )
            for p in partials(series, width)
        ]  # fmt: skip
        return (before, fine)
    previous = tx.scalar(
        "SELECT last_v FROM rollups WHERE meter_id = ? AND property_id = ? AND width = ? "
        "AND bucket < ? ORDER BY bucket DESC LIMIT 1",
        [*key, width, d.ts(aligned)],
    )
    rows = tx.run(
        "SELECT bucket, n, vmin, vmax, vsum, first_v, last_v, internal FROM rollups "
        "WHERE meter_id = ? AND property_id = ? AND width = ? AND bucket >= ? AND bucket < ? "
        "ORDER BY bucket",
        [*key, width, d.ts(aligned), d.ts(end)],
    )
    return (
        previous,
        [
            FineRow(d.dt(bucket), n, lo, hi, total, first, last, internal)
            for bucket, n, lo, hi, total, first, last, internal in rows
        ],
    )
