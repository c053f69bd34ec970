"""Fixtures of the app's end-to-end tests: the running platform and headless Chromium.

Every page fails its test on an uncaught error or a console error, and on any request that
leaves loopback.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

from omdp.cloud.storage import ReadingStore, open_store
from omdp.testing.chromium import CHROMIUM, launch
from tests.e2e import stack as stack_mod
from tests.e2e.stack import OPERATOR_TOKEN, OWNER_TOKEN, Stack

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
# Failed loads the browser logs that are expected: the app learns a pasted token's role by
# asking (GET /v1/me, GET /v1/households: 403 for some callers); a refused login or renewal
# (POST /oauth/token: 400) is how a session ends.
ROLE_PROBES = ("/v1/me", "/v1/households", "/oauth/token")


@pytest.fixture(scope="package")
def platform() -> Iterator[Stack]:
    """Broker, edge, cloud with the app and simulated meters, shared by the e2e tests (the
    package scope ends it, and Playwright's event loop, before the other tests run)."""
    workdir = Path(tempfile.mkdtemp(prefix="omdp-e2e-"))
    running = stack_mod.start(workdir)
    yield running
    running.stop()
    shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="package")
def playwright_() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright_: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless, with no network of its own."""
    found = launch(playwright_)
    yield found
    found.close()


@dataclass
class Watch:
    """What a page did wrong."""

    errors: list[str] = field(default_factory=list)
    remote: list[str] = field(default_factory=list)

    def console(self, msg: ConsoleMessage) -> None:
        if msg.type != "error":
            return
        url = msg.location.get("url", "") if msg.location else ""
        expected = msg.text.startswith("Failed to load resource") and url.endswith(ROLE_PROBES)
        if not expected:
            self.errors.append(f"console: {msg.text} ({url})")

    def request(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme in {"blob", "data"}:
            return
        if parts.hostname not in LOOPBACK:
            self.remote.append(url)


OpenPage = Callable[..., Page]


@pytest.fixture
def open_page(browser: Browser, platform: Stack) -> Iterator[OpenPage]:
    """Open the app in a fresh context (``viewport``, optionally logged in as ``token``)."""
    contexts = []
    watches: list[Watch] = []

    def opener(
        *,
        viewport: dict[str, int] = DESKTOP,
        token: str | None = OWNER_TOKEN,
        path: str = "",
        before: Callable[[Page], None] | None = None,
        **options: Any,
    ) -> Page:
        context = browser.new_context(viewport=viewport, accept_downloads=True, **options)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        if before is not None:
            before(page)
        watch = Watch()
        watches.append(watch)
        page.on("pageerror", lambda exc: watch.errors.append(f"pageerror: {exc}"))
        page.on("console", watch.console)
        page.on("request", lambda req: watch.request(req.url))
        page.goto(platform.app_url + path)
        if token is not None:
            login_with_token(page, token)
        return page

    yield opener
    for context in contexts:
        context.close()
    problems = [e for w in watches for e in w.errors]
    remote = [u for w in watches for u in w.remote]
    assert not problems, f"errors in the page: {problems}"
    assert not remote, f"requests left loopback: {remote}"


@pytest.fixture(scope="package")
def store(platform: Stack) -> Iterator[ReadingStore]:
    """The platform's store, for the tests' own sums."""
    opened = open_store(platform.db_url)
    yield opened
    opened.close()


def drawn(page: Page) -> int:
    """How many charts the history view has drawn so far."""
    return int(page.evaluate("() => Number(document.querySelector('#view').dataset.drawn ?? 0)"))


def history_drawn(page: Page, before: int = 0) -> None:
    """Wait until the history view has drawn more charts than ``before`` (the page's CSP
    forbids eval, so no wait_for_function)."""
    for _ in range(200):
        if drawn(page) > before:
            return
        page.wait_for_timeout(100)
    pytest.fail("the history chart was not drawn")


def goto(page: Page, hash_: str) -> None:
    """Navigate the app to ``#/...`` and, for the history view, wait for its chart."""
    before = drawn(page) if "history" in hash_ else 0
    page.evaluate(f"location.hash = {hash_!r}")
    if hash_.startswith("#/history"):
        history_drawn(page, before)


def put_household(platform: Stack, path: str, **kwargs: Any) -> None:
    """PUT a setting of h-home (``tariff``, ``prices``, ``meterRoles``) as its owner."""
    url = f"http://127.0.0.1:{platform.cloud_port}/v1/households/h-home/{path}"
    answer = httpx.put(
        url, headers={"Authorization": f"Bearer {OWNER_TOKEN}"}, timeout=10, **kwargs
    )
    answer.raise_for_status()


def login_with_token(page: Page, token: str) -> None:
    """Log in by pasting an API token (the password grant needs OAuth users)."""
    page.get_by_test_id("login-mode").click()
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Log in").click()
    page.locator(".topbar").wait_for(state="visible")


def shot(page: Page, name: str) -> Path:
    """Save a full-page screenshot under tests/e2e/screenshots/."""
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


__all__ = ["DESKTOP", "OPERATOR_TOKEN", "OWNER_TOKEN", "PHONE", "OpenPage", "goto", "shot"]
