"""The app in headless Chromium against the running platform (APP-1..APP-5)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from omdp.testing.household import TIMEZONE
from tests.e2e.conftest import DESKTOP, OWNER_TOKEN, OpenPage, goto, login_with_token, shot
from tests.e2e.stack import OPERATOR_TOKEN, THRESHOLD_KW, Stack

pytestmark = pytest.mark.e2e

NOTIFICATIONS = """
window.__notes = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notes.push({ title, body: options?.body ?? "" }); }
};
"""


def _value(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).locator(".v").inner_text()


def test_app1_app5_owner_logs_in_and_sees_live_power_change(
    open_page: OpenPage, platform: Stack
) -> None:
    """APP-5: an owner logs in with a token and sees only their household, no operator views;
    APP-1: live grid power and today's energy show and change as readings arrive (the stream,
    read with fetch and the bearer token); today's energy counts the whole local day.

    The main meter's import is forced to a new power below the alert threshold: the simulated
    household's grid flows stay flat for minutes when its battery takes the whole PV surplus
    (a winter noon), so waiting for the model to change them proved nothing at such hours."""
    page = open_page(token=None)
    shot(page, "login-desktop")
    login_with_token(page, OWNER_TOKEN)
    expect(page.get_by_role("link", name="Live")).to_have_attribute("aria-current", "page")
    expect(page.get_by_role("link", name="Registry")).to_have_count(0)
    expect(page.locator("#household option")).to_have_count(1)
    power = page.locator("[data-testid=live-import] .v, [data-testid=live-export] .v")
    expect(power.first).not_to_have_text("–", timeout=10000)
    seen = power.all_inner_texts()
    platform.meter.override_kw = THRESHOLD_KW / 2 + 0.123
    try:
        for _ in range(100):
            page.wait_for_timeout(100)
            if power.all_inner_texts() != seen:
                break
        else:
            pytest.fail(f"the live power stayed at {seen}")
    finally:
        platform.meter.override_kw = None
    expect(page.get_by_test_id("today-import").locator(".v")).not_to_have_text("–")
    if datetime.now(ZoneInfo(TIMEZONE)).hour >= 3:
        expect(page.get_by_test_id("today-import").locator(".v")).not_to_have_text(
            re.compile(r"^0\.[0-2]\d$"), timeout=10000
        )
    expect(page.locator("#status-dot")).to_have_class(re.compile(r"\bon\b"))
    page.wait_for_timeout(2500)  # a few points on the live line
    shot(page, "live-desktop")


def test_app2_a_month_of_history_with_gaps_zoom_and_comparison(open_page: OpenPage) -> None:
    """APP-2: a month of daily energy as bars; a year of power as decimated lines with a gap
    where data is missing; this week against last week."""
    page = open_page()
    goto(page, "#/history")
    expect(page.get_by_test_id("history-chart").locator("canvas")).to_have_count(1)
    legend = page.get_by_test_id("history-chart").locator(".u-legend")
    expect(legend).to_contain_text("From the grid")
    expect(legend).to_contain_text("Fed in")
    shot(page, "history-month-desktop")

    goto(page, "#/history?kind=power&span=year")
    view = page.locator("#view")
    expect(view).to_have_attribute("data-gaps", re.compile(r"^[1-9]"))  # the seeded 2-day gap
    expect(view).to_have_attribute("data-resolution", "minmax")
    shot(page, "history-year-power-desktop")

    goto(page, "#/history?kind=energy&span=week&interval=hour&compare=1")
    expect(legend).to_contain_text("previous week")
    shot(page, "history-compare-desktop")


def test_app3_tariff_kept_on_the_server_for_every_device(open_page: OpenPage) -> None:
    """APP-3 (finding 14): a tariff saved on one device is the household's: a second browser
    (another device, its own storage) shows the same tariff and the same costs."""
    page = open_page()
    page.get_by_role("link", name="Costs").click()
    page.get_by_role("button", name="Peak / off-peak").click()
    page.get_by_label("Peak price per kWh", exact=True).fill("0.40")
    page.get_by_label("Off-peak price per kWh").fill("0.25")
    page.get_by_label("Fixed fee per month").fill("15")
    page.get_by_label("Feed-in price per kWh").fill("0.05")
    page.get_by_test_id("save-tariff").click()
    expect(page.get_by_test_id("tariff-saved")).to_contain_text("every device")
    so_far = page.get_by_test_id("cost-so-far").locator(".v")
    expect(so_far).to_contain_text("€")
    expect(page.get_by_test_id("cost-months").locator("canvas")).to_have_count(1)
    shot(page, "costs-desktop")
    phone = open_page()  # a new context: no shared storage
    phone.get_by_role("link", name="Costs").click()
    expect(phone.get_by_label("Peak price per kWh", exact=True)).to_have_value("0.4")
    expect(phone.get_by_test_id("cost-so-far").locator(".v")).to_have_text(so_far.inner_text())


def test_app4_alerts_name_meters_stay_until_dismissed_and_notify(
    open_page: OpenPage, platform: Stack
) -> None:
    """APP-4 (finding 10): an alert names its meter, not its id; its toast stays (15 s and
    more, and after it resolves) until dismissed; a browser notification is shown while the
    app is open; the Alerts view lists it active with the configured rule."""
    assert platform.meter is not None
    page = open_page(
        permissions=["notifications"], before=lambda p: p.add_init_script(NOTIFICATIONS)
    )
    expect(page.locator("#status-dot")).to_have_class(re.compile(r"\bon\b"))
    platform.meter.override_kw = THRESHOLD_KW + 2.5
    try:
        toast = page.get_by_test_id("toast").filter(has_text="Alert")
        expect(toast).to_contain_text(f"Using more than {THRESHOLD_KW:g} kW", timeout=10000)
        expect(toast).to_contain_text("Main meter")
        expect(toast).not_to_contain_text("meter-main")
        expect(page.get_by_test_id("alert-badge")).to_have_text("1")
        notes = page.evaluate("() => window.__notes")
        assert notes
        assert notes[0]["title"].startswith("Alert: Using more than")
        assert "Main meter" in notes[0]["body"]
        page.wait_for_timeout(16_000)  # the old toasts vanished after 15 s
        expect(toast).to_be_visible()
        shot(page, "alert-toast-desktop")
        page.get_by_role("link", name="Alerts").click()
        expect(page.get_by_test_id("alerts-active")).to_contain_text("Main meter")
        rules = page.get_by_test_id("alert-rules")
        expect(rules).to_contain_text(f"OBIS_1.7.0 above {THRESHOLD_KW:g}")
        shot(page, "alerts-desktop")
    finally:
        platform.meter.override_kw = None
    resolved = page.get_by_test_id("toast").filter(has_text="Resolved")
    expect(resolved).to_be_visible(timeout=10000)
    expect(page.get_by_test_id("alerts-active")).to_contain_text("no alert is active")
    page.wait_for_timeout(7000)  # resolved toasts vanished after 6 s
    expect(resolved).to_be_visible()
    resolved.get_by_test_id("toast-dismiss").click()
    expect(page.get_by_test_id("toast")).to_have_count(0)


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


def test_desktop_meters_with_roles(open_page: OpenPage) -> None:
    """The household's meters with their last reading, health and role in the energy flow."""
    page = open_page(viewport=DESKTOP)
    page.get_by_role("link", name="Meters").click()
    card = page.locator("[data-meter=meter-main]")
    expect(card).to_contain_text("Main meter")
    expect(card.locator(".pill")).to_have_text(re.compile("healthy|alert"))
    expect(page.locator("[data-meter=meter-pv]").get_by_test_id("meter-role")).to_have_value("pv")
    shot(page, "meters-desktop")
