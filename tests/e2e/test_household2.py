"""Household 2 of ``omdp demo``: a DSMR meter with tariff registers, in the app (APP-1, APP-2).

Finding 1: household 2's DSMR meter reports ``OBIS_1.8.1``/``1.8.2`` (day and night), not
``1.8.0``; the app read only ``1.8.0`` and showed 304 kWh for November where the store held
754 kWh. The demo runs here as a user runs it (a subprocess on free ports, 40 days of history);
the app's energy for the last full month must equal the store's own sums of the registers.
"""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, expect

from omdp.cloud.model import AggregateFunction, Interval
from omdp.cloud.storage import open_store
from omdp.demo.layout import TIMEZONE
from omdp.testing.services import free_port
from tests.e2e.conftest import goto, login_with_token, shot

pytestmark = pytest.mark.e2e

ZONE = ZoneInfo(TIMEZONE)


class RunningDemo:
    """``omdp demo`` in a subprocess; its API URL and token read from its output."""

    def __init__(self, data: Path) -> None:
        self.data = data
        http, edge, mqtt = free_port(), free_port(), free_port()
        args = [sys.executable, "-m", "omdp", "demo", "--data-dir", str(data)]
        args += ["--http-port", str(http), "--edge-port", str(edge), "--mqtt-port", str(mqtt)]
        args += ["--meter-ports-from", "0", "--history-days", "40"]
        self.log = data.parent / "demo.log"
        with self.log.open("w") as err:
            self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=err, text=True)
        self.url = f"http://127.0.0.1:{http}"
        self.token = ""
        found = threading.Event()
        lines: list[str] = []

        def read() -> None:
            assert self.process.stdout is not None
            for line in self.process.stdout:
                lines.append(line)
                m = re.search(r"Token:\s+(\S+)", line)
                if m:
                    self.token = m[1]
                    found.set()

        self.reader = threading.Thread(target=read, daemon=True)
        self.reader.start()
        if not found.wait(120):
            self.stop()
            pytest.fail(f"the demo did not start: {''.join(lines)}{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDemo]:
    running = RunningDemo(tmp_path_factory.mktemp("demo") / "data")
    yield running
    running.stop()


def test_app2_household2_november_energy_is_the_sum_of_its_tariff_registers(
    demo: RunningDemo, browser: Browser
) -> None:
    """APP-2 (finding 1): household 2's energy of the last full month in the app equals the
    store's consumption of the DSMR meter's tariff registers (1.8.1 + 1.8.2) plus the SML
    meter's total register (1.8.0); the DSMR meter's own figure is its two registers' sum."""
    first = (date.today().replace(day=1) - timedelta(days=1)).replace(day=1)
    last = date.today().replace(day=1) - timedelta(days=1)
    start = datetime(first.year, first.month, 1, tzinfo=ZONE)
    end = datetime(last.year, last.month, last.day, tzinfo=ZONE) + timedelta(days=1)
    store = open_store(f"sqlite:///{demo.data / 'omdp.sqlite3'}")
    try:

        def used(meter: str, prop: str) -> float:
            rows = store.aggregates(
                property_id=prop, interval=Interval.MONTH, start=start, end=end,
                meter_ids=[meter], functions={AggregateFunction.CONSUMPTION}, timezone=TIMEZONE,
            )  # fmt: skip
            return sum(r.consumption or 0 for r in rows)

        dsmr = used("h2-dsmr", "OBIS_1.8.1") + used("h2-dsmr", "OBIS_1.8.2")
        household = dsmr + used("h2-sml-pv", "OBIS_1.8.0")
    finally:
        store.close()
    assert dsmr > 100
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(f"{demo.url}/app/")
        login_with_token(page, demo.token)
        page.locator("#household").select_option(label="Household 2 (PV)")
        expect(page.locator("#view h1")).to_contain_text("Household 2")
        goto(page, f"#/history?kind=energy&span=custom&from={first}&to={last}&interval=month")
        with page.expect_download() as info:
            page.get_by_test_id("history-chart-csv").click()
        rows = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
        assert len(rows) == 1
        assert float(rows[0]["From the grid (kWh)"]) == pytest.approx(household, abs=1e-6)
        cell = page.get_by_test_id("meter-total-h2-dsmr-import")
        assert float(cell.inner_text().split()[0].replace(",", "")) == round(dsmr)
        expect(page.get_by_test_id("history-meters")).to_contain_text("OBIS_1.8.1 + OBIS_1.8.2")
        shot(page, "household2-month-desktop")
    finally:
        context.close()
