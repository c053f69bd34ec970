"""Debian's Chromium, headless, as the app's tests and its benchmark launch it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

CHROMIUM = Path("/usr/bin/chromium")
"""Playwright finds no browser of its own here: Debian's ``chromium`` package."""
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def launch(playwright: Playwright) -> Browser:
    """Start headless Chromium through Playwright."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
