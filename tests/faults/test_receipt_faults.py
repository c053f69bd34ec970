"""The faults a broker's PUBACK does not survive; end-to-end receipts do (CO-2, CL-1, CL-2).

Both cases lost readings for good while the edge deleted a message on the cloud broker's
PUBACK: a restarted Mosquitto forgets MQTT 5 shared subscriptions and answers PUBACK 0x10
"No matching subscribers" (dropping the message) until an ingest subscribes again; and a
broker killed with SIGKILL forgets the messages it held for a dead ingest only in memory
(Mosquitto saves every ``autosave_interval`` seconds: 60 in the documented configuration).
The edge now deletes a message only on the ingest's receipt after its commit.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.faults.chain import Chain, SimAdapters, readings, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]

RECEIPT_TIMEOUT_S = "5"
"""The edge's receipt timeout in these cases (30 s by default), through its environment."""


def _cloud_connected(chain: Chain) -> bool:
    try:
        status = httpx.get(f"http://127.0.0.1:{chain.http_port}/v1/status", timeout=2).json()
    except httpx.HTTPError:
        return False
    return bool(status["cloud"]["connected"])


def test_cloud_broker_restarts_with_shared_subscriptions_edge_first(
    make_chain: Callable[..., Chain], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CO-2, CL-1, CL-2: two ingests share $share/omdp-ingest/concentrator/# (MQTT 5); the
    cloud broker restarts three times while readings flow, and each time the edge reconnects
    first (the ingests are frozen until the edge has published a while to the restarted
    broker, which has no shared subscription then). Account: published, stored, duplicates,
    lost = 0."""
    monkeypatch.setenv("OMDP_EDGE_RECEIPT_TIMEOUT_S", RECEIPT_TIMEOUT_S)
    chain = make_chain(ingests=2, ingest={"shared_group": "omdp-ingest"})
    sent = readings(2400, prefix="shared-restart")
    adapters = SimAdapters(chain.local.port)
    events = []
    try:
        started = time.monotonic()
        adapters.start(sent, rate=100)
        for _ in range(3):
            time.sleep(3)
            for ingest in chain.ingests:
                ingest.pause()
            chain.cloud.restart()
            wait_until(lambda: _cloud_connected(chain), 30, "the edge to reconnect")
            events.append(f"{time.monotonic() - started:5.1f} s cloud broker restarted")
            time.sleep(2.5)  # the edge publishes to a broker without subscribers
            for ingest in chain.ingests:
                ingest.resume()
            events.append(f"{time.monotonic() - started:5.1f} s ingests back")
        adapters.join(120)
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=90)
    account = chain.account(
        "cloud broker restarted 3 times, shared subscriptions, the edge reconnecting first",
        (r for _, _, r in sent),
        notes=events,
    )
    assert account.lost == []
    assert account.stored == account.sent
    assert account.quarantined == 0


def test_sigkill_ingest_then_cloud_broker(
    make_chain: Callable[..., Chain], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CO-2, CL-1: the ingest is killed with SIGKILL while readings flow; the cloud broker
    queues them in the ingest's session, in memory (autosave every 60 s, as documented); then
    the broker is killed with SIGKILL too, and both come back. Account: lost = 0."""
    monkeypatch.setenv("OMDP_EDGE_RECEIPT_TIMEOUT_S", RECEIPT_TIMEOUT_S)
    chain = make_chain(cloud_autosave=60)
    sent = readings(2000, prefix="kill-broker")
    adapters = SimAdapters(chain.local.port)
    events = []
    try:
        started = time.monotonic()
        adapters.start(sent, rate=100)
        time.sleep(4)
        chain.ingest.kill()
        events.append(f"{time.monotonic() - started:5.1f} s SIGKILL ingest")
        time.sleep(3)  # the broker queues the edge's readings for the dead ingest
        chain.cloud.kill()
        events.append(f"{time.monotonic() - started:5.1f} s SIGKILL cloud broker")
        time.sleep(1)
        chain.cloud.start()
        chain.ingest.start()
        events.append(f"{time.monotonic() - started:5.1f} s broker and ingest back")
        adapters.join(120)
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=90)
    account = chain.account(
        "SIGKILL of the ingest, then of the cloud broker (autosave 60 s)",
        (r for _, _, r in sent),
        notes=events,
    )
    assert account.lost == []
    assert account.stored == account.sent
    assert account.quarantined == 0
