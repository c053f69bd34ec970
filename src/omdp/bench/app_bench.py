"""``omdp bench app``: time until the app's history view has drawn a year of 15-minute data.

A SQLite store is seeded with a year of one household's 15-minute readings (quick: 90 days);
the cloud API with the app runs in a subprocess (uvicorn); headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright) opens each history view in a fresh page load. The
figure is the time from navigation start to the ``performance.mark`` the app sets after uPlot
has drawn (median of 5 loads, and the first, cold one), with the bytes the view fetched.

Beside it, in the same run: the view's own requests alone over HTTP from this process (what the
app waits for), and the raw fetch of the same data at full resolution as the app fetched it
before the compact endpoints (the two ``POST /v1/aggregates`` of a year of quarter-hours,
import and export, one JSON object per point, uncompressed).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import yaml

from omdp.auth.principal import hash_token
from omdp.bench.suite import Figures, named
from omdp.cloud.storage import open_store
from omdp.testing.chromium import CHROMIUM, launch
from omdp.testing.services import free_port
from omdp.webapp import WEB_DIR, uplot_version
from omdp.webapp.devserver import HOUSEHOLD, TIMEZONE, seed_year

TOKEN = "bench-app-owner"  # noqa: S105 - a throwaway local token
WIDTH = 1280
MARK = "omdp:history-drawn"
LOADS = 5


@dataclass(frozen=True, slots=True)
class View:
    """A history view and the requests it makes."""

    key: str  # the subject of its figures
    label: str
    hash: str
    kind: str  # energy or power


VIEWS = (
    View("daily_energy", "year of daily energy bars", "kind=energy&span=year&interval=day",
         "energy"),
    View("monthly_energy", "year of monthly energy bars",
         "kind=energy&span=year&interval=month", "energy"),
    View("power", "year of 15-minute power (decimated)", "kind=power&span=year", "power"),
)  # fmt: skip


def _serve(workdir: Path, url: str) -> tuple[subprocess.Popen[bytes], int]:
    config = workdir / "cloud.yaml"
    grant = {"subject": "bench", "scopes": ["readings:read"], "household_id": HOUSEHOLD}
    config.write_text(
        yaml.safe_dump(
            {
                "db": {"url": url},
                "api": {
                    "tokens": {hash_token(TOKEN): grant},
                    "credentials_file": str(workdir / "credentials.json"),
                },
            }
        )
    )
    port = free_port()
    args = [sys.executable, "-m", "omdp.webapp.devserver", "--config", str(config)]
    proc = subprocess.Popen(  # noqa: S603 - our own module
        [*args, "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc, port
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    msg = "the cloud API did not start"
    raise RuntimeError(msg)


def _year() -> tuple[datetime, datetime]:
    """The app's span "year": the 12 local calendar months up to this one."""
    zone = ZoneInfo(TIMEZONE)
    today = datetime.now(zone).date()
    month = today.year * 12 + today.month - 1 - 11
    first = date(month // 12, month % 12 + 1, 1)
    nxt = today.year * 12 + today.month
    end = date(nxt // 12, nxt % 12 + 1, 1)
    return datetime(first.year, first.month, 1, tzinfo=zone), datetime(
        end.year, end.month, 1, tzinfo=zone
    )


def _bodies(view: View, points: int) -> list[tuple[str, dict[str, Any]]]:
    start, end = _year()
    span = {"householdId": HOUSEHOLD, "start": start.isoformat(), "end": end.isoformat()}
    if view.kind == "energy":
        interval = "month" if "month" in view.hash else "day"
        return [("/v1/energy", {**span, "interval": interval, "costs": False})]
    return [("/v1/series", {**span, "quantity": "power", "points": points})]


def _raw_bodies() -> list[tuple[str, dict[str, Any]]]:
    start, end = _year()
    return [
        (
            "/v1/aggregates",
            {
                "householdId": HOUSEHOLD,
                "propertyId": prop,
                "interval": "15min",
                "start": start.astimezone(UTC).isoformat(),
                "end": end.astimezone(UTC).isoformat(),
                "functions": ["mean", "max"],
                "combine": True,
            },
        )
        for prop in ("OBIS_1.7.0", "OBIS_2.7.0")
    ]


def _fetch(port: int, bodies: list[tuple[str, dict[str, Any]]], *, gzip: bool) -> tuple[float, int]:
    """Median milliseconds of the requests in parallel (3 rounds), and bytes on the wire."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    headers["Accept-Encoding"] = "gzip" if gzip else "identity"
    times = []
    wire = 0
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=60) as http:
        for _ in range(3):
            began = time.perf_counter()
            with ThreadPoolExecutor(len(bodies)) as pool:
                answers = list(pool.map(lambda b: http.post(b[0], json=b[1]), bodies))
            times.append((time.perf_counter() - began) * 1000)
            wire = 0
            for answer in answers:
                answer.raise_for_status()
                wire += int(answer.headers.get("content-length") or len(answer.content))
    return statistics.median(times), wire


def _loads(port: int, view: View) -> tuple[list[float], int, int]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        msg = "the app benchmark needs playwright (pip install -e '.[dev]')"
        raise SystemExit(msg) from exc
    app = f"http://127.0.0.1:{port}/app/"
    times: list[float] = []
    points = wire = 0
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": WIDTH, "height": 800})
        page.goto(app)
        page.get_by_test_id("login-mode").click()
        page.get_by_label("API token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.locator(".topbar").wait_for(state="visible")
        for _ in range(LOADS):
            page.goto("about:blank")
            page.goto(f"{app}#/history?{view.hash}")
            page.locator("#view[data-drawn]").wait_for(state="attached", timeout=30_000)
            mark = page.evaluate(f"() => performance.getEntriesByName('{MARK}')[0].startTime")
            points = int(page.locator("#view").get_attribute("data-points") or 0)
            wire = int(
                page.evaluate(
                    "() => performance.getEntriesByType('resource')"
                    ".filter((r) => /\\/v1\\/(energy|series)$/.test(r.name))"
                    ".reduce((a, r) => a + r.transferSize, 0)"
                )
            )
            times.append(float(mark))
        browser.close()
    return times, points, wire


Loaded = tuple[View, list[float], int, int, tuple[float, int]]
"""A view, its load times (ms), points drawn, bytes fetched, and its requests alone (ms, bytes)."""


def measure(*, quick: bool) -> Figures:
    """Seed, serve, load the history views in Chromium; print the figures, return them."""
    if uplot_version() is None:
        print(f"skipped: {WEB_DIR / 'node_modules'} is missing (run scripts/setup)")
        return named("app", skipped="web/node_modules is missing")
    if not CHROMIUM.exists():
        print("skipped: /usr/bin/chromium is missing (apt-get install chromium)")
        return named("app", skipped="/usr/bin/chromium is missing")
    days = 90 if quick else 365
    with tempfile.TemporaryDirectory(prefix="omdp-app-bench-") as tmp:
        workdir = Path(tmp)
        url = f"sqlite:///{workdir / 'cloud.sqlite3'}"
        store = open_store(url)
        began = time.perf_counter()
        try:
            seed_year(store, end=datetime.now(UTC), days=days)
        finally:
            store.close()
        seeded = time.perf_counter() - began
        proc, port = _serve(workdir, url)
        results: list[Loaded] = []
        try:
            for view in VIEWS:
                times, points, wire = _loads(port, view)
                own = _fetch(port, _bodies(view, max(points, 100)), gzip=True)
                results.append((view, times, points, wire, own))
            raw = _fetch(port, _raw_bodies(), gzip=False)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"app history view over {days} days of 15-minute data (store seeded in {seeded:.1f} s)")
    print(f"  navigation start -> uPlot drawn (performance.mark), median of {LOADS} loads in")
    print(f"  Chromium ({WIDTH} px wide); beside it the view's own requests alone, over HTTP")
    for view, times, points, wire, (own_ms, own_bytes) in results:
        print(
            f"  {view.label:38} {statistics.median(times):6.0f} ms "
            f"(first {times[0]:.0f}, min {min(times):.0f}; {points:,} points, "
            f"{wire / 1024:,.1f} KiB fetched)   its requests {own_ms:5.0f} ms, "
            f"{own_bytes / 1024:,.1f} KiB"
        )
    print(
        f"  raw fetch of the same year at full resolution (2 x /v1/aggregates 15min, JSON "
        f"objects, uncompressed): {raw[0]:,.0f} ms, {raw[1] / 1024:,.0f} KiB"
    )
    return app_figures(days=days, seeded_s=seeded, results=results, raw=raw)


def app_figures(
    *, days: int, seeded_s: float, results: list[Loaded], raw: tuple[float, int]
) -> Figures:
    """The figures of a run, by name: per view (``daily_energy.drawn_ms``, ...) and the raw
    fetch of the same year (``raw_fetch.ms``)."""
    figures = named("store", days=days, seed_s=round(seeded_s, 1))
    for view, times, points, wire, (own_ms, own_bytes) in results:
        figures |= named(
            view.key,
            drawn_ms=round(statistics.median(times)),
            first_ms=round(times[0]),
            min_ms=round(min(times)),
            points=points,
            fetched_kib=round(wire / 1024, 1),
            requests_ms=round(own_ms),
            requests_kib=round(own_bytes / 1024, 1),
        )
    return figures | named("raw_fetch", ms=round(raw[0]), kib=round(raw[1] / 1024))
