"""Finding 5: bounded input (CL-2, CM-1, CO-1): the broker, the ingest's quarantine and the
edge's outbox each have a size bound, and say so (a metric, a log line) when it bites."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from omdp.cloud.ingest import QUARANTINE_PREFIX
from omdp.edge.samples import sample_reading
from omdp.edge.settings import EdgeSettings
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings
from tests.integration.edge.support import running_edge
from tests.security.site import Site, running_ingest
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.integration

TOPIC = "concentrator/conc-1/smartMeterMessage/m-one/readings"


async def _send(site: Site, *payloads: bytes) -> None:
    async with MqttClient(site.mqtt("conc-1"), client_id="conc-1") as edge:
        for payload in payloads:
            with contextlib.suppress(Exception):  # the broker may drop the connection
                await asyncio.wait_for(edge.publish(TOPIC, payload), 5)


def test_cm1_broker_refuses_a_message_above_max_packet_size(site: Site) -> None:
    """CM-1, CL-2: the generated broker configuration refuses a 20 MB publish: it reaches no
    subscriber, and the publisher's next small message still does."""
    site.start_broker()

    async def main() -> list[bytes]:
        async with MqttClient(site.mqtt("ingest"), client_id="ingest") as ingest:
            await ingest.subscribe("concentrator/#", qos=1)
            await _send(site, b"x" * 20_000_000)
            await _send(site, b"small")
            got = [(await asyncio.wait_for(ingest.messages.get(), 10)).payload]
            await asyncio.sleep(0.5)
            while not ingest.messages.empty():
                got.append(ingest.messages.get_nowait().payload)
            return got

    assert asyncio.run(main()) == [b"small"]
    conf = (site.broker_dir / "mosquitto.conf").read_text()  # type: ignore[operator]
    assert "max_packet_size 266240" in conf


def test_cl2_quarantine_keeps_a_bounded_prefix_and_a_bounded_total(
    site: Site, caplog: pytest.LogCaptureFixture
) -> None:
    """CL-2: an oversized message is quarantined as its first bytes and its size; once the
    quarantine holds its maximum, further bad messages are counted, logged and dropped (and
    acknowledged: nothing piles up at the broker), while good readings are still stored."""
    site.start_broker("--max-packet-size", str(4 * 1024 * 1024))
    big = b"{" + b" " * 2_000_000 + b"}"
    junk = [b"not json %d " % i + b"#" * 3000 for i in range(12)]
    good = sample_reading("m-one", 1, at=datetime.now(UTC))

    async def main() -> Any:
        async with running_ingest(
            site, max_message_bytes=64 * 1024, quarantine_max_bytes=20_000
        ) as svc:
            await _send(site, big, *junk, good)
            async with asyncio.timeout(15):
                while svc.metrics.stored < 1:
                    await asyncio.sleep(0.1)
            return svc.metrics, site.store.list_quarantine(limit=100)

    with caplog.at_level(logging.WARNING):
        metrics, entries = asyncio.run(main())
    first = entries[0]
    assert len(first.payload) == QUARANTINE_PREFIX
    assert "2000002 bytes" in first.problems[0][1]
    assert sum(len(e.payload) for e in entries) <= 20_000 + QUARANTINE_PREFIX
    assert len(entries) < 1 + len(junk)
    assert metrics.quarantine_dropped == 1 + len(junk) - len(entries)
    assert any("quarantine is full" in r.getMessage() for r in caplog.records)


def test_co1_edge_refuses_oversized_messages_and_bounds_its_outbox_bytes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """CO-1, CL-2: the edge drops (counts and logs) a message above max_message_bytes instead
    of keeping it in its outbox, and pauses intake when the outbox holds outbox_max_bytes."""
    local = Mosquitto(tmp_path / "local").start()
    try:
        settings = EdgeSettings(
            concentrator_id="e1",
            local=MqttSettings(port=local.port),
            cloud=MqttSettings(port=1),  # no cloud: everything stays in the outbox
            outbox_path=tmp_path / "outbox.sqlite3",
            http_port=0,
            max_message_bytes=10_000,
            outbox_max_bytes=30_000,
        )

        async def main() -> dict[str, Any]:
            async with (
                running_edge(settings) as (service, _port),
                MqttClient(MqttSettings(port=local.port), client_id="adapters") as pub,
            ):
                await pub.publish("smartMeterMessage/m-1/readings", b"x" * 50_000)
                sent = 0
                async with asyncio.timeout(20):  # one at a time, until the bound bites
                    while not service.status()["outbox"]["full"]:
                        held = service.outbox.depth()
                        payload = b"%d" % sent + b"y" * 6000
                        await pub.publish("smartMeterMessage/m-1/readings", payload)
                        sent += 1
                        while service.outbox.depth() == held:
                            await asyncio.sleep(0.02)
                paused = service.status()
                for extra in range(3):  # these stay with the local broker
                    await pub.publish("smartMeterMessage/m-1/readings", b"z%d" % extra * 3000)
                await asyncio.sleep(1)
                return {"paused": paused, "after": service.status(), "sent": sent}

        with caplog.at_level(logging.WARNING):
            out = asyncio.run(main())
    finally:
        local.kill()
    paused, after = out["paused"], out["after"]
    assert paused["messages"]["oversized"] == 1
    assert 30_000 <= paused["outbox"]["bytes"] <= 30_000 + 6010  # stopped at the bound
    assert out["sent"] == paused["outbox"]["depth"] == 5
    assert after["outbox"]["depth"] == paused["outbox"]["depth"]  # nothing taken since
    messages = [r.getMessage() for r in caplog.records]
    assert any("larger than max_message_bytes" in m for m in messages)
    assert any("outbox full" in m for m in messages)
