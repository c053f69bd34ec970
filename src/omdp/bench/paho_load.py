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


def count_subscriber(  # noqa: PLR0917 - a multiprocessing target takes positional args
    port: int,
    count: int,
    ready: Any,
    result: Any,
    topic_filter: str = "concentrator/#",
    timeout: float = 120.0,
) -> None:
    """Child process: subscribe to ``topic_filter`` with QoS 1 and count; put the time of the
    ``count``-th receipt on ``result`` (NaN if it does not come within ``timeout`` s)."""
    got = 0
    finished = threading.Event()
    last = [float("nan")]

    def on_message(*_a: object) -> None:
        nonlocal got
        got += 1
        if got == count:
            last[0] = time.time()
            finished.set()

    sub = client("bench-raw-sub")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(topic_filter, qos=1)
    sub.loop_start()
    time.sleep(0.5)
    ready.set()
    finished.wait(timeout)
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
