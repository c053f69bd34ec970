"""A household's tariff and price series (APP-3), and what energy costs under them.

A tariff is kept per household on the server (so that every device of the household shows the
same costs). Kinds:

- ``flat``: one price per kWh;
- ``tou`` (time of use): ``peakPrice`` in the local hours ``[peakStart, peakEnd)`` (on
  weekdays only when ``peakWeekdaysOnly``), ``offPeakPrice`` otherwise;
- ``dynamic``: the household's price series (e.g. day-ahead prices, imported through the API or
  as CSV) plus ``dynamicMarkup`` per kWh (grid fees, taxes). A price holds from its time until
  the next one; the last one for one usual step of the series. Energy in a time without a price
  is counted as *unpriced*, never at a made-up price.

Every kind has a ``monthlyFee`` (per local calendar month, spread over the days of the month
when costs are shown per day or hour) and a ``feedInPrice`` per kWh fed into the grid.
"""

from __future__ import annotations

import bisect
import csv
import io
import itertools
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal, NamedTuple
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from omdp.domain.reading import SpecModel

Price = Annotated[float, Field(ge=-100, le=100)]
"""Money per kWh (negative prices exist on spot markets)."""


class MeterRole(StrEnum):
    """What an electricity meter measures in a household's energy flow."""

    GRID = "grid"  # the connection to the grid: import is bought, export is fed in
    PV = "pv"  # a PV (generation) meter: what it delivers is production
    BATTERY = "battery"  # a battery's meter: import charges it, export discharges it
    SUBMETER = "submeter"  # part of the house's consumption (a heat pump): not added to totals


class Tariff(SpecModel):
    """``GET/PUT /v1/households/{householdId}/tariff``: what the household pays."""

    kind: Literal["flat", "tou", "dynamic"] = Field(
        description="flat, tou (peak/off-peak) or dynamic (the price series)."
    )
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "EUR"
    flat_price: Price = Field(default=0.30, description="Price per kWh of a flat tariff.")
    peak_price: Price = Field(default=0.36, description="Price per kWh in peak hours.")
    off_peak_price: Price = Field(default=0.24, description="Price per kWh off peak.")
    peak_start: int = Field(default=7, ge=0, le=23, description="First local peak hour.")
    peak_end: int = Field(default=22, ge=0, le=24, description="Local hour the peak ends.")
    peak_weekdays_only: bool = Field(default=True, description="Weekends are off-peak.")
    dynamic_markup: Price = Field(
        default=0.0, description="Added per kWh to the price series (grid fees, taxes)."
    )
    monthly_fee: Annotated[float, Field(ge=0, le=100_000)] = 0.0
    feed_in_price: Price = Field(default=0.0, description="Paid per kWh fed into the grid.")

    @model_validator(mode="after")
    def _hours(self) -> Tariff:
        if self.kind == "tou" and self.peak_start == self.peak_end % 24:
            msg = "peakStart and peakEnd must differ (an empty or a whole-day peak)"
            raise ValueError(msg)
        return self

    def price_at(self, local: datetime) -> float:
        """The energy price of a flat or time-of-use tariff at a local time."""
        if self.kind != "tou":
            return self.flat_price
        hour = local.hour
        if self.peak_start < self.peak_end:
            peak = self.peak_start <= hour < self.peak_end
        else:
            peak = hour >= self.peak_start or hour < self.peak_end
        if self.peak_weekdays_only and local.weekday() >= 5:
            peak = False
        return self.peak_price if peak else self.off_peak_price


class PricePoint(NamedTuple):
    """A price of the series, valid from ``t`` until the next point."""

    t: datetime
    price: float


class PriceError(ValueError):
    """A price file or list that cannot be read; ``line`` is 1-based (0: not line-bound)."""

    def __init__(self, msg: str, line: int = 0) -> None:
        """Say why and where."""
        super().__init__(msg)
        self.line = line


def _number(text: str) -> float:
    return float(text.strip().replace(",", "."))


def parse_price_csv(text: str, *, limit: int = 200_000) -> list[PricePoint]:
    """Price points from CSV: ``start,price`` per line (RFC 3339 times with an offset).

    A header line is skipped; ``;`` separated files with decimal commas (as spreadsheets in
    many European locales write them) are read too. Prices are per kWh.

    Raises:
        PriceError: with the line number of the first line that is not a price.
    """
    sample = text[:4096]
    delimiter = ";" if sample.count(";") > sample.count(",") / 2 and ";" in sample else ","
    points: list[PricePoint] = []
    for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) < 2:
            msg = f"line {number}: expected 'start{delimiter}price', got {delimiter.join(row)!r}"
            raise PriceError(msg, number)
        try:
            when = datetime.fromisoformat(row[0].strip())
        except ValueError:
            if number == 1:
                continue  # a header
            msg = f"line {number}: {row[0].strip()!r} is not an RFC 3339 time"
            raise PriceError(msg, number) from None
        if when.tzinfo is None:
            msg = f"line {number}: {row[0].strip()!r} has no UTC offset"
            raise PriceError(msg, number)
        try:
            price = _number(row[1])
        except ValueError:
            msg = f"line {number}: {row[1].strip()!r} is not a number"
            raise PriceError(msg, number) from None
        if not -100 <= price <= 100:
            msg = f"line {number}: price {price} per kWh is out of range (-100 to 100)"
            raise PriceError(msg, number)
        points.append(PricePoint(when.astimezone(UTC), price))
        if len(points) > limit:
            msg = f"more than {limit} prices in one upload"
            raise PriceError(msg)
    if not points:
        msg = "no price in the file: expected lines 'start,price'"
        raise PriceError(msg)
    return sorted_points(points)


def sorted_points(points: Iterable[PricePoint]) -> list[PricePoint]:
    """Points by time; of two with the same time the later given wins."""
    by_time = {p.t: p for p in points}
    return [by_time[t] for t in sorted(by_time)]


@dataclass(frozen=True, slots=True)
class PriceSeries:
    """Looks up the time-weighted price of a series over spans (seconds since the epoch)."""

    times: tuple[float, ...]
    prices: tuple[float, ...]
    last_end: float

    @classmethod
    def of(cls, points: Sequence[PricePoint]) -> PriceSeries:
        """The series of ``points`` (sorted by time)."""
        times = tuple(p.t.timestamp() for p in points)
        steps = [b - a for a, b in itertools.pairwise(times)]
        step = statistics.median(steps) if steps else 3600.0
        return cls(times, tuple(p.price for p in points), times[-1] + step if times else 0.0)

    def mean(self, t0: float, t1: float) -> float | None:
        """The mean price over ``[t0, t1)``; None unless prices cover all of it."""
        if not self.times or t0 < self.times[0] or t1 > self.last_end:
            return None
        i = bisect.bisect_right(self.times, t0) - 1
        total = 0.0
        t = t0
        while t < t1:
            nxt = self.times[i + 1] if i + 1 < len(self.times) else self.last_end
            upto = min(nxt, t1)
            total += self.prices[i] * (upto - t)
            t = upto
            i += 1
        return total / (t1 - t0)


def monthly_fee_share(fee: float, start: datetime, end: datetime, zone: ZoneInfo) -> float:
    """The part of a monthly fee that falls on ``[start, end)``: each local month's fee spread
    evenly over its time (a whole month gets the whole fee, a day of November a thirtieth)."""
    if fee == 0 or end <= start:
        return 0.0
    share = 0.0
    local = start.astimezone(zone)
    month = datetime(local.year, local.month, 1, tzinfo=zone)
    while month.astimezone(UTC) < end:
        nxt = (month.replace(tzinfo=None) + timedelta(days=32)).replace(day=1).replace(tzinfo=zone)
        m0, m1 = month.astimezone(UTC), nxt.astimezone(UTC)
        overlap = (min(m1, end) - max(m0, start)).total_seconds()
        if overlap > 0:
            share += fee * overlap / (m1 - m0).total_seconds()
        month = nxt
    return share
