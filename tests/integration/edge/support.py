"""Helpers of the edge's integration tests: an edge in-process or as a subprocess, a collector."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
from tests.support.mosquitto import Mosquitto
from tests.support.net import free_port, wait_for_port

from omdp.edge.main import run_edge
from omdp.edge.service import EdgeService
from omdp.edge.settings import EdgeSettings
from omdp.mqtt import Message, MqttClient
from omdp.mqtt.settings import MqttSettings
from omdp.receipts import encode_receipts, group_digests, receipt_entry
from omdp.topics import receipt_topic

RECEIPT_BATCH = 1000
"""Messages the collector receipts at once at most (as the ingest receipts a batch)."""


def edge_settings(
    local: Mosquitto, cloud: Mosquitto, workdir: Path, **extra: object
) -> EdgeSettings:
    """Settings of an edge ``e1`` between two brokers, HTTP on a free port."""
    return EdgeSettings(
        concentrator_id="e1",
        local=MqttSettings(port=local.port),
        cloud=MqttSettings(port=cloud.port),
        outbox_path=workdir / "outbox.sqlite3",
        http_port=0,
        **extra,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def running_edge(settings: EdgeSettings) -> AsyncIterator[tuple[EdgeService, int]]:
    """Run the edge in this process; yield the service and its HTTP port."""
    stop = asyncio.Event()
    ready: asyncio.Future[tuple[EdgeService, int]] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(
        run_edge(settings, stop=stop, on_ready=lambda s, p: ready.set_result((s, p)))
    )
    try:
        yield await asyncio.wait_for(asyncio.shield(ready), 15)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


class EdgeProcess:
    """``python -m omdp edge run --config FILE`` as a child process, killable with SIGKILL.

    ``doc`` is the edge's configuration (written as JSON, which is YAML) without its HTTP port;
    :meth:`forwarding` builds the usual local-to-cloud one.
    """

    def __init__(self, workdir: Path, doc: dict[str, object]) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.config = workdir / "edge.yaml"
        self.config.write_text(orjson.dumps({**doc, "http_port": self.port}).decode())
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def forwarding(
        cls, workdir: Path, local: Mosquitto, cloud: Mosquitto, **extra: object
    ) -> EdgeProcess:
        """An edge ``e1`` forwarding from ``local`` to ``cloud``; ``extra`` are more settings."""
        doc: dict[str, object] = {
            "concentrator_id": "e1",
            "local": {"port": local.port},
            "cloud": {"port": cloud.port},
            "outbox_path": str(workdir / "outbox.sqlite3"),
            **extra,
        }
        return cls(workdir, doc)

    def start(self) -> None:
        """Start the edge and wait for its HTTP API."""
        with (self.workdir / "edge.log").open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "omdp", "edge", "run", "--config", str(self.config)],
                stdout=log,
                stderr=log,
            )
        wait_for_port(self.port, timeout=30)

    def kill(self) -> None:
        """SIGKILL, as a power cut or an OOM kill would."""
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=15)
            self.process = None

    def stop(self) -> None:
        """SIGTERM: the edge shuts down in order."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=15)
            self.process = None


class Collector:
    """A cloud-side subscriber to ``concentrator/#`` with a persistent session.

    Like the cloud ingest, it receipts what it received (``receipts``), in batches, on
    ``omdp/receipts/{concentratorId}``: the edge deletes only what was receipted.
    """

    def __init__(
        self, cloud: Mosquitto, *, client_id: str = "collector", receipts: bool = True
    ) -> None:
        self.client = MqttClient(
            MqttSettings(port=cloud.port), client_id=client_id, manual_ack=True, queue_size=200_000
        )
        self.receipts = receipts
        self.messages: list[Message] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Collector:
        await self.client.connect()
        await self.client.subscribe("concentrator/#")
        await asyncio.sleep(0.3)
        self._task = asyncio.create_task(self._collect())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.client.close()

    async def _collect(self) -> None:
        queue = self.client.messages
        while True:
            batch = [await queue.get()]
            while not queue.empty() and len(batch) < RECEIPT_BATCH:
                batch.append(queue.get_nowait())
            self.messages.extend(batch)
            if self.receipts:
                entries = [receipt_entry(m.topic, m.payload) for m in batch]
                grouped = group_digests(e for e in entries if e is not None)
                for concentrator, digests in grouped.items():
                    for payload in encode_receipts(digests):
                        await self.client.publish(receipt_topic(concentrator), payload)
            self.client.ack_many(batch)

    async def wait_for(self, check: object, timeout: float) -> None:
        """Poll until ``check(self.messages)`` is true."""
        async with asyncio.timeout(timeout):
            while not check(self.messages):  # type: ignore[operator]
                await asyncio.sleep(0.05)


async def publish_all(
    client: MqttClient, messages: list[tuple[str, bytes]], *, rate: float = 0
) -> None:
    """Publish QoS 1, many in flight, at ``rate`` per second if set; wait for every PUBACK."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    slot = client.inflight_slot
    pending = []
    for index, (topic, payload) in enumerate(messages):
        if rate:
            delay = started + index / rate - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await slot.acquire()
        future = client.publish_nowait(topic, payload)
        future.add_done_callback(lambda _f: slot.release())
        pending.append(future)
    await asyncio.wait_for(asyncio.gather(*pending), 60)
