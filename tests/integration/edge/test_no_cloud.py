"""The no-cloud edge (the privacy variant): the edge keeps the history and answers the cloud's
query API itself (CO-1, CO-2, CO-4, CL-1, CL-3, CL-4, CL-6).

Real Mosquitto as the local broker, the edge in this process or as ``omdp edge run`` in a child
process, the cloud's reading store on SQLite or PostgreSQL, queries over HTTP with a token.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.integration.edge.support import EdgeProcess, publish_all, running_edge
from tests.support.mosquitto import Mosquitto

from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.cloud.api.settings import ApiSettings
from omdp.cloud.settings import DatabaseSettings, RetentionSettings
from omdp.cloud.storage import open_store
from omdp.edge.samples import sample_reading
from omdp.edge.settings import EdgeSettings, ThresholdRule
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration

TOKEN = "household-home-token-2f0c9d1e"  # noqa: S105 - a test token
AUTH = {"Authorization": f"Bearer {TOKEN}"}
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def readings(count: int, meters: int) -> list[tuple[str, bytes]]:
    """``count`` valid adapter messages of ``meters`` meters, unique (meter, time) each."""
    return [
        (f"smartMeterMessage/m{i % meters}/readings", sample_reading(f"m{i % meters}", i))
        for i in range(count)
    ]


MALFORMED = [
    ("smartMeterMessage/bad-1/readings", b"{this is not json"),
    ("smartMeterMessage/bad-2/readings", b'{"meterReadingIdentifier": "x-1"}'),  # no time
    ("smartMeterMessage/bad-3/readings", sample_reading("someone-else", 1)),  # wrong meter
    (
        "smartMeterMessage/bad-4/readings",
        sample_reading("bad-4", 1).replace(b"+00:00", b""),  # times without offset (DM-1)
    ),
]


def home_settings(local: Mosquitto, workdir: Path, url: str, **extra: Any) -> EdgeSettings:
    """A no-cloud edge ``home``: local broker, store at ``url``, the household's token."""
    grant = ApiTokenGrant(subject="household", scopes=["operate"])
    return EdgeSettings(
        concentrator_id="home",
        local=MqttSettings(port=local.port),
        store=DatabaseSettings(url=url),
        api=ApiSettings(
            tokens={hash_token(TOKEN): grant}, credentials_file=workdir / "api" / "devices.json"
        ),
        outbox_path=workdir / "outbox.sqlite3",
        http_port=0,
        **extra,
    )


async def wait_subscribed(http: httpx.AsyncClient, timeout: float = 15) -> None:
    """Until the edge's local subscriber is connected (then a moment for its SUBSCRIBE)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                status = (await http.get("/v1/status")).json()
                if status["local"]["connected"]:
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)


async def total_rows(http: httpx.AsyncClient) -> int:
    """``totalRows`` (our extension) of the query for everything."""
    response = await http.post("/v1/meterReadings", json={"pageSize": 1}, headers=AUTH)
    response.raise_for_status()
    return int(response.json()["totalRows"])


async def wait_rows(http: httpx.AsyncClient, count: int, timeout: float) -> None:
    """Until the store holds ``count`` readings, by the query API."""
    async with asyncio.timeout(timeout):
        while await total_rows(http) < count:
            await asyncio.sleep(0.1)


async def query_all(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    """Every reading, page by page (CL-3 paging)."""
    content: list[dict[str, Any]] = []
    page = 0
    while True:
        body = {"pageNumber": page, "pageSize": 1000}
        response = await http.post("/v1/meterReadings", json=body, headers=AUTH)
        response.raise_for_status()
        answer = response.json()
        content.extend(answer["content"])
        page += 1
        if page >= answer["totalPages"]:
            return content


def keys_of(content: list[dict[str, Any]]) -> Counter[tuple[str, datetime]]:
    """How often each (meter, reading time) came back."""
    return Counter((r["meterId"], datetime.fromisoformat(r["readingTime"])) for r in content)


def expected_keys(count: int, meters: int) -> Counter[tuple[str, datetime]]:
    """The (meter, time) of each reading of :func:`readings`, once."""
    return Counter((f"m{i % meters}", T0 + timedelta(seconds=10 * i)) for i in range(count))


def quarantined(url: str) -> list[str]:
    """Topics in the store's quarantine."""
    store = open_store(url)
    try:
        return sorted(entry.topic for entry in store.list_quarantine(limit=1000))
    finally:
        store.close()


def test_no_cloud_edge_stores_readings_and_answers_the_query_api(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """CO-1, CO-2, CO-4, CL-1, CL-3, CL-4, CL-5, CL-6: 2,000 readings of 10 meters and 4 malformed
    messages on the local broker of a no-cloud edge: every valid reading is answered by the
    edge's POST /v1/meterReadings exactly once, the malformed ones are in the store's
    quarantine, the alerts the readings raise stay in the live API without being quarantined,
    and the outbox drains to 0. Without a token the query is refused (401); the bulk form
    streams every reading; /openapi.json describes the live and the query API."""
    count, meters = 2000, 10
    url = f"sqlite:///{tmp_path / 'home.sqlite3'}"
    rule = ThresholdRule(id="high-import", property_id="OBIS_1.7.0", above=1.0)
    settings = home_settings(mosquitto, tmp_path, url, rules=[rule])

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with (
            running_edge(settings) as (_service, port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
            MqttClient(MqttSettings(port=mosquitto.port), client_id="adapters") as pub,
        ):
            await wait_subscribed(http)
            started = time.monotonic()
            await publish_all(pub, [*readings(count, meters), *MALFORMED])
            await wait_rows(http, count, timeout=30)
            out["seconds"] = time.monotonic() - started
            out["content"] = await query_all(http)
            out["anonymous"] = (await http.post("/v1/meterReadings", json={})).status_code
            bulk = await http.post("/v1/meterReadings", json={"resultForm": "bulk"}, headers=AUTH)
            out["bulk"] = (await http.get(bulk.json()["linkToBulk"])).text.splitlines()
            out["paths"] = set((await http.get("/openapi.json")).json()["paths"])
            async with asyncio.timeout(10):
                while (status := (await http.get("/v1/status")).json())["outbox"]["depth"]:
                    await asyncio.sleep(0.05)
            out["status"] = status
            out["alerts"] = (await http.get("/v1/alerts", headers=AUTH)).json()
            out["live"] = (await http.get("/v1/live", headers=AUTH)).json()
            out["ready"] = (await http.get("/readyz")).status_code
        return out

    out = asyncio.run(main())
    print(f"no-cloud edge: {count} readings stored and queryable in {out['seconds']:.2f} s")
    assert keys_of(out["content"]) == expected_keys(count, meters)  # all, exactly once
    first = out["content"][0]
    assert first["meterId"] == "m0"  # the household's own token sees real meter ids
    assert {v["propertyName"] for v in first["propertyValues"]} >= {"OBIS_1.8.0", "OBIS_1.7.0"}
    assert out["anonymous"] == 401
    assert len(out["bulk"]) == count  # CL-5: the bulk link of the mounted API streams them all
    assert {"/v1/meterReadings", "/v1/aggregates", "/v1/live", "/v1/alerts"} <= out["paths"]
    status = out["status"]
    assert status["outbox"]["depth"] == 0
    assert status["sink"]["kind"] == "store"
    assert status["sink"]["connected"]  # the store sink is healthy
    # bad-3 is a valid reading, shown live under its topic's meter, but the cloud's rules
    # (meter of the topic = meter of the payload) keep it out of the store
    assert out["live"]["total"] == meters + 1
    assert len(out["alerts"]["active"]) == meters + 1  # one raised alert per meter
    assert status["messages"]["in"] == count + len(MALFORMED) + meters + 1  # + the alerts
    assert out["ready"] == 200
    assert quarantined(url) == sorted(f"concentrator/home/{topic}" for topic, _ in MALFORMED)


def test_no_cloud_edge_on_postgresql(
    mosquitto: Mosquitto, tmp_path: Path, postgres_url: str
) -> None:
    """CL-1, CL-3, CO-2: the same with the cloud's PostgreSQL store: 500 readings answered
    exactly once, the malformed message quarantined; aggregates answer too."""
    count, meters = 500, 5
    settings = home_settings(mosquitto, tmp_path, postgres_url)

    async def main() -> tuple[list[dict[str, Any]], dict[str, Any]]:
        async with (
            running_edge(settings) as (_service, port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
            MqttClient(MqttSettings(port=mosquitto.port), client_id="adapters") as pub,
        ):
            await wait_subscribed(http)
            await publish_all(pub, [*readings(count, meters), MALFORMED[0]])
            await wait_rows(http, count, timeout=30)
            body = {
                "meterIds": ["m0"],
                "propertyId": "OBIS_1.8.0",
                "interval": "hour",
                "start": T0.isoformat(),
                "end": (T0 + timedelta(hours=2)).isoformat(),
                "functions": ["count"],
            }
            aggregates = await http.post("/v1/aggregates", json=body, headers=AUTH)
            aggregates.raise_for_status()
            return await query_all(http), aggregates.json()

    content, aggregates = asyncio.run(main())
    assert keys_of(content) == expected_keys(count, meters)
    assert sum(bucket["count"] for bucket in aggregates["items"]) == count // meters
    assert quarantined(postgres_url) == [f"concentrator/home/{MALFORMED[0][0]}"]


def home_edge(workdir: Path, local: Mosquitto, url: str) -> EdgeProcess:
    """``omdp edge run`` of a no-cloud edge ``home`` keeping its history in ``url``."""
    doc: dict[str, object] = {
        "concentrator_id": "home",
        "local": {"port": local.port},
        "store": {"url": url},
        "api": {
            "tokens": {hash_token(TOKEN): {"subject": "household", "scopes": ["operate"]}},
            "credentials_file": str(workdir / "api" / "devices.json"),
        },
        "outbox_path": str(workdir / "outbox.sqlite3"),
        "outbox_batch": 500,
    }
    return EdgeProcess(workdir, doc)


def test_no_cloud_edge_sigkill_mid_stream_loses_nothing(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """CO-1, CO-2, CL-1: `omdp edge run` of a no-cloud edge killed with SIGKILL while 3,000
    readings stream in, then restarted: every reading is answered by the query API exactly once
    (nothing lost, replays skipped), nothing quarantined, the outbox drained."""
    count, meters = 3000, 12
    url = f"sqlite:///{tmp_path / 'home.sqlite3'}"
    edge = home_edge(tmp_path, mosquitto, url)
    events: list[str] = []

    async def chaos(http: httpx.AsyncClient) -> None:
        await asyncio.sleep(0.8)
        events.append(f"rows before the kill: {await total_rows(http)}")
        await asyncio.to_thread(edge.kill)
        await asyncio.sleep(0.5)  # the local broker's persistent session holds new readings
        await asyncio.to_thread(edge.start)
        events.append("restarted")

    async def main() -> tuple[list[dict[str, Any]], int]:
        await asyncio.to_thread(edge.start)
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{edge.port}", timeout=10) as http,
            MqttClient(MqttSettings(port=mosquitto.port), client_id="adapters") as pub,
        ):
            await wait_subscribed(http)
            await asyncio.gather(publish_all(pub, readings(count, meters), rate=2000), chaos(http))
            await wait_rows(http, count, timeout=30)
            async with asyncio.timeout(10):
                while (await http.get("/v1/status")).json()["outbox"]["depth"]:
                    await asyncio.sleep(0.05)
            return await query_all(http), (await http.get("/v1/status")).json()["outbox"]["depth"]

    try:
        content, depth = asyncio.run(main())
    finally:
        edge.stop()
    print("; ".join(events))
    assert events[-1] == "restarted"
    assert 0 < int(events[0].rsplit(" ", 1)[1]) < count  # killed mid-stream
    assert keys_of(content) == expected_keys(count, meters)  # none lost, none twice
    assert depth == 0
    assert quarantined(url) == []


def test_no_cloud_edge_enforces_its_retention(mosquitto: Mosquitto, tmp_path: Path) -> None:
    """CL-13 on a no-cloud edge: with ``retention.default_days`` set, readings older than that
    leave the edge's store at the next run of its retention job; recent ones stay."""
    url = f"sqlite:///{tmp_path / 'home.sqlite3'}"
    settings = home_settings(
        mosquitto,
        tmp_path,
        url,
        retention=RetentionSettings(default_days=30, interval_s=0.2),
    )
    now = datetime.now(UTC).replace(microsecond=0)
    old = [
        (
            f"smartMeterMessage/m{i % 3}/readings",
            sample_reading(f"m{i % 3}", i, at=now - timedelta(days=60, minutes=i)),
        )
        for i in range(30)
    ]
    fresh = [
        (
            f"smartMeterMessage/m{i % 3}/readings",
            sample_reading(f"m{i % 3}", 1000 + i, at=now - timedelta(minutes=i)),
        )
        for i in range(20)
    ]

    async def main() -> list[dict[str, Any]]:
        async with (
            running_edge(settings) as (_service, port),
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http,
            MqttClient(MqttSettings(port=mosquitto.port), client_id="adapters") as pub,
        ):
            await wait_subscribed(http)
            await publish_all(pub, [*old, *fresh])
            async with asyncio.timeout(15):
                while (await http.get("/v1/status")).json()["outbox"]["depth"]:
                    await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)  # at least one more retention run after the last commit
            return await query_all(http)

    content = asyncio.run(main())
    times = sorted(datetime.fromisoformat(r["readingTime"]) for r in content)
    assert len(content) == len(fresh)
    assert times[0] >= now - timedelta(minutes=20)
