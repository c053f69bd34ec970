"""``omdp wmbus listen --link-mode`` against a simulated dongle on a pseudo-terminal (AD-1).

The simulated iM871A and AMB8465 start in another link mode and hear nothing of the T1 meters
until the host sets T1 with the dongle's own commands; the command then prints the meters'
decrypted telegrams, with the signal strength each protocol reports.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from omdp.simulators.wmbus_dongle import DongleServer, SimulatedDongle
from omdp.simulators.wmbus_meters import SimulatedRadio, radio_meters

pytestmark = pytest.mark.integration
SPECS = radio_meters(["water", "heat"], origin=time.time() - 3600)


@contextmanager
def dongle_on_pty(device: SimulatedDongle) -> Iterator[str]:
    """Serve the dongle from a background event loop; yield the pty's path."""
    radio = SimulatedRadio(SPECS, dongle=device.dongle)
    loop = asyncio.new_event_loop()
    ready: list[str] = []
    stop = asyncio.Event()

    async def serve() -> None:
        async with DongleServer(device, radio.telegrams_at, interval=0.2) as server:
            ready.append(server.open_pty())
            await stop.wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(serve()), daemon=True)
    thread.start()
    try:
        for _ in range(100):
            if ready:
                break
            time.sleep(0.05)
        assert ready, "the simulated dongle did not start"
        yield ready[0]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def _listen(dongle: str, pty: str, *extra: str) -> subprocess.CompletedProcess[str]:
    keys = [f"--key={s.identity.id}={s.key.hex()}" for s in SPECS]
    return subprocess.run(
        [sys.executable, "-m", "omdp", "wmbus", "listen", "--dongle", dongle, "--serial", pty,
         "--count", "2", *keys, *extra],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("dongle", ["im871a", "amb8465"])
def test_listen_sets_the_link_mode_then_prints_the_meters(dongle: str) -> None:
    """AD-1: the user names the port and the link mode; omdp configures the dongle."""
    device = SimulatedDongle(dongle, meters_mode="T1", mode="S1")
    with dongle_on_pty(device) as pty:
        done = _listen(dongle, pty, "--link-mode", "T1")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(lines) == 2
    assert {line["id"] for line in lines} <= {s.identity.id for s in SPECS}
    assert all(line["values"] for line in lines)  # decrypted with their keys
    assert all(-70.0 <= line["rssiDbm"] <= -50.0 for line in lines)
    assert device.mode == "T1"


def test_listen_refuses_a_link_mode_the_dongle_lacks() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "omdp", "wmbus", "listen", "--dongle", "amb8465",
         "--serial", "/dev/null", "--link-mode", "C1b"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert "the amb8465 has" in done.stderr
