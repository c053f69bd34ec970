"""The app in headless Chromium against the running platform (APP-1..APP-5)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from omdp.webapp.devserver import TIMEZONE
from tests.e2e.conftest import DESKTOP, OWNER_TOKEN, PHONE, OpenPage, login_with_token, shot
from tests.e2e.stack import OPERATOR_TOKEN, THRESHOLD_KW, Stack

pytestmark = pytest.mark.e2e


def _value(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).locator(".v").inner_text()


def _drawn(page: Page) -> int:
    return int(page.evaluate("() => Number(document.querySelector('#view').dataset.drawn ?? 0)"))


def _history_drawn(page: Page, before: int = 0) -> None:
    """Wait until the history view has drawn more charts than ``before`` (the page's CSP
    forbids eval, so no wait_for_function)."""
    for _ in range(150):
        if _drawn(page) > before:
            return
        page.wait_for_timeout(100)
    pytest.fail("the history chart was not drawn")


def test_app1_app5_owner_logs_in_and_sees_live_power_change(open_page: OpenPage) -> None:
    """APP-5: an owner logs in with a token and sees only their household, no operator views;
    APP-1: live import power and today's energy show and change as readings arrive (SSE);
    today's energy counts the whole local day, not only what the edge saw since it started."""
    page = open_page(token=None)
    shot(page, "login-desktop")
    login_with_token(page, OWNER_TOKEN)
    expect(page.get_by_role("link", name="Live")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Registry")).to_have_count(0)
    expect(page.locator("#household option")).to_have_count(1)
    power = page.locator("[data-testid=live-import] .v, [data-testid=live-export] .v")
    expect(power.first).not_to_have_text("–", timeout=10000)
    seen = power.all_inner_texts()
    for _ in range(100):  # import or export (by day the sun may cover the load) moves
        page.wait_for_timeout(100)
        if power.all_inner_texts() != seen:
            break
    else:
        pytest.fail(f"the live power stayed at {seen}")
    expect(page.get_by_test_id("today-import").locator(".v")).not_to_have_text("–")
    if datetime.now(ZoneInfo(TIMEZONE)).hour >= 3:
        # the edge started seconds ago; the day so far is in the cloud's store (seeded), and
        # the household's base load alone uses more than this by 3 a.m.
        expect(page.get_by_test_id("today-import").locator(".v")).not_to_have_text(
            re.compile(r"^0\.[0-2]\d$"), timeout=10000
        )
    expect(page.locator("#status-dot")).to_have_class(re.compile(r"\bon\b"))
    page.wait_for_timeout(2500)  # a few points on the live line
    shot(page, "live-desktop")


def test_app2_a_month_of_history_with_gaps_zoom_and_comparison(open_page: OpenPage) -> None:
    """APP-2: a month of daily consumption and injection as bars; power as a line with a gap
    where data is missing; this week against last week as two series."""
    page = open_page()
    page.get_by_role("link", name="History").click()
    _history_drawn(page)
    expect(page.get_by_test_id("history-chart").locator("canvas")).to_have_count(1)
    legend = page.get_by_test_id("history-chart").locator(".u-legend .u-series")
    expect(legend).to_have_count(3)  # time, consumption, injection
    used = float(_value(page, "history-used"))
    assert 150 < used < 800, used  # a month of a household
    shot(page, "history-month-desktop")

    before = _drawn(page)
    page.evaluate("() => { location.hash = '#/history?kind=power&interval=15min&span=year'; }")
    _history_drawn(page, before)
    view = page.locator("#view")
    expect(view).to_have_attribute("data-gaps", re.compile(r"^[1-9]"))  # the seeded 2-day gap
    assert int(view.get_attribute("data-points") or 0) > 34_000  # a year of quarter-hours
    shot(page, "history-year-power-desktop")

    page.get_by_role("group", name="Time span").get_by_role("button", name="Week").click()
    page.get_by_role("group", name="Bucket").get_by_role("button", name="Hour").click()
    page.get_by_test_id("compare").check()
    expect(legend).to_have_count(3)  # time, this week, previous week
    expect(legend.nth(2)).to_contain_text("previous week")
    shot(page, "history-compare-desktop")


def test_app3_tariff_and_costs(open_page: OpenPage) -> None:
    """APP-3: a time-of-use tariff with a fee and a feed-in price, kept per household, gives
    costs per day and month and this month's projection."""
    page = open_page()
    page.get_by_role("link", name="Costs").click()
    expect(page.get_by_text("Set your tariff")).to_be_visible()
    page.get_by_role("button", name="Peak / off-peak").click()
    page.get_by_label("Peak price per kWh", exact=True).fill("0.40")
    page.get_by_label("Off-peak price per kWh").fill("0.25")
    page.get_by_label("Fixed fee per month").fill("15")
    page.get_by_label("Feed-in price per kWh").fill("0.05")
    page.get_by_test_id("save-tariff").click()
    so_far = page.get_by_test_id("cost-so-far").locator(".v")
    expect(so_far).to_contain_text("€")
    projected = page.get_by_test_id("cost-projected").locator(".v").inner_text()
    assert re.search(r"\d", projected)
    expect(page.get_by_test_id("cost-months").locator("canvas")).to_have_count(1)
    shot(page, "costs-desktop")
    page.reload()
    expect(page.get_by_test_id("cost-so-far").locator(".v")).to_have_text(so_far.inner_text())
    expect(page.get_by_label("Peak price per kWh", exact=True)).to_have_value("0.4")


def test_app4_threshold_raises_an_alert_with_a_toast(open_page: OpenPage, platform: Stack) -> None:
    """APP-4: import power above the edge's threshold raises an alert: a toast in the page,
    a badge, the Alerts view lists it active and shows the configured rule; back below, it is
    resolved."""
    assert platform.meter is not None
    page = open_page()
    expect(page.locator("#status-dot")).to_have_class(re.compile(r"\bon\b"))
    platform.meter.override_kw = THRESHOLD_KW + 2.5
    try:
        toast = page.get_by_test_id("toast").filter(has_text="Alert")
        expect(toast).to_contain_text(f"Using more than {THRESHOLD_KW:g} kW", timeout=10000)
        expect(page.get_by_test_id("alert-badge")).to_have_text("1")
        expect(page.get_by_test_id("live-import").locator(".v")).to_have_text("7.50")
        shot(page, "alert-toast-desktop")
        page.get_by_role("link", name="Alerts").click()
        expect(page.get_by_test_id("alerts-active")).to_contain_text("high-power")
        rules = page.get_by_test_id("alert-rules")  # the edge's configured rule, in words
        expect(rules).to_contain_text(f"Using more than {THRESHOLD_KW:g} kW")
        expect(rules).to_contain_text(f"OBIS_1.7.0 above {THRESHOLD_KW:g}")
        shot(page, "alerts-desktop")
    finally:
        platform.meter.override_kw = None
    expect(page.get_by_test_id("toast").filter(has_text="Resolved")).to_be_visible(timeout=10000)
    expect(page.get_by_test_id("alerts-active")).to_contain_text("no alert is active")


def test_app5_operator_registry_and_adapter_file(open_page: OpenPage) -> None:
    """APP-5: an operator sees the registry and creates a meter's adapter file (download)."""
    page = open_page(token=OPERATOR_TOKEN)
    page.get_by_role("link", name="Registry").click()
    expect(page.get_by_text("Households (2)")).to_be_visible()
    page.get_by_label("Meter name").fill("Heat pump meter")
    page.get_by_role("button", name="Create meter and adapter file").click()
    link = page.get_by_test_id("adapter-download")
    expect(link).to_be_visible()
    with page.expect_download() as info:
        link.click()
    text = Path(info.value.path()).read_text(encoding="utf-8")
    assert "MeterIndividualId" in text
    assert "CloudAuth" in text
    shot(page, "registry-desktop")
    page.get_by_role("link", name="Meters").click()
    expect(page.get_by_test_id("meters").locator("[data-meter]").first).to_be_visible()


@pytest.mark.parametrize("view", ["live", "history", "costs", "alerts", "meters"])
def test_phone_layout(open_page: OpenPage, view: str) -> None:
    """The views at a phone's width: nothing wider than the screen."""
    page = open_page(viewport=PHONE)
    page.evaluate(f"location.hash = '#/{view}'")
    if view == "history":
        _history_drawn(page)
    else:
        page.wait_for_timeout(800)
    width = page.evaluate("document.documentElement.scrollWidth")
    shot(page, f"{view}-phone")
    assert width <= PHONE["width"], f"{view} is {width} px wide on a phone"


def test_desktop_meters(open_page: OpenPage) -> None:
    """The household's meters with their last reading and health."""
    page = open_page(viewport=DESKTOP)
    page.get_by_role("link", name="Meters").click()
    card = page.locator("[data-meter=meter-main]")
    expect(card).to_contain_text("Main meter")
    expect(card.locator(".pill")).to_have_text(re.compile("healthy|alert"))
    shot(page, "meters-desktop")
