"""Ports and waiting, for tests that start servers (the port helpers are the platform's own)."""

from __future__ import annotations

import time
from collections.abc import Callable

from omdp.testing.services import free_port, wait_for_port

__all__ = ["free_port", "wait_for_port", "wait_until"]


def wait_until(
    check: Callable[[], bool], *, timeout: float = 10.0, what: str = "condition"
) -> None:
    """Poll ``check`` until it is true; TimeoutError naming ``what`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    msg = f"{what} not reached after {timeout} s"
    raise TimeoutError(msg)
