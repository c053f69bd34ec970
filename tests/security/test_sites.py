"""Finding 2: a concentrator speaks only for the meters of its site (CM-1, CL-14, CO-3).

Real Mosquitto over TLS with the files ``omdp broker config`` writes from the registry, the real
ingest on the ``ingest`` user, the real API moving a meter. ``m-one`` and ``m-two`` belong to
site ``conc-1``, ``m-three`` to ``conc-2``.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from omdp.cloud.model import ReadingFilter
from omdp.edge.samples import sample_reading
from omdp.mqtt import MqttClient
from tests.integration.api.apidata import TestClient
from tests.security.site import Site, cloud_app, running_ingest

pytestmark = pytest.mark.integration


def _reading(meter: str, seq: int, kw: float = 1.0) -> bytes:
    return sample_reading(meter, seq, at=datetime.now(UTC), import_kw=kw)


def _stored(site: Site, meter: str) -> list[str]:
    return [r.reading_id for r in site.store.query_readings(ReadingFilter(meter_ids=(meter,)))]


async def _until(check: Any, timeout: float = 15) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.1)


async def _publish(site: Site, user: str, topic: str, payload: bytes) -> None:
    async with MqttClient(site.mqtt(user), client_id=f"{user}-pub") as client:
        with contextlib.suppress(Exception):  # a denied QoS 1 publish may end the connection
            await asyncio.wait_for(client.publish(topic, payload), 5)


def test_cm1_cl14_a_concentrator_reads_and_writes_only_its_own_meters(site: Site) -> None:
    """CM-1, CL-14, CO-3: conc-2 receives no reading of conc-1's meters, and its forged
    12,345 kW readings of m-one (under its own id or conc-1's) never reach the ingest; its own
    meter m-three goes through."""
    site.start_broker()

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with (
            running_ingest(site, client_id="sites-ingest", site_refresh_s=1),
            MqttClient(site.mqtt("conc-2"), client_id="conc-2-sub") as spy,
        ):
            await spy.subscribe("smartMeterMessage/#", qos=1)
            await _publish(site, "m-one", "smartMeterMessage/m-one/readings", _reading("m-one", 1))
            forged = _reading("m-one", 99, kw=12345.0)
            for topic in (  # one connection per user: the broker binds client ids to users
                "concentrator/conc-2/smartMeterMessage/m-one/readings",
                "concentrator/conc-1/smartMeterMessage/m-one/readings",
            ):
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(spy.publish(topic, forged), 5)
            await _publish(
                site, "m-three", "smartMeterMessage/m-three/readings", _reading("m-three", 1)
            )
            own = _reading("m-three", 2)
            await spy.publish("concentrator/conc-2/smartMeterMessage/m-three/readings", own)
            await _until(lambda: _stored(site, "m-three"))
            got = []
            while not spy.messages.empty():
                got.append(spy.messages.get_nowait().topic)
            out["spied"] = got
            out["m-one"] = _stored(site, "m-one")
        return out

    out = asyncio.run(main())
    assert out["spied"] == ["smartMeterMessage/m-three/readings"]
    assert out["m-one"] == []  # neither the adapter's (no edge forwarded it) nor the forgery


def test_cl14_moving_a_meter_is_an_api_call_that_takes_effect_without_restart(
    site: Site,
) -> None:
    """CL-14, CO-3: after PUT /v1/meterIndividuals/m-one/site (to conc-2) the running ingest
    quarantines conc-1's readings of m-one with the reason, and after `omdp broker config
    --reload-pid` (SIGHUP, no restart) the broker refuses conc-1's and takes conc-2's."""
    broker = site.start_broker()
    assert broker.process is not None
    pid_file = site.root / "mosquitto.pid"
    pid_file.write_text(str(broker.process.pid))
    topic = "concentrator/{}/smartMeterMessage/m-one/readings"

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with running_ingest(site, client_id="sites-ingest", site_refresh_s=1):
            await _publish(site, "conc-1", topic.format("conc-1"), _reading("m-one", 1))
            await _until(lambda: _stored(site, "m-one") == ["m-one-000000001"])
            with TestClient(cloud_app(site)) as client:
                denied = client.put(
                    "/v1/meterIndividuals/m-one/site", json={"concentratorId": "conc-2"}
                )
                out["unauthenticated"] = denied.status_code
                site.users.add("ada", "ada-pw-123", role="admin", household=None)
                token = client.post(
                    "/oauth/token",
                    data={"grant_type": "password", "username": "ada", "password": "ada-pw-123"},
                ).json()["access_token"]
                moved = client.put(
                    "/v1/meterIndividuals/m-one/site",
                    json={"concentratorId": "conc-2"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                out["moved"] = (moved.status_code, moved.json())
            seq = 2
            while not site.store.count_quarantine():  # the ingest's registry view follows
                await _publish(site, "conc-1", topic.format("conc-1"), _reading("m-one", seq))
                seq += 1
                await asyncio.sleep(0.3)
                assert seq < 60, "the ingest never noticed the move"
            out["quarantine"] = site.store.list_quarantine()
            out["stored_after_move"] = _stored(site, "m-one")
            site.broker_config("--reload-pid", str(pid_file))
            await asyncio.sleep(1)
            before = site.store.count_quarantine()
            await _publish(site, "conc-1", topic.format("conc-1"), _reading("m-one", 500))
            await _publish(site, "conc-2", topic.format("conc-2"), _reading("m-one", 501))
            await _until(lambda: "m-one-000000501" in _stored(site, "m-one"))
            out["quarantine_growth"] = site.store.count_quarantine() - before
            out["stored"] = _stored(site, "m-one")
        return out

    out = asyncio.run(main())
    assert out["unauthenticated"] == 401
    assert out["moved"] == (200, {"meterIndividualId": "m-one", "concentratorId": "conc-2"})
    entry = out["quarantine"][0]
    assert entry.topic == topic.format("conc-1")
    assert "not the site of meter 'm-one'" in entry.problems[0][1]
    assert orjson.loads(entry.payload)["meterReadingIdentifier"].startswith("m-one-")
    assert "m-one-000000500" not in out["stored"]  # refused by the broker after the reload
    assert out["quarantine_growth"] == 0  # ...so it never even reached the ingest
    assert set(out["stored"]) - set(out["stored_after_move"]) == {"m-one-000000501"}
