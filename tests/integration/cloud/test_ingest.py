"""Cloud ingest against a real Mosquitto, as a subprocess that is killed mid-stream.

CL-1: every valid reading is stored exactly once. CL-2: ingress is a QoS 1 subscription to
``concentrator/#``; malformed messages go to the quarantine with their reasons; a SIGKILL of
the ingest process and a restart change no count.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
import yaml
from tests.support.ingest_process import IngestProcess
from tests.support.mosquitto import Mosquitto

from omdp.bench.validation_bench import sample_reading
from omdp.cloud.ingest import IngestService
from omdp.cloud.metrics import IngestMetrics
from omdp.cloud.model import ReadingFilter
from omdp.cloud.settings import CloudSettings, DatabaseSettings, IngestSettings
from omdp.cloud.storage import ReadingStore, open_store
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration

TOTAL = 10_000
DUPLICATES = 500  # 5 %
MALFORMED = 200  # 2 %
UNIQUE = TOTAL - DUPLICATES - MALFORMED


def _messages() -> list[tuple[str, bytes]]:
    """10,000 messages: unique readings, 5 % re-sends of them, 2 % malformed of four kinds."""
    template = orjson.loads(sample_reading())
    unique = []
    for i in range(UNIQUE):
        doc = dict(template)
        meter = f"meter-{i % 50}"
        doc["meterReadingIdentifier"] = f"r-{i:06d}"
        doc["meterIndividual"] = {**template["meterIndividual"], "meterIndividualId": meter}
        doc["readingTime"] = f"2024-06-01T{(i // 600) % 24:02d}:{(i // 10) % 60:02d}:00+02:00"
        unique.append((f"concentrator/edge-{i % 3}/smartMeterMessage/{meter}/readings", doc))
    out = [(t, orjson.dumps(d)) for t, d in unique]
    out += [out[i * 17 % UNIQUE] for i in range(DUPLICATES)]
    bad: list[tuple[str, bytes]] = []
    for i in range(MALFORMED):
        topic, doc = unique[i]
        kind = i % 4
        if kind == 0:
            bad.append((topic, b"{not json %d" % i))
        elif kind == 1:
            bad.append((topic, orjson.dumps({**doc, "readingTime": f"2024-06-01T00:{i % 60:02d}"})))
        elif kind == 2:
            bad.append((f"concentrator/edge-0/elsewhere/{i}", orjson.dumps(doc)))
        else:
            other = f"concentrator/edge-0/smartMeterMessage/intruder-{i}/readings"
            bad.append((other, orjson.dumps(doc)))
    # spread the bad ones through the stream
    for n, item in enumerate(bad):
        out.insert(n * 47 % len(out), item)
    return out


def _config(tmp_path: Path, port: int, url: str) -> Path:
    path = tmp_path / "cloud.yaml"
    settings = {
        "mqtt": {"port": port},
        "db": {"url": url},
        "ingest": {"client_id": "ingest-test", "batch_size": 500, "flush_interval_s": 0.1},
    }
    path.write_text(yaml.safe_dump(settings))
    return path


Ingest = IngestProcess


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def store(db_url: str) -> Iterator[ReadingStore]:
    s = open_store(db_url)
    yield s
    s.close()


async def _publish(port: int, messages: list[tuple[str, bytes]], on_progress: object) -> None:
    async with MqttClient(MqttSettings(port=port), client_id="test-publisher") as pub:
        for n in range(0, len(messages), 500):
            chunk = messages[n : n + 500]
            await asyncio.gather(*(pub.publish(t, p) for t, p in chunk))
            if callable(on_progress):
                await asyncio.to_thread(on_progress, n + len(chunk))


def _wait_for(store: ReadingStore, readings: int, quarantined: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = (store.count_readings(ReadingFilter()), store.count_quarantine())
        if got == (readings, quarantined):
            return
        assert time.monotonic() < deadline, (
            f"stored/quarantined {got}, want {readings, quarantined}"
        )
        time.sleep(0.2)


def test_every_reading_once_across_a_sigkill(
    tmp_path: Path, mosquitto: Mosquitto, db_url: str, store: ReadingStore
) -> None:
    """CL-1, CL-2: 10,000 messages (5 % duplicates, 2 % malformed), ingest SIGKILLed at 40 %
    and restarted: every valid reading stored exactly once, every malformed one quarantined
    with its reason, and the counts do not move afterwards.
    """
    messages = _messages()
    ingest = Ingest(_config(tmp_path, mosquitto.port, db_url), tmp_path / "ingest.log")
    ingest.start()
    killed = False

    def progress(published: int) -> None:
        nonlocal killed
        if not killed and published >= TOTAL * 0.4:
            ingest.kill()
            killed = True
            ingest.start()

    try:
        asyncio.run(_publish(mosquitto.port, messages, progress))
        _wait_for(store, UNIQUE, MALFORMED, timeout=45)
        time.sleep(1.0)
        assert store.count_readings(ReadingFilter()) == UNIQUE
        assert store.count_quarantine() == MALFORMED
    finally:
        assert ingest.stop() == 0
    assert killed
    entries = store.list_quarantine(limit=1000)
    reasons = " ".join(r for e in entries for _, r in e.problems)
    assert "not valid JSON" in reasons
    assert "timezone offset" in reasons
    assert "is not concentrator/" in reasons
    assert "but the topic names 'intruder-" in reasons
    assert all(e.payload and e.topic for e in entries)
    one = store.get_reading("r-000042")
    assert one is not None
    assert len(one.values) == 13
    assert one.meter_id == "meter-42"
    assert one.concentrator_id == "edge-0"


def _handled(store: ReadingStore) -> int:
    """Messages written: readings stored plus messages quarantined."""
    return store.count_readings(ReadingFilter()) + store.count_quarantine()


def test_a_lone_message_is_committed_at_once_when_the_writer_is_free(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """CL-2 group commit: with the writer idle, a message is written (stored or quarantined)
    without waiting out ``flush_interval_s`` (here 30 s); each of three more, sent one at a
    time, as well."""
    url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    settings = CloudSettings(
        mqtt=MqttSettings(port=mosquitto.port),
        db=DatabaseSettings(url=url),
        ingest=IngestSettings(client_id="ingest-alone", batch_size=1000, flush_interval_s=30),
    )
    messages = _messages()[:4]

    async def main(store: ReadingStore) -> list[float]:
        stop = asyncio.Event()
        service = IngestService(store, settings)
        running = asyncio.create_task(service.run(stop))
        waits = []
        try:
            await asyncio.wait_for(service.ready.wait(), 10)
            async with MqttClient(MqttSettings(port=mosquitto.port), client_id="alone-pub") as pub:
                for n, (topic, payload) in enumerate(messages, start=1):
                    started = time.monotonic()
                    await pub.publish(topic, payload)
                    async with asyncio.timeout(10):
                        while await asyncio.to_thread(_handled, store) < n:
                            await asyncio.sleep(0.02)
                    waits.append(time.monotonic() - started)
        finally:
            stop.set()
            await running
        return waits

    store = open_store(url)
    try:
        waits = asyncio.run(main(store))
    finally:
        store.close()
    assert len(waits) == len(messages)
    assert max(waits) < 10  # far below the flush interval: nobody waited for it


def test_a_concentrators_alerts_are_receipted_not_quarantined(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """APP-4, CO-4, CL-2: an edge forwards its alerts on ``concentrator/{id}/alerts/{rule}/{m}``
    beside the readings. The ingest used to quarantine every one ("not smartMeterMessage/..."),
    so that each raised or cleared alert made ``omdp status`` report messages in quarantine.
    Now each alert is counted, receipted to its edge (which then deletes it from its outbox)
    and acknowledged; it is neither stored nor quarantined, and readings around it are stored.
    """
    from omdp.receipts import decode_receipt, receipt_entry
    from omdp.topics import alert_topic, receipt_topic

    url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    settings = CloudSettings(
        mqtt=MqttSettings(port=mosquitto.port),
        db=DatabaseSettings(url=url),
        ingest=IngestSettings(client_id="ingest-alerts", flush_interval_s=0.05),
    )
    doc = orjson.loads(sample_reading())
    meter = doc["meterIndividual"]["meterIndividualId"]
    edge = "edge-7"
    reading_topic, reading = (
        f"concentrator/{edge}/smartMeterMessage/{meter}/readings",
        orjson.dumps(doc),
    )
    raised = orjson.dumps({"ruleId": "silent", "meterId": "m-1", "state": "raised", "value": 9})
    cleared = orjson.dumps({"ruleId": "silent", "meterId": "m-1", "state": "cleared"})
    alert = alert_topic(edge, "silent", "m-1")
    sent = [(alert, raised), (reading_topic, reading), (alert, cleared)]
    expected = {receipt_entry(topic, payload) for topic, payload in sent}

    async def main(store: ReadingStore) -> tuple[set[tuple[str, int]], IngestMetrics]:
        stop = asyncio.Event()
        service = IngestService(store, settings)
        running = asyncio.create_task(service.run(stop))
        receipted: set[tuple[str, int]] = set()
        try:
            await asyncio.wait_for(service.ready.wait(), 10)
            settings_edge = MqttSettings(port=mosquitto.port)
            async with MqttClient(settings_edge, client_id="alerting-edge") as pub:
                await pub.subscribe(receipt_topic(edge))
                for topic, payload in sent:
                    await pub.publish(topic, payload)
                async with asyncio.timeout(10):
                    while receipted != expected:
                        message = await pub.messages.get()
                        receipted |= {(edge, d) for d in decode_receipt(message.payload)}
        finally:
            stop.set()
            await running
        return receipted, service.metrics

    store = open_store(url)
    try:
        receipted, metrics = asyncio.run(main(store))
        assert receipted == expected
        assert store.count_quarantine() == 0
        assert store.count_readings(ReadingFilter()) == 1
        assert metrics.alerts == 2
        assert b"omdp_ingest_alerts_total 2.0" in metrics.exposition()
    finally:
        store.close()
