"""Tariffs, price series and the monthly fee's share (APP-3), without a store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omdp.cloud.tariffs import (
    PriceError,
    PricePoint,
    PriceSeries,
    Tariff,
    monthly_fee_share,
    parse_price_csv,
)

BERLIN = ZoneInfo("Europe/Berlin")


def test_app3_time_of_use_peak_hours_weekends_and_a_peak_over_midnight() -> None:
    """APP-3: peak in [peakStart, peakEnd) local hours on weekdays; a peak may wrap midnight."""
    t = Tariff(kind="tou", peak_price=0.4, off_peak_price=0.2, peak_start=7, peak_end=22)
    monday = datetime(2026, 11, 2, tzinfo=BERLIN)
    assert t.price_at(monday.replace(hour=6)) == 0.2
    assert t.price_at(monday.replace(hour=7)) == 0.4
    assert t.price_at(monday.replace(hour=22)) == 0.2
    assert t.price_at((monday - timedelta(days=1)).replace(hour=12)) == 0.2  # Sunday
    night = Tariff(kind="tou", peak_price=0.1, off_peak_price=0.3, peak_start=22, peak_end=6)
    assert night.price_at(monday.replace(hour=23)) == 0.1
    assert night.price_at(monday.replace(hour=5)) == 0.1
    assert night.price_at(monday.replace(hour=12)) == 0.3
    with pytest.raises(ValueError, match="must differ"):
        Tariff(kind="tou", peak_start=0, peak_end=24)


def test_app3_price_csv_comma_and_semicolon_files_and_precise_errors() -> None:
    """APP-3: start,price lines with or without a header, ';' and decimal commas; a bad line
    is named by its number; times need an offset."""
    points = parse_price_csv(
        "start,price\n2026-11-01T01:00:00+01:00,0.2\n2026-11-01T00:00:00+01:00,0.1\n"
    )
    assert [p.price for p in points] == [0.1, 0.2]  # sorted by time
    assert points[0].t == datetime(2026, 10, 31, 23, tzinfo=UTC)
    german = parse_price_csv("Beginn;Preis\n2026-11-01T00:00:00+01:00;0,215\n")
    assert german[0].price == 0.215
    with pytest.raises(PriceError, match="line 3: 'x' is not a number") as info:
        parse_price_csv("2026-11-01T00:00:00+01:00,0.1\n\n2026-11-01T01:00:00+01:00,x\n")
    assert info.value.line == 3
    with pytest.raises(PriceError, match="no UTC offset"):
        parse_price_csv("2026-11-01T00:00:00,0.1\n")
    with pytest.raises(PriceError, match="no price"):
        parse_price_csv("start,price\n")


def test_app3_price_series_time_weighted_mean_and_coverage() -> None:
    """APP-3: the mean price over a span weighs each price by its time; a span the series
    does not cover (before it, or after its last price's usual step) has no price."""
    t0 = datetime(2026, 11, 1, tzinfo=UTC)
    series = PriceSeries.of([PricePoint(t0 + timedelta(minutes=15 * i), 0.1 * i) for i in range(4)])
    base = t0.timestamp()
    assert series.mean(base, base + 3600) == pytest.approx((0 + 0.1 + 0.2 + 0.3) / 4)
    assert series.mean(base + 600, base + 1200) == pytest.approx((0.0 * 300 + 0.1 * 300) / 600)
    assert series.mean(base - 1, base + 10) is None
    assert series.mean(base + 3000, base + 3601) is None


def test_app3_monthly_fee_spread_over_the_month_in_local_time() -> None:
    """APP-3: a whole local month gets the whole fee, a day of November a thirtieth, a
    span across two months its share of each."""
    nov = datetime(2026, 11, 1, tzinfo=BERLIN)
    dec = datetime(2026, 12, 1, tzinfo=BERLIN)
    assert monthly_fee_share(30, nov, dec, BERLIN) == pytest.approx(30)
    assert monthly_fee_share(30, nov, nov + timedelta(days=1), BERLIN) == pytest.approx(1)
    across = monthly_fee_share(31, dec - timedelta(days=1), dec + timedelta(days=1), BERLIN)
    assert across == pytest.approx(31 / 30 + 1)
