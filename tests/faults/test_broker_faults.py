"""Broker faults under load: restarts on either side, a long cloud outage (CO-2, CL-1, CL-2).

Each case publishes a known set of readings through the real chain (local Mosquitto -> edge ->
cloud Mosquitto -> ingest -> store) and ends with an account: nothing lost.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.faults.chain import Chain, SimAdapters, readings, wait_until
from tests.faults.conftest import outage_seconds

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


def _restart_under_load(make_chain: Callable[..., Chain], side: str) -> None:
    chain = make_chain()
    sent = readings(3000, prefix=f"restart-{side}")
    broker = chain.local if side == "local" else chain.cloud
    adapters = SimAdapters(chain.local.port, retry_s=3)
    try:
        adapters.start([(t, p, r) for t, p, r in sent], rate=300)
        time.sleep(3)
        broker.restart()  # SIGTERM: the broker saves its sessions; then starts on the same port
        time.sleep(2)
        broker.restart()
        adapters.join(120)
    finally:
        adapters.close()
    chain.wait_stored(r for _, _, r in sent)
    account = chain.account(
        f"{side} broker restarted twice under load",
        (r for _, _, r in sent),
        notes=[f"readings published again by the adapters: {adapters.republished}"],
    )
    assert account.lost == []
    assert account.quarantined == 0


def test_local_broker_restart_loses_nothing(make_chain: Callable[..., Chain]) -> None:
    """CO-1, CO-2, CL-1: the edge's broker restarts twice while adapters publish."""
    _restart_under_load(make_chain, "local")


def test_cloud_broker_restart_loses_nothing(make_chain: Callable[..., Chain]) -> None:
    """CO-2, CL-1, CL-2: the cloud broker restarts twice while the edge forwards."""
    _restart_under_load(make_chain, "cloud")


def test_cloud_broker_outage_under_load(make_chain: Callable[..., Chain]) -> None:
    """CO-2, CL-1: the cloud broker is away for OMDP_FAULT_OUTAGE_S seconds (20 in CI, a
    minute in the full run) while readings keep coming; the edge's outbox holds them and
    drains afterwards."""
    outage = outage_seconds()
    chain = make_chain()
    rate = 200.0
    sent = readings(int(rate * (outage + 6)), prefix="outage")
    adapters = SimAdapters(chain.local.port)
    try:
        adapters.start(sent, rate=rate)
        time.sleep(2)
        chain.cloud.stop()
        stopped = time.monotonic()
        time.sleep(outage)
        depth = _outbox_depth(chain)
        chain.cloud.start()
        away = time.monotonic() - stopped
        adapters.join(outage + 60)
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=90)
    account = chain.account(
        f"cloud broker away {away:.0f} s under {rate:.0f} readings/s",
        (r for _, _, r in sent),
        notes=[f"edge outbox depth at the end of the outage: {depth}"],
    )
    assert depth > 0, "the outbox held readings during the outage"
    assert account.lost == []


def _outbox_depth(chain: Chain) -> int:
    import httpx

    status = httpx.get(f"http://127.0.0.1:{chain.http_port}/v1/status", timeout=5).json()
    return int(status["outbox"]["depth"])


def test_edge_outbox_reaches_its_bound(make_chain: Callable[..., Chain]) -> None:
    """CO-2: with outbox_max_messages small and the cloud away, the edge stops taking
    messages (the local broker keeps them) instead of dropping any."""
    chain = make_chain(edge={"outbox_max_messages": 300, "local_queue_size": 100})
    chain.cloud.stop()
    sent = readings(1500, prefix="bound")
    adapters = SimAdapters(chain.local.port)
    try:
        adapters.start(sent, rate=500)
        adapters.join(60)
        wait_until(lambda: _outbox_depth(chain) >= 250, 30, "the outbox to fill")
        full_depth = _outbox_depth(chain)
        chain.cloud.start()
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=90)
    account = chain.account(
        "edge outbox bounded at 300 while 1,500 readings wait",
        (r for _, _, r in sent),
        notes=[f"outbox depth while full: {full_depth} (bound 300)"],
    )
    assert full_depth <= 300
    assert account.lost == []
