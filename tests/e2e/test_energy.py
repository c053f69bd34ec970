"""Energy, time and speed in the app, checked against the store's own sums (APP-1, APP-2).

Findings of the issue each test proves fixed: a gap's energy is no longer lumped into the bar
after it (6); picked dates are shown exactly, and weeks across a DST change have 7 days (7);
water, gas and heat have views in their units (13); PV production, self-consumption and
autarky (the new energy-flow picture); a year of power is decimated with its peaks, and full
resolution comes back on zoom (15).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from omdp.cloud.model import AggregateFunction, Interval, ReadingFilter
from omdp.cloud.storage import ReadingStore
from omdp.testing.household import TIMEZONE
from tests.e2e.conftest import OpenPage, drawn, goto, history_drawn, shot

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo(TIMEZONE)
USE = {AggregateFunction.CONSUMPTION}


def consumption(
    store: ReadingStore, meter: str, prop: str, start: datetime, end: datetime
) -> float:
    """The store's own sum: the register's consumption in [start, end) by its rollups."""
    rows = store.aggregates(
        property_id=prop, interval=Interval.DAY, start=start, end=end, meter_ids=[meter],
        functions=USE, timezone=TIMEZONE,
    )  # fmt: skip
    return sum(r.consumption or 0 for r in rows)


def local_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ZONE)


def chart_csv(page: Page, testid: str = "history-chart") -> list[dict[str, str]]:
    """What the chart shows, as its CSV download."""
    with page.expect_download() as info:
        page.get_by_test_id(f"{testid}-csv").click()
    return list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8"))))


def number(text: str) -> float:
    return float(re.sub(r"[^\d.\-]", "", text.replace(",", "")))


def test_app2_gap_energy_is_spread_and_marked_not_lumped(
    open_page: OpenPage, store: ReadingStore
) -> None:
    """APP-2 (finding 6): across the seeded two-day gap of the grid meter, the day after the
    gap holds about a normal day, not the gap's energy too; the gap's energy is hatched as
    estimated and equals the register's advance over the gap in the store."""
    times = [
        r.reading_time
        for r in store.query_readings(
            ReadingFilter(meter_ids=("meter-main",), properties=("OBIS_1.8.0",))
        )
    ]
    last_before, first_after = max(itertools.pairwise(times), key=lambda p: p[1] - p[0])
    assert first_after - last_before > timedelta(days=1)
    before = next(
        store.query_readings(
            ReadingFilter(
                meter_ids=("meter-main",), start=last_before, end=last_before + timedelta(seconds=1)
            )
        )
    )
    after = next(
        store.query_readings(
            ReadingFilter(
                meter_ids=("meter-main",), start=first_after, end=first_after + timedelta(seconds=1)
            )
        )
    )
    value = lambda r: next(v.numerical_value for v in r.values if v.property_id == "OBIS_1.8.0")  # noqa: E731
    advance = value(after) - value(before)
    first = last_before.astimezone(ZONE).date() - timedelta(days=2)
    last = first_after.astimezone(ZONE).date() + timedelta(days=2)
    page = open_page()
    goto(page, f"#/history?kind=energy&span=custom&from={first}&to={last}&interval=day")
    rows = chart_csv(page)
    grid = [float(r["From the grid (kWh)"] or 0) for r in rows]
    estimated = [float(r["Estimated over gaps (kWh)"] or 0) for r in rows]
    normal = sorted(g - e for g, e in zip(grid, estimated, strict=True))[len(grid) // 2]
    assert sum(estimated) == pytest.approx(advance, abs=1e-3)
    assert max(g - e for g, e in zip(grid, estimated, strict=True)) < 2 * normal + 1  # no lump
    expect(
        page.get_by_test_id("history-chart").locator("..").locator(".chart-note")
    ).to_contain_text("spread over the gap")
    shot(page, "history-gap-desktop")


def test_app2_dates_exactly_as_picked_and_dst_weeks_have_7_days(open_page: OpenPage) -> None:
    """APP-2 (finding 7): picking the 1st to the 10th shows those 10 days, not the month;
    paging a week back and forth across the autumn DST change always shows 7 days; the DST
    day itself has 25 hours."""
    page = open_page()
    goto(page, "#/history")
    first = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    page.get_by_test_id("span-from").fill(first.isoformat())
    before = drawn(page)
    page.get_by_test_id("span-to").fill((first + timedelta(days=9)).isoformat())
    history_drawn(page, before)
    view = page.locator("#view")
    expect(view).to_have_attribute("data-from", first.isoformat())
    expect(view).to_have_attribute("data-to", (first + timedelta(days=9)).isoformat())
    expect(view).to_have_attribute("data-buckets", "10")
    assert len(chart_csv(page)) == 10
    dst = _last_autumn_change()
    goto(page, f"#/history?kind=energy&span=week&to={dst + timedelta(days=3)}&interval=day")
    for step in ("span-earlier", "span-later", "span-later"):
        expect(view).to_have_attribute("data-buckets", "7")
        before = drawn(page)
        page.get_by_test_id(step).click()
        history_drawn(page, before)
    expect(view).to_have_attribute("data-buckets", "7")
    goto(page, f"#/history?kind=energy&span=day&to={dst}&interval=hour")
    expect(view).to_have_attribute("data-buckets", "25")
    shot(page, "history-dst-day-desktop")


def _last_autumn_change() -> date:
    """The last day in the seeded year on which the household's clocks went back."""
    day = date.today() - timedelta(days=2)
    while True:
        a = local_midnight(day).utcoffset()
        b = local_midnight(day + timedelta(days=1)).utcoffset()
        if a is not None and b is not None and b < a:
            return day
        day -= timedelta(days=1)


@pytest.mark.parametrize(
    ("kind", "prop", "unit"),
    [
        ("water", "WATER_volume_of_water", "m³"),
        ("gas", "GAS_volume", "m³"),
        ("heat", "HEAT_energy", "kWh"),
    ],
)
def test_app2_water_gas_heat_have_their_own_views_in_their_units(
    open_page: OpenPage, store: ReadingStore, kind: str, prop: str, unit: str
) -> None:
    """APP-2 (finding 13): water, gas and heat each have a view: consumption per day in m³ or
    kWh, its total equal to the store's consumption of the register, never a raw average."""
    page = open_page()
    page.get_by_role("link", name=kind.capitalize()).click()
    total = page.get_by_test_id("utility-total")
    expect(total).to_contain_text(unit)
    today = date.today()
    start = local_midnight(today.replace(day=1))
    end = local_midnight(today + timedelta(days=1))
    meter = {"water": "meter-water", "gas": "meter-gas", "heat": "meter-heat"}[kind]
    expected = consumption(store, meter, prop, start, end)
    rows = chart_csv(page, "utility-chart")
    assert sum(
        float(r[next(k for k in r if k.startswith(kind.capitalize()))] or 0) for r in rows
    ) == pytest.approx(expected, abs=1e-6)
    assert "Average" not in page.locator("#view").inner_text()
    shot(page, f"{kind}-desktop")


def test_app1_app2_pv_production_self_consumption_autarky_and_flow(
    open_page: OpenPage, store: ReadingStore
) -> None:
    """APP-1/APP-2: for the last full month, production, self-consumption and autarky as the
    store's registers give them (grid import and export, PV production, battery); the span's
    energy flow; live: solar and the house in the flow picture."""
    first = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    last = date.today().replace(day=1) - timedelta(days=1)
    start, end = local_midnight(first), local_midnight(last + timedelta(days=1))
    imp = consumption(store, "meter-main", "OBIS_1.8.0", start, end)
    exp = consumption(store, "meter-main", "OBIS_2.8.0", start, end)
    pv = consumption(store, "meter-pv", "OBIS_2.8.0", start, end)
    charge = consumption(store, "meter-battery", "OBIS_1.8.0", start, end)
    discharge = consumption(store, "meter-battery", "OBIS_2.8.0", start, end)
    used = imp + pv - exp - charge + discharge
    page = open_page()
    goto(page, f"#/history?kind=energy&span=month&to={last}&interval=day")
    assert number(
        page.get_by_test_id("history-production").locator(".v").inner_text()
    ) == pytest.approx(pv, abs=0.6)
    assert number(
        page.get_by_test_id("history-consumption").locator(".v").inner_text()
    ) == pytest.approx(used, abs=0.6)
    autarky = number(page.get_by_test_id("history-autarky").locator(".v").inner_text())
    assert autarky == pytest.approx(100 * (used - imp) / used, abs=0.6)
    own = number(page.get_by_test_id("history-self").locator(".v").inner_text())
    assert own == pytest.approx(100 * (pv - exp) / pv, abs=0.6)
    flow = page.locator("svg[data-testid=flow]")
    expect(flow).to_contain_text("Solar")
    expect(flow).to_contain_text("Battery")
    shot(page, "history-pv-desktop")
    page.get_by_role("link", name="Live").click()
    live = page.locator("svg[data-testid=flow]")
    expect(live).to_contain_text("Solar")
    expect(page.get_by_test_id("live-pv").locator(".v")).not_to_have_text("–", timeout=10000)
    expect(page.get_by_test_id("live-house").locator(".v")).not_to_have_text("–")
    shot(page, "live-flow-desktop")


def test_app2_a_year_of_power_is_decimated_with_its_peaks_and_zoom_is_full_resolution(
    open_page: OpenPage, store: ReadingStore
) -> None:
    """APP-2 (finding 15): a year of 15-minute power comes as min/max per pixel (at most two
    points per pixel; the year's peak survives, equal to the store's maximum); dragging across
    a few hours gives every reading there (resolution raw)."""
    page = open_page()
    goto(page, "#/history?kind=power&span=year")
    view = page.locator("#view")
    expect(view).to_have_attribute("data-resolution", "minmax")
    box = page.get_by_test_id("history-chart").locator(".u-over")
    width = box.bounding_box()["width"]  # type: ignore[index]
    assert int(view.get_attribute("data-points") or 0) <= 2 * width
    to = date.today()
    month = to.year * 12 + to.month - 1 - 11  # the span "year": the 12 months up to this one
    first = date(month // 12, month % 12 + 1, 1)
    rows = store.aggregates(
        property_id="OBIS_1.7.0", interval=Interval.MONTH, start=local_midnight(first),
        end=local_midnight(to + timedelta(days=1)), meter_ids=["meter-main"],
        functions={AggregateFunction.MAX}, timezone=TIMEZONE,
    )  # fmt: skip
    peak = max(r.max or 0 for r in rows)
    assert number(page.get_by_test_id("history-peak").locator(".v").inner_text()) == pytest.approx(
        peak, abs=0.006
    )
    bb = box.bounding_box()
    assert bb is not None
    before = drawn(page)
    page.mouse.move(bb["x"] + bb["width"] * 0.5, bb["y"] + bb["height"] / 2)
    page.mouse.down()
    page.mouse.move(bb["x"] + bb["width"] * 0.5 + 8, bb["y"] + bb["height"] / 2, steps=4)
    page.mouse.up()
    history_drawn(page, before)
    expect(view).to_have_attribute("data-resolution", "raw")
    expect(page.get_by_test_id("zoom-out")).to_be_visible()
    shot(page, "history-zoomed-desktop")
