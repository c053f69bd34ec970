"""PostgreSQL restarted mid-batch, and slow consumers (CL-1, CL-2, CO-2)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from omdp.testing.services import PostgresCluster
from tests.faults.chain import Chain, SimAdapters, readings, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]


@pytest.fixture
def own_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster of this test alone: restarting it disturbs no other test."""
    cluster = PostgresCluster().start()
    yield cluster
    cluster.destroy()


def test_postgres_restarted_mid_batch(
    make_chain: Callable[..., Chain], own_cluster: PostgresCluster
) -> None:
    """CL-1: PostgreSQL stops twice (fast, then immediate: a crash) while the ingest writes
    batches; failed batches stay unacknowledged and are written again, nothing lost."""
    chain = make_chain(db_url=own_cluster.create_database())
    sent = readings(3000, prefix="pg")
    adapters = SimAdapters(chain.local.port)
    events = []
    try:
        started = time.monotonic()
        adapters.start(sent, rate=300)
        time.sleep(3)
        own_cluster.restart()
        events.append(f"{time.monotonic() - started:5.1f} s PostgreSQL restarted (fast)")
        time.sleep(2.5)
        own_cluster.stop("immediate")
        time.sleep(1.0)
        own_cluster.start()
        events.append(f"{time.monotonic() - started:5.1f} s PostgreSQL crashed and restarted")
        adapters.join(90)
    finally:
        adapters.close()
    chain.wait_stored((r for _, _, r in sent), timeout=90)
    account = chain.account(
        "PostgreSQL restarted mid-batch, twice",
        (r for _, _, r in sent),
        notes=[*events, f"ingest batch writes retried: {chain.ingest.total('errors')}"],
    )
    assert account.lost == []
    assert account.quarantined == 0


class SlowSubscriber:
    """A second cloud-side consumer that takes 5 ms per message (persistent session)."""

    def __init__(self, port: int, delay: float) -> None:
        self.ids: set[str] = set()
        self.received = 0
        self.client = paho.Client(
            CallbackAPIVersion.VERSION2, client_id="slow-consumer", clean_session=False
        )
        self.client.on_message = self._on_message
        self.delay = delay
        self.subscribed = threading.Event()
        self.client.on_subscribe = lambda *_a: self.subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("concentrator/#", qos=1)
        self.client.loop_start()
        assert self.subscribed.wait(10)

    def _on_message(self, _c: object, _u: object, message: paho.MQTTMessage) -> None:
        time.sleep(self.delay)
        self.received += 1
        self.ids.add(orjson.loads(message.payload)["meterReadingIdentifier"])

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def test_slow_consumers(make_chain: Callable[..., Chain]) -> None:
    """CL-2, CO-2: an ingest committing every message on its own (batch of one) and a second
    cloud subscriber that reads slowly; neither loses a reading nor stalls the other."""
    chain = make_chain(ingest={"batch_size": 1, "flush_interval_s": 0.01})
    slow = SlowSubscriber(chain.cloud.port, delay=0.005)
    sent = readings(2000, prefix="slow")
    ids = {r for _, _, r in sent}
    adapters = SimAdapters(chain.local.port)
    try:
        adapters.start(sent, rate=400)
        adapters.join(60)
        chain.wait_stored(ids, timeout=90)
        wait_until(lambda: ids <= slow.ids, 60, "the slow subscriber to catch up", step=0.5)
    finally:
        adapters.close()
        slow.close()
    account = chain.account(
        "ingest batches of one, plus a subscriber taking 5 ms a message",
        ids,
        notes=[
            f"slow subscriber: {len(slow.ids & ids)} of {len(ids)} ({slow.received} deliveries)"
        ],
    )
    assert account.lost == []
    assert ids <= slow.ids
