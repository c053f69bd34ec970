"""``omdp bench app``: time until the app's history view has drawn a year of 15-minute data.

A SQLite store is seeded with a year of one household's 15-minute readings (quick: 90 days);
the cloud API with the app runs in a subprocess (uvicorn); headless Chromium (Debian's
``/usr/bin/chromium`` through Playwright) opens ``#/history?kind=power&interval=15min&span=year``
in a fresh page load. The figure is the time from navigation start to the ``performance.mark``
the app sets after uPlot has drawn (median of 5 loads, and the first, cold one). Beside it, in the
same run, the baseline: the two aggregate requests the view makes, over HTTP from this process.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import yaml

from omdp.cloud.api.auth import hash_token
from omdp.cloud.storage import open_store
from omdp.testing.chromium import CHROMIUM, launch
from omdp.testing.services import free_port
from omdp.webapp import WEB_DIR, uplot_version
from omdp.webapp.devserver import HOUSEHOLD, seed_year

TOKEN = "bench-app-owner"  # noqa: S105 - a throwaway local token
VIEWS = (
    ("year of daily energy bars (the default for a year)", "kind=energy&interval=day&span=year"),
    ("year of hourly power", "kind=power&interval=hour&span=year"),
    ("year of 15-minute power", "kind=power&interval=15min&span=year"),
)
MARK = "omdp:history-drawn"
LOADS = 5


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


def _baseline(port: int, days: int, view: str) -> float:
    """Milliseconds for the view's two aggregate requests (import and export), in parallel."""
    q = dict(part.split("=") for part in view.split("&"))
    energy = q["kind"] == "energy"
    props = ("OBIS_1.8.0", "OBIS_2.8.0") if energy else ("OBIS_1.7.0", "OBIS_2.7.0")
    end = datetime.now(UTC) + timedelta(days=1)
    start = end - timedelta(days=365 if days >= 365 else days)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=30) as http:
        for _ in range(3):
            began = time.perf_counter()
            bodies = [
                {
                    "householdId": HOUSEHOLD,
                    "propertyId": prop,
                    "interval": q["interval"],
                    "start": start.isoformat(),
                    "end": end.isoformat(),
                    "functions": ["consumption"] if energy else ["mean", "max"],
                    "combine": True,
                }
                for prop in props
            ]
            with ThreadPoolExecutor(2) as pool:
                for answer in pool.map(lambda b: http.post("/v1/aggregates", json=b), bodies):
                    answer.raise_for_status()
            times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


def _loads(port: int, view: str) -> tuple[list[float], int]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        msg = "the app benchmark needs playwright (pip install -e '.[dev]')"
        raise SystemExit(msg) from exc
    app = f"http://127.0.0.1:{port}/app/"
    times: list[float] = []
    with sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(app)
        page.get_by_test_id("login-mode").click()
        page.get_by_label("API token").fill(TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.locator(".topbar").wait_for(state="visible")
        points = 0
        for _ in range(LOADS):
            page.goto("about:blank")
            page.goto(f"{app}#/history?{view}")
            page.locator("#view[data-drawn]").wait_for(state="attached", timeout=30_000)
            mark = page.evaluate(f"() => performance.getEntriesByName('{MARK}')[0].startTime")
            points = int(page.locator("#view").get_attribute("data-points") or 0)
            times.append(float(mark))
        browser.close()
    return times, points


def run(*, quick: bool) -> None:
    """Seed, serve, load the history view in Chromium, print the figures."""
    if uplot_version() is None:
        print(f"skipped: {WEB_DIR / 'node_modules'} is missing (run scripts/setup)")
        return
    if not CHROMIUM.exists():
        print("skipped: /usr/bin/chromium is missing (apt-get install chromium)")
        return
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
        results = []
        try:
            for label, view in VIEWS:
                baseline = _baseline(port, days, view)
                times, points = _loads(port, view)
                results.append((label, baseline, times, points))
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    print(f"app history view over {days} days of 15-minute data (store seeded in {seeded:.1f} s)")
    print("  navigation start -> uPlot drawn (performance.mark), median of 5 loads in Chromium;")
    print("  baseline in the same run: the view's 2 aggregate requests alone, over HTTP")
    for label, baseline, times, points in results:
        print(
            f"  {label:52} {statistics.median(times):6.0f} ms "
            f"(first {times[0]:.0f}, min {min(times):.0f}; {points:,} points/series)"
            f"   baseline {baseline:6.0f} ms"
        )
