"""A household's energy picture over a span, computed once for every view of the app (APP-1..3).

``POST /v1/energy`` answers with it. Per bucket (15 minutes, hours, local days or months):

- ``import`` / ``export``: the grid meters' energy bought and fed in;
- ``production``: what PV meters delivered; ``charge`` / ``discharge``: battery meters;
- ``consumption``: what the house used (import + production - export - charge + discharge;
  absent when energy is fed in but no PV meter says how much was produced);
- ``selfConsumption``: production used in the house (production - export);
- ``water``, ``gas`` (m3) and ``heat`` (kWh) of the household's other meters;

each as ``values`` (None: no data in the bucket) and ``estimated`` (the part of the value spread
over a gap, see :mod:`omdp.cloud.storage.energy`), with how every meter was measured, totals
(and autarky, self-consumption rate) and, with a tariff, the costs per bucket.

A meter's *role* (grid, pv, battery, submeter; grid unless set) says where its energy goes;
its element's class (electricity, water, gas, heat) which quantities it has.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

from omdp.cloud.model import Interval
from omdp.cloud.storage.energy import QUANTITIES, MeterEnergy
from omdp.cloud.storage.port import EnergyQuery
from omdp.cloud.storage.rollups import bucketer, fine_width
from omdp.cloud.tariffs import MeterRole, PricePoint, PriceSeries, Tariff, monthly_fee_share
from omdp.domain.reading import MeterClass, MeterIndividual

FLOWS: Final = {
    (MeterRole.GRID, "import"): "import",
    (MeterRole.GRID, "export"): "export",
    (MeterRole.BATTERY, "import"): "charge",
    (MeterRole.BATTERY, "export"): "discharge",
    (MeterRole.SUBMETER, "import"): "submeter",
}
"""Where an electricity meter's quantity goes, by its role (a PV meter's is production)."""
OTHER: Final = {MeterClass.WATER: "water", MeterClass.GAS: "gas", MeterClass.HEAT: "heat"}
UNITS: Final = {
    "water": "m3",
    "gas": "m3",
    "heat": "kWh",
}
DIGITS: Final = 6


def _r(value: float | None) -> float | None:
    return None if value is None else round(value, DIGITS)


def calendar(
    interval: Interval, zone: ZoneInfo, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The buckets of ``interval`` that cover ``[start, end)``, in UTC."""
    key = bucketer(interval, 900 if interval is Interval.QUARTER_HOUR else 3600, zone)
    out = []
    at = start
    while at < end:
        b0, b1 = key(at)
        out.append((b0, b1))
        at = b1
    return out


@dataclass(slots=True)
class Column:
    """One quantity per bucket: its value and the estimated part of it."""

    unit: str
    values: list[float | None]
    estimated: list[float]

    @classmethod
    def empty(cls, unit: str, size: int) -> Column:
        """A column without data."""
        return cls(unit, [None] * size, [0.0] * size)

    def add(self, i: int, measured: float, estimated: float) -> None:
        """Add to bucket ``i``."""
        self.values[i] = (self.values[i] or 0.0) + measured + estimated
        self.estimated[i] += estimated

    def total(self) -> float | None:
        """The sum over the span (None without any data)."""
        present = [v for v in self.values if v is not None]
        return sum(present) if present else None

    def json(self) -> dict[str, Any]:
        """Compact columns (the estimated part only when there is one)."""
        out: dict[str, Any] = {"unit": self.unit, "values": [_r(v) for v in self.values]}
        if any(self.estimated):
            out["estimated"] = [_r(v) for v in self.estimated]
        return out


@dataclass(slots=True)
class Picture:
    """The energy picture being built."""

    buckets: list[tuple[datetime, datetime]]
    starts: list[float] = field(default_factory=list)
    columns: dict[str, Column] = field(default_factory=dict)
    fine: dict[str, dict[int, float]] = field(default_factory=dict)
    known: dict[int, int | None] = field(default_factory=dict)
    end: float = 0.0

    def __post_init__(self) -> None:
        self.starts = [b[0].timestamp() for b in self.buckets]
        self.end = self.buckets[-1][1].timestamp() if self.buckets else 0.0

    def index(self, t_us: int) -> int | None:
        """The bucket holding a fine bucket's start (None: outside the span)."""
        found = self.known.get(t_us, -1)
        if found != -1:
            return found
        t = t_us / 1e6
        i = bisect.bisect_right(self.starts, t) - 1
        found = i if i >= 0 and t < self.end else None
        self.known[t_us] = found
        return found

    def take(self, flow: str, unit: str, result: MeterEnergy) -> None:
        """Add a meter's fine buckets to the column ``flow``."""
        column = self.columns.get(flow)
        if column is None:
            column = self.columns[flow] = Column.empty(unit, len(self.buckets))
        fine = self.fine.setdefault(flow, {})
        for bucket, (measured, estimated) in result.cells.items():
            i = self.index(bucket)
            if i is None:
                continue
            column.add(i, measured, estimated)
            fine[bucket] = fine.get(bucket, 0.0) + measured + estimated

    def derive(self) -> None:
        """consumption and selfConsumption from the flows (where the grid import is known)."""
        imp = self.columns.get("import")
        if imp is None:
            return
        exported = self.columns.get("export")
        if "production" not in self.columns and exported is not None and exported.total():
            return  # fed in from a production nobody meters: what the house used is unknown
        size = len(self.buckets)

        def at(flow: str, i: int) -> float:
            col = self.columns.get(flow)
            return 0.0 if col is None or col.values[i] is None else col.values[i] or 0.0

        use = Column.empty("kWh", size)
        own = Column.empty("kWh", size) if "production" in self.columns else None
        for i in range(size):
            if imp.values[i] is None:
                continue
            produced = at("production", i)
            used = (
                at("import", i) + produced - at("export", i) - at("charge", i) + at("discharge", i)
            )
            use.values[i] = max(used, 0.0)
            if own is not None:
                own.values[i] = max(produced - at("export", i), 0.0)
        self.columns["consumption"] = use
        if own is not None:
            self.columns["selfConsumption"] = own


def _plan(
    meters: Sequence[MeterIndividual], roles: Mapping[str, MeterRole]
) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for m in meters:
        kind = m.physical_meter_type.physical_meter_class if m.physical_meter_type else None
        if kind in OTHER:
            pairs.append((m.meter_individual_id, OTHER[kind]))
        else:
            pairs += [(m.meter_individual_id, "import"), (m.meter_individual_id, "export")]
    return pairs


def _flow(role: MeterRole, quantity: str, has_export: bool) -> str | None:
    if quantity in UNITS:
        return quantity
    if role is MeterRole.PV:
        wanted = "export" if has_export else "import"
        return "production" if quantity == wanted else None
    return FLOWS.get((role, quantity))


def costs(
    picture: Picture, tariff: Tariff, prices: Sequence[PricePoint], zone: ZoneInfo, width: int
) -> dict[str, Any]:
    """Money per bucket: energy bought, feed-in credit, the monthly fee's share, the total, and
    energy without a price (a dynamic tariff outside its series)."""
    size = len(picture.buckets)
    energy: list[float | None] = [None] * size
    credit: list[float | None] = [None] * size
    unpriced = [0.0] * size
    series = PriceSeries.of(prices) if tariff.kind == "dynamic" else None

    def price(t: float) -> float | None:
        if series is None:
            return tariff.price_at(datetime.fromtimestamp(t, zone))
        mean = series.mean(t, t + width)
        return None if mean is None else mean + tariff.dynamic_markup

    for bucket, kwh in picture.fine.get("import", {}).items():
        i = picture.index(bucket)
        if i is None:
            continue
        p = price(bucket / 1e6)
        if p is None:
            unpriced[i] += kwh
        else:
            energy[i] = (energy[i] or 0.0) + kwh * p
    for bucket, kwh in picture.fine.get("export", {}).items():
        i = picture.index(bucket)
        if i is not None:
            credit[i] = (credit[i] or 0.0) + kwh * tariff.feed_in_price
    fee = [monthly_fee_share(tariff.monthly_fee, b0, b1, zone) for b0, b1 in picture.buckets]
    total = [
        None if e is None and c is None else (e or 0.0) - (c or 0.0) + f
        for e, c, f in zip(energy, credit, fee, strict=True)
    ]
    return {
        "currency": tariff.currency,
        "tariff": tariff.model_dump(mode="json", by_alias=True),
        "energy": [_r(v) for v in energy],
        "credit": [_r(v) for v in credit],
        "fee": [_r(v) for v in fee],
        "total": [_r(v) for v in total],
        "unpricedKwh": [_r(v) for v in unpriced] if any(unpriced) else None,
    }


def _totals(columns: Mapping[str, Column]) -> dict[str, float | None]:
    totals = {name: _r(col.total()) for name, col in columns.items()}
    produced, used, imported = (
        totals.get("production"),
        totals.get("consumption"),
        totals.get("import"),
    )
    if produced and totals.get("selfConsumption") is not None:
        totals["selfConsumptionRate"] = _r(100 * (totals["selfConsumption"] or 0) / produced)
    if used and imported is not None and produced is not None:
        totals["autarky"] = _r(max(0.0, min(100.0, 100 * (used - imported) / used)))
    return totals


def household_energy(
    store: EnergyQuery,
    *,
    meters: Sequence[MeterIndividual],
    roles: Mapping[str, MeterRole],
    interval: Interval,
    start: datetime,
    end: datetime,
    zone: ZoneInfo,
    tariff: Tariff | None = None,
    prices: Sequence[PricePoint] = (),
    rename: Callable[[str], str] | None = None,
) -> dict[str, Any]:
    """The energy picture (module docstring) as the JSON document ``POST /v1/energy`` sends."""
    width = fine_width(interval, zone, start, end)
    results = store.energy_cells(_plan(meters, roles), start=start, end=end, width=width)
    picture = Picture(calendar(interval, zone, start, end))
    names = {m.meter_individual_id: m.meter_individual_name for m in meters}
    exporting = {r.meter_id for r in results if r.quantity == "export" and r.source is not None}
    described = []
    for r in results:
        role = roles.get(r.meter_id, MeterRole.GRID)
        flow = _flow(role, r.quantity, r.meter_id in exporting)
        unit = QUANTITIES[r.quantity].unit
        if flow is not None and r.source is not None:
            picture.take(flow, unit, r)
        cells = r.cells.values()
        described.append(
            {
                "meterId": r.meter_id if rename is None else rename(r.meter_id),
                "meterName": names.get(r.meter_id),
                "role": role.value if r.quantity in ("import", "export") else None,
                "quantity": r.quantity,
                "flow": flow,
                "unit": unit,
                "method": None if r.source is None else r.source.method,
                "properties": [] if r.source is None else list(r.source.properties),
                "source": None if r.source is None else r.source.label,
                "total": _r(sum(a + b for a, b in cells)) if r.source else None,
                "estimated": _r(sum(b for _, b in cells)) if r.source else None,
            }
        )
    picture.derive()
    doc: dict[str, Any] = {
        "interval": interval.value,
        "timezone": str(zone),
        "start": start.astimezone(UTC),
        "end": end.astimezone(UTC),
        "t": [int(s) for s in picture.starts],
        "tEnd": int(picture.buckets[-1][1].timestamp()) if picture.buckets else None,
        "series": {name: col.json() for name, col in picture.columns.items()},
        "totals": _totals(picture.columns),
        "meters": described,
        "costs": None if tariff is None else costs(picture, tariff, prices, zone, width),
    }
    return doc
