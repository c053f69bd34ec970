"""Adapters inside the edge (adapter and edge on one device, the spec's merged variant).

Each adapter file of ``adapters:`` in the edge's settings runs as an
:class:`~omdp.adapter.service.Adapter` in the edge's process. Its readings take the adapter's
usual path — the adapter's own durable outbox, then its forwarder — but the forwarder's sink is a
:class:`SubmitSink`, which hands each reading to :meth:`EdgeService.submit
<omdp.edge.service.EdgeService.submit>` instead of publishing it to a broker. ``submit`` returns
once the edge's outbox has committed the message, so a reading leaves the adapter's outbox only
when the edge's outbox holds it: the guarantees of the broker hop (QoS 1, delete after the
PUBACK) without the broker. The topic is the adapter's normal one
(``smartMeterMessage/{meterId}/readings``), so the edge forwards the reading exactly as if it had
come through the local broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Sequence
from pathlib import Path

from omdp.adapter.config import load_adapter_file
from omdp.adapter.service import Adapter
from omdp.catalog import Catalog
from omdp.delivery.outbox import Entry
from omdp.edge.service import EdgeService
from omdp.errors import ConfigError

log = logging.getLogger(__name__)

WINDOW = 1000
"""Readings of one adapter on their way into the edge's outbox at once."""


class SubmitSink:
    """A :class:`~omdp.delivery.sink.Sink` for an in-process adapter: ``EdgeService.submit``."""

    def __init__(self, service: EdgeService, *, window: int = WINDOW) -> None:
        self.service = service
        self._slots = asyncio.Semaphore(window)
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        """Take a slot and submit; the future resolves once the edge's outbox committed it."""
        await self._slots.acquire()
        task = asyncio.get_running_loop().create_task(
            self.service.submit(entry.topic, entry.payload)
        )
        self._tasks.add(task)
        task.add_done_callback(self._release)
        return task

    def _release(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self._slots.release()

    @property
    def reconnects(self) -> int:
        """Never: there is no link to lose."""
        return 0

    @property
    def connected(self) -> bool:
        """Whether the edge service runs (and so takes readings)."""
        return self.service.running

    async def close(self) -> None:
        """Give up what is still on its way; it stays in the adapter's outbox, sent next time."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def load_adapters(paths: Sequence[Path], *, catalog: Catalog, edge_outbox: Path) -> list[Adapter]:
    """Build an adapter for each file, as ``omdp adapter run --config`` would; an adapter
    without ``Adapter.outboxPath`` keeps ``{meter id}.outbox.sqlite3`` beside the edge's outbox.

    Raises:
        ConfigError: a file is invalid (the message names it), or two adapters, or an adapter
            and the edge, would share one outbox file.
    """
    adapters: list[Adapter] = []
    owners: dict[Path, str] = {edge_outbox.resolve(): "the edge's outbox_path"}
    for path in paths:
        config = load_adapter_file(path)
        adapter = Adapter(
            config,
            catalog=catalog,
            base_dir=path.resolve().parent,
            state_dir=edge_outbox.resolve().parent,
        )
        outbox = adapter.outbox_path.resolve()
        if outbox in owners:
            msg = (
                f"{path}: Adapter.outboxPath {outbox} is also {owners[outbox]}; give every "
                "adapter its own outbox file"
            )
            raise ConfigError(msg)
        owners[outbox] = f"the outbox of {path}"
        adapters.append(adapter)
    return adapters


async def supervise(adapter: Adapter, sink: SubmitSink, *, max_delay: float = 30.0) -> None:
    """Run ``adapter`` into ``sink`` until cancelled; restart it after a failure, with backoff.

    A failing adapter is logged and restarted, as systemd would restart a separate adapter
    process, and never takes the edge (or the other adapters) down with it.
    """
    meter = adapter.config.meter_individual_id
    loop = asyncio.get_running_loop()
    failures = 0
    try:
        while True:
            started = loop.time()
            try:
                await adapter.run(sink=sink)
                log.warning("adapter %s: its meter source ended; restarting", meter)
            except Exception:
                log.exception("adapter %s failed; restarting", meter, extra={"meter_id": meter})
            failures = 1 if loop.time() - started > max_delay else failures + 1
            delay = min(2.0**failures, max_delay) * random.uniform(0.5, 1.0)  # noqa: S311
            await asyncio.sleep(delay)
    finally:
        with contextlib.suppress(Exception):
            await sink.close()
