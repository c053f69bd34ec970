"""Finding 1: live data stays inside its household (CL-6, CL-8, CL-14, APP-5, CO-4).

A real site: Mosquitto over TLS with the generated files, adapters publishing with their own
credentials, the edge ``conc-1`` (both households' meters), the cloud API with the app's edge
proxy, and the embedded issuer's password logins. Every live route of the edge and of the proxy
is asked by every kind of caller: nobody, each owner, an owner without meters, a researcher and
an operator; the SSE stream too, and alerts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from click.testing import CliRunner

from omdp.cli.edge_cmd import edge as edge_cli
from omdp.edge.samples import sample_reading
from omdp.edge.settings import EdgeSettings, ThresholdRule
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings
from tests.integration.edge.support import running_edge
from tests.security.site import Site, bearer, cloud_app, login, seed_registry, serving
from tests.support.mosquitto import Mosquitto

pytestmark = pytest.mark.integration

LIVE_PATHS = ("/v1/live", "/v1/live/m-one", "/v1/alerts", "/v1/rules", "/v1/stream")
RULE = ThresholdRule(id="high", property_id="OBIS_1.7.0", above=5.0)


def edge_token(*args: str) -> tuple[str, dict[str, Any]]:
    """A token of ``omdp edge token ARGS`` and its api.tokens entry."""
    result = CliRunner().invoke(edge_cli, ["token", *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    doc = yaml.safe_load(result.output)
    return doc["token"], doc["api"]["tokens"]


def edge_settings(
    site: Site, local: Mosquitto, workdir: Path, cloud_url: str, **extra: Any
) -> EdgeSettings:
    """The edge conc-1: the adapters' ``local`` broker, the site broker as its cloud broker;
    trusting the cloud's issuer."""
    auth = {"external": [{"issuer": cloud_url, "audience": "omdp-edge", "refetch_interval_s": 1}]}
    return EdgeSettings(
        concentrator_id="conc-1",
        local=MqttSettings(port=local.port),
        cloud=site.mqtt("conc-1"),
        outbox_path=workdir / "edge-outbox.sqlite3",
        http_port=0,
        rules=[RULE],
        registry={"url": cloud_url, "client_id": "edge-conc-1", "client_secret": "edge-secret-1"},
        api={"auth": auth, **extra.pop("api", {})},
        **extra,
    )


async def publish(site: Site, meter: str, seq: int, kw: float, local: Mosquitto | None) -> None:
    """One reading of ``meter`` published by its adapter: to the ``local`` broker, or to the
    site broker with its own credentials."""
    settings = MqttSettings(port=local.port) if local else site.mqtt(meter)
    async with MqttClient(settings, client_id=meter) as client:
        at = datetime.now(UTC)
        payload = sample_reading(meter, seq, at=at, import_kw=kw, import_kwh=100.0 + seq)
        await client.publish(f"smartMeterMessage/{meter}/readings", payload)


@contextlib.asynccontextmanager
async def events(
    http: httpx.AsyncClient, url: str, headers: dict[str, str]
) -> AsyncIterator[asyncio.Queue[tuple[str, dict[str, Any]]]]:
    """The events of an SSE stream, put into a queue as they arrive."""
    queue: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
    async with http.stream("GET", url, headers=headers) as response:
        assert response.status_code == 200, await response.aread()

        async def read() -> None:
            name = ""
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    name = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    await queue.put((name, orjson.loads(line.removeprefix("data: "))))

        task = asyncio.create_task(read())
        await asyncio.sleep(0.3)
        try:
            yield queue
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                await task


async def until(queue: asyncio.Queue[tuple[str, dict[str, Any]]], meter: str, kind: str) -> list:
    """Every event up to and including the first ``kind`` event of ``meter``."""
    seen = []
    async with asyncio.timeout(10):
        while True:
            name, doc = await queue.get()
            seen.append((name, doc))
            if name == kind and doc["meterId"] == meter:
                return seen


async def wait_live(
    http: httpx.AsyncClient, headers: dict[str, str], want: set[str], path: str = "/v1/live"
) -> None:
    """Until ``path`` shows the caller a live value of every meter in ``want``."""
    async with asyncio.timeout(15):
        while True:
            r = await http.get(path, headers=headers)
            if r.status_code == 200 and {m["meterId"] for m in r.json()["items"]} >= want:
                return
            await asyncio.sleep(0.1)


def test_cl6_app5_live_data_reaches_only_its_household(site: Site, tmp_path: Path) -> None:
    """CL-6, CL-14, APP-5, CO-4: the edge's live API and stream refuse a caller without a token
    (401), show an owner only their household's meters, readings and alerts (directly with an
    edge token, and through the cloud's app proxy with a login), show an owner without meters
    nothing, refuse a researcher (403) and show an operator everything."""
    site.start_broker()
    local = Mosquitto(tmp_path / "local").start()
    site.users.add(
        "edge-conc-1", "edge-secret-1", role="concentrator", kind="client", household=None
    )
    cloud_url = f"http://127.0.0.1:{site.settings.http_port}"
    owner_token, owner_entry = edge_token("--scope", "readings:read", "--household", "h-one")
    op_token, op_entry = edge_token()
    settings = edge_settings(
        site, local, tmp_path, cloud_url, api={"tokens": owner_entry | op_entry}
    )

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with running_edge(settings) as (_service, edge_port):
            edge_url = f"http://127.0.0.1:{edge_port}"
            async with (
                serving(cloud_app(site, edge_url=edge_url), site.settings.http_port),
                httpx.AsyncClient(base_url=edge_url, timeout=10) as edge,
                httpx.AsyncClient(base_url=cloud_url, timeout=10) as cloud,
            ):
                out["anonymous"] = {p: (await edge.get(p)).status_code for p in LIVE_PATHS}
                out["anonymous_proxy"] = {
                    p: (await cloud.get(f"/app/edge{p}")).status_code for p in LIVE_PATHS
                }
                out["forged"] = (await edge.get("/v1/live", headers=bearer("x.y.z"))).status_code
                tokens = {
                    u: await login(cloud, u) for u in ("alice", "bob", "nora", "rita", "olga")
                }
                await publish(site, "m-two", 1, 7.5, local)  # above the rule: raises for m-two
                await publish(site, "m-one", 1, 7.0, local)
                await wait_live(edge, bearer(op_token), {"m-one", "m-two"})
                proxy = "/app/edge/v1"
                # the edge reads the registry once the cloud answers
                await wait_live(cloud, bearer(tokens["alice"]), {"m-one"}, f"{proxy}/live")
                for user, token in tokens.items():
                    h = bearer(token)
                    out[user] = {
                        "live": await cloud.get(f"{proxy}/live", headers=h),
                        "one": (await cloud.get(f"{proxy}/live/m-one", headers=h)).status_code,
                        "two": (await cloud.get(f"{proxy}/live/m-two", headers=h)).status_code,
                        "alerts": await cloud.get(f"{proxy}/alerts", headers=h),
                    }
                out["rita_stream"] = await cloud.get(
                    f"{proxy}/stream", headers=bearer(tokens["rita"])
                )
                out["edge_owner"] = (await edge.get("/v1/live", headers=bearer(owner_token))).json()
                out["edge_owner_alerts"] = (
                    await edge.get("/v1/alerts", headers=bearer(owner_token))
                ).json()
                out["edge_owner_two"] = (
                    await edge.get("/v1/live/m-two", headers=bearer(owner_token))
                ).status_code
                # streams: alice through the proxy, the edge token directly, bob, the operator
                async with (
                    events(cloud, f"{proxy}/stream", bearer(tokens["alice"])) as alice,
                    events(edge, "/v1/stream", bearer(owner_token)) as direct,
                    events(cloud, f"{proxy}/stream", bearer(tokens["bob"])) as bob,
                    events(cloud, f"{proxy}/stream", bearer(tokens["olga"])) as olga,
                ):
                    await publish(site, "m-two", 2, 8.0, local)
                    await publish(site, "m-one", 2, 1.0, local)  # clears m-one's alert
                    out["alice_events"] = await until(alice, "m-one", "reading")
                    out["direct_events"] = await until(direct, "m-one", "reading")
                    out["bob_events"] = await until(bob, "m-two", "reading")
                    out["olga_events"] = await until(olga, "m-one", "reading")
        return out

    try:
        out = asyncio.run(main())
    finally:
        local.kill()
    assert out["anonymous"] == dict.fromkeys(LIVE_PATHS, 401)
    assert out["anonymous_proxy"] == dict.fromkeys(LIVE_PATHS, 401)
    assert out["forged"] == 401
    alice = out["alice"]
    assert [m["meterId"] for m in alice["live"].json()["items"]] == ["m-one"], alice["live"].text
    assert (alice["one"], alice["two"]) == (200, 404)
    alerts = alice["alerts"].json()
    assert {a["meterId"] for a in alerts["active"] + alerts["recent"]} == {"m-one"}
    assert b"m-two" not in alice["live"].content + alice["alerts"].content
    bob = out["bob"]
    assert [m["meterId"] for m in bob["live"].json()["items"]] == ["m-two"]
    assert (bob["one"], bob["two"]) == (404, 200)
    assert out["nora"]["live"].json() == {"items": [], "total": 0}
    assert out["nora"]["alerts"].json() == {"active": [], "recent": []}
    rita = out["rita"]
    assert (rita["live"].status_code, rita["one"], rita["alerts"].status_code) == (403, 403, 403)
    assert out["rita_stream"].status_code == 403
    olga = out["olga"]
    assert {m["meterId"] for m in olga["live"].json()["items"]} == {"m-one", "m-two"}
    assert [m["meterId"] for m in out["edge_owner"]["items"]] == ["m-one"]
    assert out["edge_owner_two"] == 404
    owner_alerts = out["edge_owner_alerts"]
    assert {a["meterId"] for a in owner_alerts["active"] + owner_alerts["recent"]} == {"m-one"}
    for who in ("alice_events", "direct_events"):
        assert {doc["meterId"] for _name, doc in out[who]} == {"m-one"}, who
    assert {doc["meterId"] for _name, doc in out["bob_events"]} == {"m-two"}
    assert {doc["meterId"] for _name, doc in out["olga_events"]} == {"m-one", "m-two"}


def test_cl6_app5_no_cloud_edge_live_api_by_household(site: Site, tmp_path: Path) -> None:
    """CL-6, CL-14, APP-5, CO-4, no-cloud mode (the edge keeps the history in its own store):
    the live API takes the tokens of `omdp edge token`, places meters by the store's registry,
    shows a household token only its meters, refuses a token without household or operate (403)
    and one without token (401); a meter moved to another household follows without a restart.
    """
    site.start_broker()
    store_url = f"sqlite:///{tmp_path / 'edge-store.sqlite3'}"
    owner_token, owner_entry = edge_token("--scope", "readings:read", "--household", "h-one")
    reader_token, reader_entry = edge_token("--scope", "readings:read")
    op_token, op_entry = edge_token()
    settings = EdgeSettings(
        concentrator_id="conc-1",
        local=site.mqtt("conc-1", client_id="conc-1-local"),
        store={"url": store_url},
        outbox_path=tmp_path / "edge-outbox.sqlite3",
        http_port=0,
        api={"tokens": owner_entry | reader_entry | op_entry},
    )

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with running_edge(settings) as (service, port):
            store = service.sink.store  # type: ignore[attr-defined]
            seed_registry(store)
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as edge:
                out["anonymous"] = {p: (await edge.get(p)).status_code for p in LIVE_PATHS}
                await publish(site, "m-one", 1, 1.0, None)
                await publish(site, "m-two", 1, 2.0, None)
                await wait_live(edge, bearer(op_token), {"m-one", "m-two"})
                await wait_live(edge, bearer(owner_token), {"m-one"})
                out["owner"] = (await edge.get("/v1/live", headers=bearer(owner_token))).json()
                out["reader"] = (
                    await edge.get("/v1/live", headers=bearer(reader_token))
                ).status_code
                out["reader_stream"] = (
                    await edge.get("/v1/stream", headers=bearer(reader_token))
                ).status_code
                moved = store.get_meter("m-two").model_copy(update={"household_id": "h-one"})
                store.put_meter(moved)  # an operator moves m-two into h-one
                await wait_live(edge, bearer(owner_token), {"m-one", "m-two"})
        return out

    out = asyncio.run(main())
    assert out["anonymous"] == dict.fromkeys(LIVE_PATHS, 401)
    assert [m["meterId"] for m in out["owner"]["items"]] == ["m-one"]
    assert (out["reader"], out["reader_stream"]) == (403, 403)
