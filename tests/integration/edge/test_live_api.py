"""The edge's live API, stream and alerts against real brokers (CO-4, APP-1, APP-4)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from tests.integration.edge.support import Collector, edge_settings, running_edge
from tests.support.mosquitto import Mosquitto

from omdp.auth.principal import hash_token
from omdp.auth.settings import ApiTokenGrant
from omdp.cloud.api.settings import ApiSettings
from omdp.edge.samples import sample_reading
from omdp.edge.settings import ThresholdRule
from omdp.mqtt import MqttClient
from omdp.mqtt.settings import MqttSettings

pytestmark = pytest.mark.integration

TOKEN = "edge-operator-token"  # noqa: S105 - a test token
GRANT = ApiTokenGrant(subject="operator", scopes=["operate"])


async def _events(response: httpx.Response, wanted: int) -> list[tuple[str, Any, float]]:
    events: list[tuple[str, Any, float]] = []
    name = ""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, orjson.loads(line.removeprefix("data: ")), time.monotonic()))
            if len(events) >= wanted:
                break
    return events


def test_live_values_stream_and_alert_within_a_second(
    mosquitto_factory: type[Mosquitto], tmp_path: Path
) -> None:
    """APP-1, APP-4, CO-4: a simulated meter's reading shows on /v1/live and the SSE stream
    within a second; a threshold rule raises an alert seen on the stream, /v1/alerts and the
    cloud topic concentrator/e1/alerts/{ruleId}/{meterId}; /v1/rules lists the rule.
    """
    local = mosquitto_factory("local").start()
    cloud = mosquitto_factory("cloud").start()
    rule = ThresholdRule(id="high-import", property_id="OBIS_1.7.0", above=5.0)
    now = datetime.now(UTC)
    payload = sample_reading("sim-1", 1, at=now, import_kw=7.5, import_kwh=1234.5)

    async def main() -> dict[str, Any]:
        settings = edge_settings(
            local,
            cloud,
            tmp_path,
            rules=[rule],
            timezone="Europe/Brussels",
            api=ApiSettings(tokens={hash_token(TOKEN): GRANT}),
        )
        out: dict[str, Any] = {}
        async with (
            Collector(cloud) as collector,
            running_edge(settings) as (_service, port),
            httpx.AsyncClient(
                base_url=f"http://127.0.0.1:{port}",
                timeout=5,
                headers={"Authorization": f"Bearer {TOKEN}"},
            ) as http,
            MqttClient(MqttSettings(port=local.port), client_id="sim") as pub,
        ):
            async with http.stream("GET", "/v1/stream") as response:
                out["content_type"] = response.headers["content-type"]
                listening = asyncio.create_task(_events(response, 2))
                await asyncio.sleep(0.2)
                published = time.monotonic()
                await pub.publish("smartMeterMessage/sim-1/readings", payload)
                out["events"] = await asyncio.wait_for(listening, 5)
                out["published"] = published
            live = (await http.get("/v1/live/sim-1")).json()
            out["live_latency"] = time.monotonic() - published
            out["live"] = live
            out["all"] = (await http.get("/v1/live")).json()
            out["alerts"] = (await http.get("/v1/alerts")).json()
            out["rules"] = (await http.get("/v1/rules")).json()
            out["missing"] = (await http.get("/v1/live/nope")).status_code
            out["metrics"] = (await http.get("/metrics")).text
            out["status"] = (await http.get("/v1/status")).json()
            out["health"] = (await http.get("/healthz")).status_code
            out["ready"] = (await http.get("/readyz")).status_code
            await collector.wait_for(lambda got: len(got) >= 2, timeout=10)
            out["cloud"] = [(m.topic, m.payload) for m in collector.messages]
        return out

    out = asyncio.run(main())
    assert out["content_type"].startswith("text/event-stream")
    (kind1, alert, _t1), (kind2, reading, t2) = sorted(out["events"], key=lambda e: e[0])
    assert (kind1, kind2) == ("alert", "reading")
    assert t2 - out["published"] < 1.0, "the stream shows the reading within a second"
    assert reading["meterId"] == "sim-1"
    assert reading["importPowerKw"] == 7.5
    assert alert["state"] == "raised"
    assert (alert["ruleId"], alert["meterId"], alert["value"], alert["threshold"]) == (
        "high-import",
        "sim-1",
        7.5,
        5.0,
    )
    live = out["live"]
    assert live["importPowerKw"] == 7.5
    assert live["exportPowerKw"] == 0.0
    assert live["today"]["timezone"] == "Europe/Brussels"
    assert live["reading"]["meterReadingIdentifier"] == "sim-1-000000001"
    assert out["all"]["total"] == 1
    assert out["missing"] == 404
    assert [a["ruleId"] for a in out["alerts"]["active"]] == ["high-import"]
    assert out["rules"] == {  # APP-4: the configured rules, as the app shows them
        "items": [
            {
                "id": "high-import",
                "kind": "threshold",
                "propertyId": "OBIS_1.7.0",
                "above": 5.0,
                "durationS": 0.0,
            }
        ],
        "total": 1,
    }
    assert out["alerts"]["recent"][0]["state"] == "raised"
    assert "omdp_edge_messages_in_total 2.0" in out["metrics"]
    assert "omdp_edge_outbox_depth" in out["metrics"]
    assert out["status"]["messages"]["in"] == 2  # the reading and the alert
    assert (out["health"], out["ready"]) == (200, 200)
    topics = dict(out["cloud"])
    assert topics["concentrator/e1/smartMeterMessage/sim-1/readings"] == payload
    cloud_alert = orjson.loads(topics["concentrator/e1/alerts/high-import/sim-1"])
    assert cloud_alert["state"] == "raised"
    assert set(cloud_alert) == {
        "ruleId",
        "meterId",
        "state",
        "value",
        "threshold",
        "since",
        "at",
        "message",
    }
