"""A property's values over a span, decimated to a chart's pixels (min, max and mean per pixel).

A year of 15-minute power is 35,040 values a meter; a chart 1,200 pixels wide shows at most
1,200 distinct x positions. Per pixel the minimum and maximum are kept (peaks survive) and the
mean. Pixels of an hour or more are read from the hourly rollups (their min and max are exact);
narrower ones from the values. When the span holds no more than two values per pixel, the
values themselves come back (``raw``): full resolution on zoom.

A gap (no value for more than 2.5 usual intervals, and more than 1.5 pixels) is a ``None``
between the points on either side, so that a chart draws it as a gap.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Literal, NamedTuple

from omdp.cloud.storage.database import SqlRole
from omdp.cloud.storage.energy import Part, has_values
from omdp.cloud.storage.rollups import HOUR, series_values

if TYPE_CHECKING:
    from omdp.cloud.storage.dialect import Tx

US = 1_000_000


class Series(NamedTuple):
    """Columns of one series: times (s since the epoch) and values (None: a gap)."""

    resolution: Literal["raw", "minmax"]
    step_s: float
    t: list[float]
    mean: list[float | None]
    min: list[float | None] | None = None
    max: list[float | None] | None = None


def _part(v: float, part: Part) -> float:
    return v if part == "all" else max(v, 0.0) if part == "positive" else max(-v, 0.0)


def _with_gaps(
    pixels: list[tuple[float, float, float, float]], limit: float, resolution: str, step: float
) -> Series:
    """(t, min, max, mean) rows to columns, a None row where consecutive ones are too far."""
    t: list[float] = []
    lo: list[float | None] = []
    hi: list[float | None] = []
    mean: list[float | None] = []
    last: float | None = None
    for when, a, b, m in pixels:
        if last is not None and when - last > limit:
            t.append(last + (when - last) / 2)
            lo.append(None)
            hi.append(None)
            mean.append(None)
        t.append(when)
        lo.append(a)
        hi.append(b)
        mean.append(m)
        last = when
    if resolution == "raw":
        return Series("raw", step, t, mean)
    return Series("minmax", step, t, mean, lo, hi)


def decimate(
    values: Sequence[tuple[int, float]], *, start: float, step: float, points: int, part: Part
) -> Series:
    """Values ``(t_us, v)`` (in time order) to pixels of ``step`` seconds from ``start``, or
    the values themselves when there are at most two per pixel."""
    vals = [(t / US, _part(v, part)) for t, v in values]
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(vals) if b[0] > a[0]]
    usual = statistics.median(gaps) if gaps else step
    if len(vals) <= 2 * points:
        return _with_gaps([(t, v, v, v) for t, v in vals], 2.5 * usual, "raw", step)
    pixels: list[tuple[float, float, float, float]] = []
    current = -1
    n = 0
    lo = hi = total = 0.0
    for t, v in vals:
        px = int((t - start) // step)
        if px != current:
            if n:
                pixels.append((start + current * step, lo, hi, total / n))
            current, n, lo, hi, total = px, 0, v, v, 0.0
        n += 1
        total += v
        lo = min(lo, v)
        hi = max(hi, v)
    if n:
        pixels.append((start + current * step, lo, hi, total / n))
    return _with_gaps(pixels, max(2.5 * usual, 1.5 * step), "minmax", step)


class SqlSeries(SqlRole):
    """Decimated series of one meter's quantity for charts (the series role), in the shared
    SQL."""

    def series(
        self,
        meter_id: str,
        candidates: Sequence[tuple[str, Part]],
        *,
        start: datetime,
        end: datetime,
        points: int,
    ) -> tuple[str, Part, Series] | None:
        """The first of ``candidates`` (property, part) that the meter has in ``[start, end)``,
        decimated to ``points`` pixels (module docstring); None when it has none of them.
        ``part`` keeps the positive or negative part of a signed value."""
        span = (end - start).total_seconds()
        step = max(1.0, math.ceil(span / points))
        with self._tx() as tx:
            found = next(
                (c for c in candidates if has_values(tx, meter_id, c[0], start, end)), None
            )
            if found is None:
                return None
            prop, part = found
            if step >= HOUR and part == "all":
                data = self._from_hours(tx, meter_id, prop, start=start, end=end, step=step)
                return prop, part, data
            values = series_values(tx, meter_id=meter_id, property_id=prop, start=start, end=end)
        data = decimate(values, start=start.timestamp(), step=step, points=points, part=part)
        return prop, part, data

    def _from_hours(
        self, tx: Tx, meter: str, prop: str, *, start: datetime, end: datetime, step: float
    ) -> Series:
        """Pixels of the hourly rollups, grouped in SQL (a year of hours is 8,784 rows; a
        chart's pixels a tenth of that)."""
        d = self.dialect
        t0 = int(start.timestamp()) * US
        width = int(step * US)
        rows = tx.run(
            f"SELECT ({d.us_sql('bucket')} - ?) / ? AS px, min(vmin), max(vmax), sum(vsum),"  # noqa: S608
            " sum(n), count(*) FROM rollups WHERE meter_id = ? AND property_id = ? AND width = ?"
            " AND bucket >= ? AND bucket < ? GROUP BY px ORDER BY px",
            [t0, width, meter, prop, HOUR, d.ts(start), d.ts(end)],
        )
        pixels = [
            (t0 / US + int(px) * step, float(lo), float(hi), float(total) / int(n))
            for px, lo, hi, total, n, _ in rows
        ]
        values = sum(int(n) for _, _, _, _, n, _ in rows)
        hours = sum(int(count) for _, _, _, _, _, count in rows)
        usual = HOUR * hours / values if values else HOUR
        return _with_gaps(pixels, max(2.5 * usual, 1.5 * step), "minmax", step)
