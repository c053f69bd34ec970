"""Energy (and water, gas, heat) per fine bucket from whatever a meter has (APP-1, APP-2).

**Which source.** A *quantity* (grid import, export, water, gas, heat) is measured, per meter
and span, by the first of these that has values in the span:

1. the total register (``OBIS_1.8.0`` for import): its consumption;
2. else the tariff registers (``OBIS_1.8.1`` .. ``OBIS_1.8.9``): the sum of their consumptions
   (a DSMR meter counts day and night energy apart and has no total);
3. else the integral of a rate (import power ``OBIS_1.7.0``, or the positive part of the net
   power ``OBIS_16.7.0``): each value holds until the next one.

The table :data:`QUANTITIES` says which properties measure what.

**Gaps.** Consumption between consecutive register values belongs to the bucket of the later
value, as in the rollups, except across a gap (at least one whole fine bucket without values):
that step is *spread* over the gap's time, pro rata, and marked *estimated*; the part of a gap
before the span is left out. So energy is never lumped into the first bucket after a gap, and
the sum over a span still equals the registers' advance within it. A rate cannot say what
happened in a gap: its last value holds for one usual interval, the rest stays unknown.

Fine buckets are UTC-aligned hours (or quarter-hours) as in :mod:`omdp.cloud.storage.rollups`;
the service (:mod:`omdp.cloud.energy`) rolls them up into local days and months.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import MappingProxyType
from typing import TYPE_CHECKING, Final, Literal, NamedTuple

from omdp.cloud.storage.accumulate import step
from omdp.cloud.storage.database import SqlRole
from omdp.cloud.storage.rollups import HOUR, partials, series_values

if TYPE_CHECKING:
    from omdp.cloud.storage.dialect import Tx

Part = Literal["all", "positive", "negative"]
US: Final = 1_000_000
LOOKBACK: Final = timedelta(hours=2)
"""How far beyond a span the values of a rate are read (the intervals across its ends)."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """What measures one quantity: a total register, tariff registers, rates to integrate."""

    name: str
    unit: str
    total: str
    tariffs: tuple[str, ...] = ()
    rates: tuple[tuple[str, Part], ...] = ()


def _tariffs(prefix: str) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, 10))


QUANTITIES: Final = MappingProxyType(
    {
        q.name: q
        for q in (
            Quantity(
                "import",
                "kWh",
                "OBIS_1.8.0",
                _tariffs("OBIS_1.8."),
                (("OBIS_1.7.0", "all"), ("OBIS_16.7.0", "positive")),
            ),
            Quantity(
                "export",
                "kWh",
                "OBIS_2.8.0",
                _tariffs("OBIS_2.8."),
                (("OBIS_2.7.0", "all"), ("OBIS_16.7.0", "negative")),
            ),
            Quantity("water", "m3", "WATER_volume_of_water", (), (("WATER_volume_flow", "all"),)),
            Quantity("gas", "m3", "GAS_volume"),
            Quantity("heat", "kWh", "HEAT_energy", (), (("HEAT_power", "all"),)),
        )
    }
)
"""Every quantity by name; rates are per hour of the quantity's unit (kW, m3/h)."""


class EnergySource(NamedTuple):
    """How a meter's quantity was measured in a span."""

    method: Literal["total", "tariffs", "integral"]
    properties: tuple[str, ...]
    part: Part = "all"

    @property
    def label(self) -> str:
        """In words, e.g. ``OBIS_1.8.1 + OBIS_1.8.2``."""
        text = " + ".join(self.properties)
        if self.method == "integral":
            part = "" if self.part == "all" else f" ({self.part} part)"
            return f"integral of {text}{part}"
        return text


@dataclass(slots=True)
class MeterEnergy:
    """One meter's quantity per fine bucket: bucket start (µs) -> [measured, estimated]."""

    meter_id: str
    quantity: str
    source: EnergySource | None
    cells: dict[int, list[float]] = field(default_factory=dict)


class Cell(NamedTuple):
    """One fine bucket of a register: its first and last value with their times (µs)."""

    bucket: int
    first_t: int
    first_v: float
    last_t: int
    last_v: float
    internal: float


def _add(cells: dict[int, list[float]], bucket: int, value: float, slot: int) -> None:
    entry = cells.get(bucket)
    if entry is None:
        entry = cells[bucket] = [0.0, 0.0]
    entry[slot] += value


def spread(
    cells: dict[int, list[float]],
    *,
    t0: int,
    t1: int,
    amount: float,
    width_us: int,
    floor: int,
    ceiling: int | None = None,
    slot: int = 1,
) -> None:
    """Add ``amount`` over ``[t0, t1)`` to the fine buckets it covers, pro rata by time,
    into ``slot`` (1: estimated); parts outside ``[floor, ceiling)`` (the span) are left out."""
    span = t1 - t0
    top = t1 if ceiling is None else min(t1, ceiling)
    if span <= 0:
        if floor <= t1 < top or (ceiling is None and t1 >= floor):
            _add(cells, t1 - t1 % width_us, amount, slot)
        return
    b = t0 - t0 % width_us
    while b < top:
        lo, hi = max(b, t0), min(b + width_us, t1)
        if b >= floor and hi > lo:
            _add(cells, b, amount * (hi - lo) / span, slot)
        b += width_us


def register_cells(
    before: tuple[int, float] | None, cells: Sequence[Cell], *, width_us: int, floor: int
) -> dict[int, list[float]]:
    """Consumption per fine bucket of one register (module docstring: gaps are spread).

    Written for speed (a year of hours is 8,784 cells): plain tuples, no helper per cell."""
    out: dict[int, list[float]] = {}
    prev_t, prev_v = before if before is not None else (None, None)
    for bucket, first_t, first_v, last_t, last_v, internal in cells:
        measured = internal
        if prev_v is not None and prev_t is not None:
            amount = step(prev_v, first_v)
            if bucket - (prev_t - prev_t % width_us) > width_us:
                spread(out, t0=prev_t, t1=first_t, amount=amount, width_us=width_us, floor=floor)
            else:
                measured += amount
        entry = out.get(bucket)
        if entry is None:
            out[bucket] = [measured, 0.0]
        else:
            entry[0] += measured
        prev_t, prev_v = last_t, last_v
    return out


def _signed(value: float, part: Part) -> float:
    if part == "positive":
        return max(value, 0.0)
    if part == "negative":
        return max(-value, 0.0)
    return value


def integral_cells(
    values: Sequence[tuple[int, float]], *, part: Part, width_us: int, floor: int, ceiling: int
) -> dict[int, list[float]]:
    """The integral of a rate (per hour) per fine bucket: each value holds until the next one,
    for at most 2.5 usual intervals; past that the gap's energy is unknown (module docstring)."""
    out: dict[int, list[float]] = {}
    if len(values) < 2:
        return out
    steps = [b[0] - a[0] for a, b in itertools.pairwise(values) if b[0] > a[0]]
    usual = statistics.median(steps) if steps else 900 * US
    for (t, v), (nxt, _) in itertools.pairwise(values):
        held = nxt - t if nxt - t <= 2.5 * usual else usual
        amount = _signed(v, part) * held / (3600 * US)
        spread(
            out,
            t0=t,
            t1=t + int(held),
            amount=amount,
            width_us=width_us,
            floor=floor,
            ceiling=ceiling,
            slot=0,
        )
    return out


def has_values(tx: Tx, meter: str, prop: str, start: datetime, end: datetime) -> bool:
    """Whether the meter has numerical values of ``prop`` in the hours that ``[start, end)``
    touches (one probe of the hourly rollups)."""
    d = tx.dialect
    hour = datetime.fromtimestamp(start.timestamp() // HOUR * HOUR, start.tzinfo)
    return (
        tx.one(
            "SELECT 1 FROM rollups WHERE meter_id = ? AND property_id = ? AND width = ?"
            " AND bucket >= ? AND bucket < ? LIMIT 1",
            [meter, prop, HOUR, d.ts(hour), d.ts(end)],
        )
        is not None
    )


class SqlEnergy(SqlRole):
    """Energy per fine bucket of meters' quantities (the energy role), in the shared SQL."""

    def energy_cells(
        self,
        pairs: Sequence[tuple[str, str]],
        *,
        start: datetime,
        end: datetime,
        width: int,
    ) -> list[MeterEnergy]:
        """Each ``(meter, quantity)``'s amount per fine bucket of ``width`` seconds in
        ``[start, end)``, with the source used (None: the meter has none in the span)."""
        out: list[MeterEnergy] = []
        with self._tx() as tx:
            for meter, name in pairs:
                quantity = QUANTITIES[name]
                source = self._source(tx, meter, quantity, start, end)
                result = MeterEnergy(meter, name, source)
                if source is not None:
                    result.cells = self._cells(tx, meter, source, start=start, end=end, width=width)
                out.append(result)
        return out

    def _source(
        self, tx: Tx, meter: str, q: Quantity, start: datetime, end: datetime
    ) -> EnergySource | None:
        if has_values(tx, meter, q.total, start, end):
            return EnergySource("total", (q.total,))
        found = tuple(p for p in q.tariffs if has_values(tx, meter, p, start, end))
        if found:
            return EnergySource("tariffs", found)
        for prop, part in q.rates:
            if has_values(tx, meter, prop, start, end):
                return EnergySource("integral", (prop,), part)
        return None

    def _cells(
        self,
        tx: Tx,
        meter: str,
        source: EnergySource,
        *,
        start: datetime,
        end: datetime,
        width: int,
    ) -> dict[int, list[float]]:
        width_us = width * US
        floor = int(start.timestamp() // width * width) * US
        if source.method == "integral":
            values = series_values(
                tx,
                meter_id=meter,
                property_id=source.properties[0],
                start=start - LOOKBACK,
                end=end + LOOKBACK,
            )
            ceiling = int(end.timestamp() * US)
            return integral_cells(
                values, part=source.part, width_us=width_us, floor=floor, ceiling=ceiling
            )
        total: dict[int, list[float]] = {}
        for prop in source.properties:
            before, cells = self._register(tx, meter, prop, start=start, end=end, width=width)
            for bucket, (measured, estimated) in register_cells(
                before, cells, width_us=width_us, floor=floor
            ).items():
                _add(total, bucket, measured, 0)
                _add(total, bucket, estimated, 1)
        return total

    def _register(
        self, tx: Tx, meter: str, prop: str, *, start: datetime, end: datetime, width: int
    ) -> tuple[tuple[int, float] | None, list[Cell]]:
        """The register's last value before the span and its fine buckets in the span."""
        d = self.dialect
        aligned = datetime.fromtimestamp(start.timestamp() // width * width, start.tzinfo)
        hour = datetime.fromtimestamp(aligned.timestamp() // HOUR * HOUR, start.tzinfo)
        row = tx.one(
            "SELECT last_t, last_v FROM rollups WHERE meter_id = ? AND property_id = ?"
            " AND width = ? AND bucket < ? ORDER BY bucket DESC LIMIT 1",
            [meter, prop, HOUR, d.ts(hour)],
        )
        if row is None:
            before = None
        else:
            last_t, last_v = row
            before = (d.us(last_t), float(last_v))
        if width == HOUR:
            columns = ", ".join(d.us_sql(c) for c in ("bucket", "first_t"))
            rows = tx.run(
                f"SELECT {columns}, first_v, {d.us_sql('last_t')}, last_v, internal"  # noqa: S608
                " FROM rollups WHERE meter_id = ? AND property_id = ? AND width = ?"
                " AND bucket >= ? AND bucket < ? ORDER BY bucket",
                [meter, prop, HOUR, d.ts(aligned), d.ts(end)],
            )
            return before, rows  # type: ignore[return-value]  # (int, int, float, int, float, float)
        edge = int(aligned.timestamp()) * US
        series: list[tuple[str, str, int, float]] = []
        for t, v in series_values(tx, meter_id=meter, property_id=prop, start=hour, end=end):
            if t < edge:
                before = (t, v)
            else:
                series.append((meter, prop, t, v))
        cells = [
            Cell(p.bucket, p.first_t, p.first_v, p.last_t, p.last_v, p.internal)
            for p in partials(series, width)
        ]
        return before, sorted(cells)
