"""Finding 3: a device cannot take over another identity's session (CM-1, CL-14, CL-2).

The attack of the finding: with an adapter's credentials, connect again and again under the
ingest's client id with ``clean_start=false`` while a concentrator forwards readings. The
generated broker configuration binds client ids to user names, so the attacker only ever gets
its own session; the ingest keeps its session and stores every reading.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta

import pytest

from omdp.cloud.ingest import IngestService, ingest_client_id
from omdp.cloud.model import ReadingFilter
from omdp.cloud.settings import CloudSettings, IngestSettings
from omdp.edge.samples import sample_reading
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings
from tests.security.site import Site

pytestmark = pytest.mark.integration

GUESSABLE = "omdp-cloud-ingest"  # the ingest's former default client id
COUNT = 60


def test_cm1_client_id_takeover_is_refused_and_loses_nothing(site: Site) -> None:
    """CM-1, CL-14, CL-2: an adapter reconnecting in a loop under the ingest's client id with
    clean_start=false never gets the ingest's session: every forwarded reading is stored."""
    site.start_broker()
    settings = site.settings.model_copy(
        update={"mqtt": site.mqtt("ingest"), "ingest": IngestSettings(client_id=GUESSABLE)}
    )

    async def attack(stop: asyncio.Event) -> int:
        tries = 0
        while not stop.is_set():
            thief = MqttClient(site.mqtt("m-two"), client_id=GUESSABLE, clean_start=False)
            with contextlib.suppress(Exception):
                async with thief:
                    tries += 1
                    await asyncio.sleep(0.2)
        return tries

    async def main() -> tuple[int, int]:
        service = IngestService(site.store, settings)
        stop_ingest, stop_attack = asyncio.Event(), asyncio.Event()
        ingesting = asyncio.create_task(service.run(stop_ingest))
        await asyncio.wait_for(service.ready.wait(), 15)
        attacking = asyncio.create_task(attack(stop_attack))
        start = datetime(2024, 5, 1, tzinfo=UTC)
        async with MqttClient(site.mqtt("conc-1"), client_id="conc-1") as edge:
            for seq in range(COUNT):
                payload = sample_reading("m-one", seq, at=start + timedelta(seconds=seq))
                await edge.publish("concentrator/conc-1/smartMeterMessage/m-one/readings", payload)
                await asyncio.sleep(0.05)
        async with asyncio.timeout(20):
            while site.store.count_readings(ReadingFilter(meter_ids=("m-one",))) < COUNT:
                await asyncio.sleep(0.1)
        stop_attack.set()
        tries = await attacking
        stop_ingest.set()
        await asyncio.wait_for(ingesting, 30)
        return tries, site.store.count_readings(ReadingFilter(meter_ids=("m-one",)))

    tries, stored = asyncio.run(main())
    assert tries >= 5
    assert stored == COUNT


def test_cm1_ingest_default_client_id_is_not_guessable() -> None:
    """CM-1: the ingest's default client id is derived from its broker secret: stable across
    restarts (its persistent session), different per secret, never the old fixed name."""

    def of(password: str | None) -> str:
        mqtt = MqttSettings(username="ingest", password=password)  # type: ignore[arg-type]
        return ingest_client_id(CloudSettings(mqtt=mqtt))

    assert of("secret-one") == of("secret-one")
    assert of("secret-one") != of("secret-two")
    assert GUESSABLE not in of("secret-one")
    assert "secret" not in of("secret-one")
    named = CloudSettings(ingest=IngestSettings(client_id="chosen"))
    assert ingest_client_id(named) == "chosen"
