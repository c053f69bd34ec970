"""The forwarder when its far end stops answering (CO-2): probe, do not resend everything."""

from __future__ import annotations

import asyncio
from pathlib import Path

from omdp.delivery.forwarder import Forwarder
from omdp.delivery.outbox import Entry
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.errors import BrokerError


class SwitchSink:
    """Fails every entry (no receipt came) until ``answering``; then acknowledges at once."""

    def __init__(self) -> None:
        self.answering = False
        self.sent: list[int] = []

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        self.sent.append(entry.id)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self.answering:
            future.set_result(None)
        else:
            future.set_exception(BrokerError("no receipt"))
        return future

    reconnects = 0
    connected = True


def test_without_progress_only_a_probe_is_sent_again(tmp_path: Path) -> None:
    """CO-2: the first batch of 100 fails (the ingest is away: no receipts); the forwarder
    does not send its batches again on every retry but a probe of the 10 oldest, until an
    acknowledgement arrives; then all 300 are sent and deleted."""

    async def main() -> tuple[list[int], int, int]:
        outbox = await SqliteOutbox.open(tmp_path / "o.sqlite3")
        await outbox.append([("smartMeterMessage/m1/readings", b"{}")] * 300)
        sink = SwitchSink()
        forwarder = Forwarder(outbox, sink, batch=100, probe=10, max_backoff=0.02)
        task = asyncio.create_task(forwarder.run())
        async with asyncio.timeout(10):
            while len(sink.sent) < 100 + 3 * 10:
                await asyncio.sleep(0.005)
        during = list(sink.sent)
        sink.answering = True
        async with asyncio.timeout(10):
            while outbox.depth():
                await asyncio.sleep(0.01)
        await forwarder.stop()
        await task
        depth = outbox.depth()
        await outbox.close()
        return during, depth, len(sink.sent)

    during, depth, total = asyncio.run(main())
    first_round, retries = during[:100], during[100:]
    assert first_round == list(range(1, 101))
    assert retries[:30] == list(range(1, 11)) * 3  # probes of the 10 oldest, nothing more
    assert depth == 0
    assert total >= 100 + 30 + 300
