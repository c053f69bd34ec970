"""Settings of the edge's deployment variants and the in-process adapter hand-over (CO-1, CO-2).

The variants of the specification: all apart (local and cloud broker), no cloud (``store``),
adapter and edge merged (``adapters``, optionally ``local: null``), both merged.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from omdp.catalog import default_catalog
from omdp.delivery.forwarder import Forwarder
from omdp.delivery.outbox import Entry
from omdp.delivery.sqlite_outbox import SqliteOutbox
from omdp.edge.local_adapters import SubmitSink, load_adapters
from omdp.edge.samples import sample_reading
from omdp.edge.service import EdgeService
from omdp.edge.settings import EdgeSettings
from omdp.errors import ConfigError
from omdp.settings import load_settings


def _adapter_file(path: Path, meter: str, outbox: str | None = None) -> Path:
    lines = [
        f"MeterIndividualId: {meter}",
        "Meter: {kind: dsmr, tcp: '127.0.0.1:9', interval: 1, profile: dsmr5}",
    ]
    if outbox is not None:
        lines.append(f"Adapter: {{outboxPath: {outbox}}}")
    path.write_text("\n".join(lines) + "\n")
    os.chmod(path, 0o600)
    return path


def _settings(tmp_path: Path, text: str) -> EdgeSettings:
    file = tmp_path / "edge.yaml"
    file.write_text(text)
    return load_settings(EdgeSettings, file)


def test_no_cloud_settings_have_a_store_and_no_cloud_broker(tmp_path: Path) -> None:
    """CO-2 (privacy variant): with store set the edge has no cloud broker; the query API's
    tokens are the cloud's api group."""
    settings = _settings(
        tmp_path,
        f"store: {{url: 'sqlite:///{tmp_path}/h.sqlite3'}}\n"
        "api: {tokens: {" + "ab" * 32 + ": {subject: home, scopes: [operate]}}}\n",
    )
    assert settings.cloud is None
    assert settings.store is not None
    assert settings.store.url.endswith("h.sqlite3")
    assert settings.api.tokens["ab" * 32].scopes == ["operate"]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("store: {url: 'sqlite:///x'}\ncloud: {port: 1884}\n", "not both"),
        ("cloud: null\n", "nowhere to go"),
        ("local: null\n", "no adapters"),
    ],
)
def test_contradictory_variants_are_refused(tmp_path: Path, text: str, reason: str) -> None:
    """A store and a cloud broker at once, no destination, or no source: a clear ConfigError."""
    with pytest.raises(ConfigError, match=reason):
        _settings(tmp_path, text)


def test_merged_settings_without_a_local_broker(tmp_path: Path) -> None:
    """CO-1 (merged variant): adapter files and local: null; both merged adds a store."""
    a = _adapter_file(tmp_path / "a.yaml", "meter-a", "a-outbox.sqlite3")
    settings = _settings(
        tmp_path, f"local: null\nadapters: [{a}]\nstore: {{url: 'sqlite:///{tmp_path}/h.db'}}\n"
    )
    assert settings.local is None
    assert settings.cloud is None
    assert settings.adapters == [a]


def test_adapters_sharing_an_outbox_are_refused(tmp_path: Path) -> None:
    """AD-1, CO-2: adapter files in one folder without outboxPath get an outbox each, named
    after the meter and kept beside the edge's outbox; outboxPath values naming one file (or
    the edge's outbox) are refused."""
    a = _adapter_file(tmp_path / "a.yaml", "meter-a")
    b = _adapter_file(tmp_path / "b.yaml", "meter-b")
    catalog = default_catalog()
    state = tmp_path / "state"
    built = load_adapters([a, b], catalog=catalog, edge_outbox=state / "edge.sqlite3")
    assert [x.outbox_path for x in built] == [
        state / "meter-a.outbox.sqlite3",
        state / "meter-b.outbox.sqlite3",
    ]
    shared_a = _adapter_file(tmp_path / "sa.yaml", "meter-a", "shared.sqlite3")
    shared_b = _adapter_file(tmp_path / "sb.yaml", "meter-b", "shared.sqlite3")
    with pytest.raises(ConfigError, match="give every adapter its own outbox"):
        load_adapters([shared_a, shared_b], catalog=catalog, edge_outbox=state / "edge.sqlite3")
    with pytest.raises(ConfigError, match="outbox_path"):
        load_adapters([shared_a], catalog=catalog, edge_outbox=tmp_path / "shared.sqlite3")
    assert [x.topic for x in built] == [
        "smartMeterMessage/meter-a/readings",
        "smartMeterMessage/meter-b/readings",
    ]


class _HoldingSink:
    """The edge's sink: takes entries and never acknowledges them (the edge outbox keeps them)."""

    def __init__(self) -> None:
        self.held: list[asyncio.Future[None]] = []

    async def send(self, entry: Entry) -> asyncio.Future[None]:
        self.held.append(asyncio.get_running_loop().create_future())
        return self.held[-1]

    def release(self) -> None:
        """Acknowledge everything, so that the edge stops at once."""
        for future in self.held:
            future.set_result(None)

    @property
    def reconnects(self) -> int:
        return 0

    @property
    def connected(self) -> bool:
        return True


def test_submit_sink_moves_readings_only_into_a_committed_edge_outbox(tmp_path: Path) -> None:
    """CO-1, CO-2 (merged variant): an adapter's outbox forwarded through the SubmitSink is
    emptied only as far as the edge's outbox holds the readings: while the edge service is not
    running nothing leaves, once it runs all 500 move, on their adapter topic, unchanged."""
    count = 500
    topic = "smartMeterMessage/meter-a/readings"
    payloads = [sample_reading("meter-a", i) for i in range(count)]
    settings = EdgeSettings(outbox_path=tmp_path / "edge.sqlite3", local=None, adapters=[tmp_path])

    async def main() -> tuple[int, int, int, list[Entry]]:
        mine = await SqliteOutbox.open(tmp_path / "adapter.sqlite3")
        edge_outbox = await SqliteOutbox.open(settings.outbox_path)
        edge_sink = _HoldingSink()
        service = EdgeService(settings, outbox=edge_outbox, sink=edge_sink)
        sink = SubmitSink(service, window=100)
        forwarder = Forwarder(mine, sink)
        await mine.append([(topic, p) for p in payloads])
        forwarding = asyncio.create_task(forwarder.run())
        await asyncio.sleep(0.5)  # the edge's writer does not run: nothing is acknowledged
        held_before = mine.depth()
        running = asyncio.create_task(service.run())
        async with asyncio.timeout(10):
            while mine.depth() > 0:
                await asyncio.sleep(0.02)
        in_edge = edge_outbox.depth()
        stored = await edge_outbox.read_after(0, count + 10)
        await forwarder.stop()
        await forwarding
        edge_sink.release()
        service.stop()
        await running
        await sink.close()
        await mine.close()
        await edge_outbox.close()
        return held_before, mine.depth(), in_edge, stored

    held_before, left, in_edge, stored = asyncio.run(main())
    assert held_before == count
    assert left == 0
    assert in_edge == count
    assert [e.payload for e in stored] == payloads  # in order, byte for byte
    assert {e.topic for e in stored} == {topic}
