"""The benchmarks' plain-paho load: a QoS 1 publisher, a counting subscriber, peak memory.

The raw broker rate and every service's rate are measured with the same publisher and the same
subscriber (the ingest, edge and chain benchmarks share them here), so that a ratio compares
the services and nothing else.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from omdp.receipts import encode_receipts, group_digests, receipt_entry
from omdp.topics import receipt_topic

IN_FLIGHT = 100
"""QoS 1 publishes the broker may leave unacknowledged (the baseline: 20; more does not hurt)."""
OUTSTANDING = 10_000
"""Publishes queued in paho at most: paho loses messages past 65,535 outstanding (measured)."""


def client(name: str) -> paho.Client:
    """A plain paho client with a unique id starting with ``name``."""
    return paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{time.time_ns()}")


def publish(
    port: int,
    messages: list[tuple[str, bytes]],
    *,
    go: Any = None,
    timeout: float = 60.0,
    name: str = "bench-pub",
) -> tuple[float, float]:
    """Publish with QoS 1 through plain paho (threaded loop) and wait for every PUBACK.

    Connects first, then waits for ``go`` (an event, when given) so that several publisher
    processes start together.

    Returns:
        The time of the first publish and of the last PUBACK.

    Raises:
        TimeoutError: the broker acknowledged nothing for ``timeout`` seconds.
    """
    pub = client(name)
    pub.max_inflight_messages_set(IN_FLIGHT)
    pub.max_queued_messages_set(0)
    room = threading.Semaphore(OUTSTANDING)
    done = threading.Semaphore(0)

    def on_publish(*_a: object) -> None:
        room.release()
        done.release()

    pub.on_publish = on_publish
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    try:
        if go is not None:
            go.wait(60)
        first = time.time()
        for topic, payload in messages:
            if not room.acquire(timeout=timeout):
                msg = f"broker acknowledged nothing for {timeout:g} s"
                raise TimeoutError(msg)
            pub.publish(topic, payload, qos=1)
        for _ in messages:
            if not done.acquire(timeout=timeout):
                msg = f"broker did not acknowledge within {timeout:g} s"
                raise TimeoutError(msg)
        return first, time.time()
    finally:
        pub.disconnect()
        pub.loop_stop()


class PahoReceipts:
    """Receipts what a plain paho subscriber received, as the cloud ingest does after each
    commit (:mod:`omdp.receipts`): in batches of up to ``batch`` messages, and at the latest
    ``linger`` seconds after the first of a batch, on ``omdp/receipts/{concentratorId}``."""

    def __init__(self, sub: paho.Client, *, batch: int = 1000, linger: float = 0.02) -> None:
        self.sub = sub
        self.batch = batch
        self.linger = linger
        self._entries: list[tuple[str, int]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._flush_forever, daemon=True)
        self._thread.start()

    def add(self, message: paho.MQTTMessage) -> None:
        """Note one received message (called in paho's thread)."""
        entry = receipt_entry(message.topic, bytes(message.payload))
        if entry is None:
            return
        with self._lock:
            self._entries.append(entry)
            full = len(self._entries) >= self.batch
        if full:
            self.flush()

    def flush(self) -> None:
        """Publish the receipts of what was noted so far."""
        with self._lock:
            entries, self._entries = self._entries, []
        for concentrator, digests in group_digests(entries).items():
            for payload in encode_receipts(digests):
                self.sub.publish(receipt_topic(concentrator), payload, qos=1)

    def _flush_forever(self) -> None:
        while not self._stop.wait(self.linger):
            self.flush()

    def close(self) -> None:
        """Flush and stop the flushing thread."""
        self._stop.set()
        self._thread.join(5)
        self.flush()


def count_subscriber(  # noqa: PLR0917 - a multiprocessing target takes positional args
    port: int,
    count: int,
    ready: Any,
    result: Any,
    topic_filter: str = "concentrator/#",
    timeout: float = 120.0,
    receipts: bool = False,
) -> None:
    """Child process: subscribe to ``topic_filter`` with QoS 1 and count; put the time of the
    ``count``-th message on ``result`` (NaN if it does not come within ``timeout`` s). With
    ``receipts`` it also receipts what it got, as the cloud ingest does (an edge deletes a
    forwarded message only on its receipt)."""
    got = 0
    finished = threading.Event()
    last = [float("nan")]
    sub = client("bench-raw-sub")
    receipter = PahoReceipts(sub) if receipts else None

    def on_message(_c: object, _u: object, message: paho.MQTTMessage) -> None:
        nonlocal got
        got += 1
        if receipter is not None:
            receipter.add(message)
        if got == count:
            last[0] = time.time()
            finished.set()

    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(topic_filter, qos=1)
    sub.loop_start()
    time.sleep(0.5)
    ready.set()
    finished.wait(timeout)
    if receipter is not None:
        receipter.close()
        time.sleep(0.2)  # the last receipts leave before the disconnect
    sub.disconnect()
    sub.loop_stop()
    result.put(last[0])


def peak_mb(pid: int | None) -> float:
    """VmHWM (peak resident memory) of a live process in MB; 0.0 when unknown."""
    if pid is None:
        return 0.0
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0
