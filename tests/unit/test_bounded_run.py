"""run_bounded: a stopped service's leftovers cannot keep its process alive (Ctrl-C works)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import pytest

from omdp.ops.bounded_run import run_bounded

STUBBORN = """
import asyncio, logging, threading, time
from omdp.ops.bounded_run import run_bounded

logging.basicConfig(level=logging.INFO)

async def stubborn():
    while True:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # a third-party task that ignores cancellation

async def main():
    asyncio.create_task(stubborn(), name="stubborn-part")
    asyncio.get_running_loop().run_in_executor(None, time.sleep, 3600)  # a blocked worker
    await asyncio.sleep(0.1)
    print("service stopped", flush=True)
    return None

run_bounded(main(), grace_s=0.5)
"""


def test_leftovers_that_will_not_stop_end_with_the_service_status_within_the_grace() -> None:
    began = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", STUBBORN], capture_output=True, text=True, timeout=30, check=False
    )
    took = time.monotonic() - began
    assert done.returncode == 0, done.stderr
    assert "service stopped" in done.stdout
    assert "stubborn-part" in done.stderr
    assert "a worker thread" in done.stderr
    assert took < 15


def test_a_clean_service_returns_its_result_and_leaves_nothing() -> None:
    async def main() -> int:
        await asyncio.sleep(0)
        return 7

    assert run_bounded(main(), grace_s=0.5) == 7


def test_a_failing_service_raises_as_asyncio_run_would() -> None:
    async def main() -> None:
        msg = "broken"
        raise ValueError(msg)

    with pytest.raises(ValueError, match="broken"):
        run_bounded(main(), grace_s=0.5)
