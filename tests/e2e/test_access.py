"""Locale and time zone, the phone layout, text alternatives and contrast (APP-2, WCAG 2.1 AA).

Findings: "21,10 EUR" beside chart labels "2:46am 12/6/26" and "0.28 kW" (8); on a phone the
header took three rows and the Registry tab was off-screen (11); charts had no text
alternative and input borders had 1.37:1 contrast (12).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, OpenPage, drawn, goto, history_drawn, put_household, shot
from tests.e2e.stack import OPERATOR_TOKEN, Stack

pytestmark = pytest.mark.e2e

ENGLISH_TIME = re.compile(r"\d{1,2}:\d\d\s?(am|pm)|\b\d{1,2}/\d{1,2}/\d{2,4}\b", re.IGNORECASE)
DOT_DECIMAL = re.compile(r"(?<![\d.])\d+\.\d{2}(?![\d.])")  # 0.28, not a date

CONTRAST = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")


def _hover_legend_time(page: Page) -> str:
    over = page.get_by_test_id("history-chart").locator(".u-over")
    box = over.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.4, box["y"] + box["height"] / 2)
    return page.get_by_test_id("history-chart").locator(".u-legend .u-series").first.inner_text()


def test_app2_one_locale_and_the_households_time_zone_everywhere(
    open_page: OpenPage, platform: Stack
) -> None:
    """APP-2 (finding 8): a German browser in New York looking at a Brussels household sees
    German numbers and dates everywhere (chart legends, tables, costs) in Brussels time."""
    put_household(platform, "tariff", json={"kind": "flat", "flatPrice": 0.3, "monthlyFee": 10})
    page = open_page(locale="de-DE", timezone_id="America/New_York")
    goto(page, "#/history?kind=power&span=week")
    legend = _hover_legend_time(page)
    assert not ENGLISH_TIME.search(legend), legend
    assert re.search(r"\d\d\.\d\d\.\d{4}, \d\d:\d\d", legend), legend
    values = page.get_by_test_id("history-chart").locator(".u-legend").inner_text()
    assert not DOT_DECIMAL.search(values), values
    day = (datetime.now() - timedelta(days=3)).date()
    goto(page, f"#/history?kind=energy&span=day&to={day}&interval=hour")
    page.get_by_test_id("history-chart-table-toggle").click()
    table = page.get_by_test_id("history-chart-table")
    first = table.locator("tbody tr").first.locator("th").inner_text()
    assert first == f"{day:%d.%m.%Y}, 00:00", first  # Brussels midnight, not New York's
    text = page.locator("#view").inner_text()
    assert not ENGLISH_TIME.search(text)
    assert not DOT_DECIMAL.search(text)
    shot(page, "history-table-de")
    page.get_by_role("link", name="Costs").click()
    expect(page.get_by_test_id("cost-so-far").locator(".v")).to_contain_text(
        re.compile(r"\d,\d\d\s€")
    )
    assert not ENGLISH_TIME.search(page.locator("#view").inner_text())


def test_app2_phone_one_header_row_and_every_view_reachable(open_page: OpenPage) -> None:
    """APP-2 (finding 11): at 390 px the header is one row; the menu reaches every view,
    Registry included (operator), and no view is wider than the screen."""
    page = open_page(viewport=PHONE, token=OPERATOR_TOKEN)
    header = page.locator(".topbar")
    assert header.bounding_box()["height"] <= 60  # type: ignore[index]
    menu = page.get_by_test_id("menu")
    titles = ["Live", "History", "Water", "Gas", "Heat", "Costs", "Alerts", "Meters", "Registry"]
    for title in titles:
        menu.click()
        link = page.locator("#nav").get_by_role("link", name=title, exact=True)
        expect(link).to_be_visible()
        box = link.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        link.click()
        expect(menu).to_contain_text(title)
        if title == "History":
            history_drawn(page, drawn(page) - 1)
        page.wait_for_timeout(300)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], title
        assert header.bounding_box()["height"] <= 60  # type: ignore[index]
        shot(page, f"{title.lower()}-phone")
    menu.click()
    shot(page, "menu-phone")


def test_app2_every_chart_has_a_table_and_a_csv_of_what_it_shows(open_page: OpenPage) -> None:
    """APP-2 (finding 12): the chart has an accessible name; "Table" shows its data as a
    table, "CSV" downloads the same rows."""
    page = open_page()
    goto(page, "#/history")
    chart = page.get_by_test_id("history-chart")
    expect(chart).to_have_attribute("role", "img")
    expect(chart).to_have_attribute("aria-label", re.compile(r"kWh from the grid"))
    buckets = int(page.locator("#view").get_attribute("data-buckets") or 0)
    page.get_by_test_id("history-chart-table-toggle").click()
    rows = page.get_by_test_id("history-chart-table").locator("tbody tr")
    expect(rows).to_have_count(buckets)
    with page.expect_download() as info:
        page.get_by_test_id("history-chart-csv").click()
    lines = Path(info.value.path()).read_text(encoding="utf-8").strip().splitlines()
    assert len(lines) == buckets + 1
    assert lines[0].startswith("Day,From the grid (kWh)")
    shot(page, "history-table-desktop")


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_app2_wcag_aa_contrast_of_text_and_field_borders(open_page: OpenPage, scheme: str) -> None:
    """WCAG 2.1 AA (finding 12): every visible text has 4.5:1 against its background (3:1
    when large) and every field and button border 3:1 (1.4.11), light and dark."""
    page = open_page(color_scheme=scheme)
    bad: list[str] = []
    for view in ("#/live", "#/history", "#/costs", "#/meters", "#/alerts"):
        goto(page, view)
        page.wait_for_timeout(800)
        bad += [f"{view}: {b}" for b in page.evaluate(CONTRAST)]
    shot(page, f"alerts-{scheme}")
    assert not bad, bad
