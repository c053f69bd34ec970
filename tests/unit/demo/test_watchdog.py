"""The stop watchdog: a stop that hangs writes where every thread and task is."""

from __future__ import annotations

import asyncio

import pytest

from omdp.demo.watchdog import arm


async def _stuck_forever(event: asyncio.Event) -> None:
    await event.wait()


def test_a_stop_that_hangs_dumps_threads_and_tasks(capfd: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        never = asyncio.Event()
        stuck = asyncio.create_task(_stuck_forever(never), name="stuck-part")
        timer = arm(0.05, last_resort_s=None)
        await asyncio.sleep(0.5)
        timer.cancel()
        stuck.cancel()

    asyncio.run(main())
    err = capfd.readouterr().err
    assert "stop watchdog: threads" in err
    assert "MainThread" in err or "Current thread" in err
    assert "_stuck_forever" in err


def test_a_stop_in_time_dumps_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    async def main() -> None:
        timer = arm(0.3, last_resort_s=None)
        await asyncio.sleep(0.01)
        timer.cancel()
        await asyncio.sleep(0.5)

    asyncio.run(main())
    assert "stop watchdog" not in capfd.readouterr().err
