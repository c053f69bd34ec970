"""Which sink the edge's status and metrics report: a cloud broker, or the no-cloud edge's own
store with its counts (CO-2, CO-4, CL-1). A fake sink, a real SQLite outbox and store."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

from omdp.cloud.settings import DatabaseSettings
from omdp.cloud.storage import open_store
from omdp.delivery.outbox import Entry
from omdp.delivery.sink import Sink
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.edge.metrics import render
from omdp.edge.samples import sample_reading
from omdp.edge.service import EdgeService
from omdp.edge.settings import EdgeSettings, ThresholdRule
from omdp.edge.store_sink import StoreSink
from omdp.ops.status import parse_prometheus

READINGS = "smartMeterMessage/m1/readings"


class BrokerLikeSink:
    """Acknowledges everything at once, like a connected cloud broker."""

    def __init__(self) -> None:
        self.sent: list[Entry] = []

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        self.sent.append(entry)
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.set_result(None)
        return future

    @property
    def reconnects(self) -> int:
        return 2

    @property
    def connected(self) -> bool:
        return True


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.01)


async def _run(
    settings: EdgeSettings, sink: Sink, messages: list[tuple[str, bytes]]
) -> tuple[dict[str, Any], str]:
    """Submit ``messages`` (and the alerts they raise), wait for the outbox to drain; return
    the status and the Prometheus text of the drained edge."""
    outbox = await SqliteOutbox.open(settings.outbox_path)
    service = EdgeService(settings, outbox=outbox, sink=sink)
    runner = asyncio.create_task(service.run())
    try:
        for topic, payload in messages:
            await service.submit(topic, payload)
        await _until(lambda: outbox.depth() == 0 and not service.forwarder.inflight)
        return service.status(), render(service.registry).decode()
    finally:
        service.stop()
        await runner
        await outbox.close()


def test_status_names_a_cloud_broker_and_keeps_the_cloud_key(tmp_path: Path) -> None:
    """CO-4: with a cloud broker the status says ``sink.kind: cloud-broker`` and keeps the
    ``cloud`` part older readers use; metrics have the cloud families and no store ones."""
    settings = EdgeSettings(concentrator_id="e1", outbox_path=tmp_path / "o.sqlite3")
    status, text = asyncio.run(
        _run(settings, BrokerLikeSink(), [(READINGS, sample_reading("m1", 1))])
    )
    assert status["sink"] == {
        "kind": "cloud-broker",
        "connected": True,
        "reconnects": 2,
        "receipts": None,
    }
    assert status["cloud"] == {"connected": True, "reconnects": 2}
    metrics = parse_prometheus(text)
    assert 'omdp_edge_sink_info{kind="cloud-broker"} 1.0' in text
    assert metrics["omdp_edge_cloud_connected"] == 1.0
    assert metrics["omdp_edge_cloud_reconnects_total"] == 2.0
    assert metrics["omdp_edge_sink_connected"] == 1.0
    assert metrics["omdp_edge_sink_reconnects_total"] == 2.0
    assert not [name for name in metrics if name.startswith("omdp_edge_store_")]


def test_status_and_metrics_count_what_the_store_sink_did(tmp_path: Path) -> None:
    """CL-1, CO-2, CO-4: with the edge's own store the status says ``sink.kind: store`` with
    readings stored, replays skipped, messages quarantined and alerts not stored; /metrics has
    them as ``omdp_edge_store_*_total`` and no cloud families."""
    url = f"sqlite:///{tmp_path / 'home.sqlite3'}"
    store = open_store(url)
    settings = EdgeSettings(
        concentrator_id="home",
        store=DatabaseSettings(url=url),
        outbox_path=tmp_path / "o.sqlite3",
        rules=[ThresholdRule(id="high", property_id="OBIS_1.7.0", above=5.0)],
    )
    messages = [
        (READINGS, sample_reading("m1", 1)),
        (READINGS, sample_reading("m1", 2, import_kw=6.0)),  # raises the alert
        (READINGS, sample_reading("m1", 2, import_kw=6.0)),  # the same again: a duplicate
        (READINGS, b"{not json"),
        ("smartMeterMessage/m2/readings", sample_reading("m1", 3)),  # topic of another meter
    ]

    async def main() -> tuple[dict[str, Any], str]:
        async with StoreSink(store, "home", linger=0.001) as sink:
            return await _run(settings, sink, messages)

    try:
        status, text = asyncio.run(main())
    finally:
        store.close()
    sink = status["sink"]
    assert sink["kind"] == "store"
    assert (sink["stored"], sink["duplicates"], sink["quarantined"]) == (2, 1, 2)
    assert (sink["alertsSkipped"], sink["writeErrors"]) == (1, 0)
    assert sink["batches"] >= 1
    assert sink["connected"]
    assert status["cloud"] == {"connected": True, "reconnects": 0}  # for older readers
    metrics = parse_prometheus(text)
    assert 'omdp_edge_sink_info{kind="store"} 1.0' in text
    assert metrics["omdp_edge_store_readings_stored_total"] == 2.0
    assert metrics["omdp_edge_store_readings_duplicate_total"] == 1.0
    assert metrics["omdp_edge_store_quarantined_total"] == 2.0
    assert metrics["omdp_edge_store_alerts_skipped_total"] == 1.0
    assert metrics["omdp_edge_store_write_errors_total"] == 0.0
    assert metrics["omdp_edge_store_batches_total"] == sink["batches"]
    assert metrics["omdp_edge_sink_connected"] == 1.0
    assert "omdp_edge_cloud_connected" not in metrics
