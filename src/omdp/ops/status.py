"""What ``omdp status`` gathers from a running site, over the parts' own HTTP interfaces.

- **cloud API** (``--cloud``): ``/healthz``, ``/readyz``; with a token, the registry's meters
  (``GET /v1/meterIndividuals``) and readings of the last minutes (``POST /v1/meterReadings``):
  the ingest rate (readings a second over the window, by reading time), the lag (now minus the
  newest reading's time) and the meters without a reading in the window (silent);
- **ingest** (``--ingest``, its ``ingest.metrics_port``): Prometheus counters, of which the
  quarantine size (``omdp_ingest_quarantined``) and the commit lag (``omdp_ingest_lag_seconds``);
- **edge** (``--edge``): ``/healthz``, ``/readyz``, ``/v1/status`` (outbox depth and the age of
  its oldest message, connections) and ``/v1/alerts`` (active alerts).

Every probe has a timeout; a part that does not answer is reported, not raised.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

WINDOW_S = 300
"""Readings of the last five minutes make the rate and tell silent meters."""


@dataclass(slots=True)
class SiteStatus:
    """Everything ``omdp status`` shows; ``problems`` lists what did not answer or is wrong."""

    cloud: dict[str, Any] = field(default_factory=dict)
    ingest: dict[str, Any] = field(default_factory=dict)
    edge: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No problem found."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (``--json``)."""
        return {
            "healthy": self.healthy,
            "cloud": self.cloud,
            "ingest": self.ingest,
            "edge": self.edge,
            "problems": self.problems,
        }


async def _probe(client: httpx.AsyncClient, url: str, status: SiteStatus, what: str) -> bool:
    try:
        answer = await client.get(url)
    except httpx.HTTPError as exc:
        status.problems.append(f"{what}: {url} does not answer ({type(exc).__name__})")
        return False
    if answer.status_code != 200:
        status.problems.append(f"{what}: {url} answered {answer.status_code}")
        return False
    return True


async def _readings(client: httpx.AsyncClient, api: str, body: dict[str, Any]) -> dict[str, Any]:
    answer = await client.post(f"{api}/v1/meterReadings", json=body)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


async def _cloud(client: httpx.AsyncClient, api: str, status: SiteStatus, now: datetime) -> None:
    c = status.cloud
    c["url"] = api
    c["live"] = await _probe(client, f"{api}/healthz", status, "cloud API")
    c["ready"] = c["live"] and await _probe(client, f"{api}/readyz", status, "cloud store")
    if not c["ready"] or "authorization" not in client.headers:
        return
    since = (now - timedelta(seconds=WINDOW_S)).isoformat()
    try:
        meters = (await client.get(f"{api}/v1/meterIndividuals", params={"limit": 1000})).json()
        recent = await _readings(client, api, {"readingTimeStart": since, "pageSize": 1})
    except (httpx.HTTPError, ValueError) as exc:
        status.problems.append(f"cloud API: query refused or failed ({exc})")
        return
    total = int(recent.get("totalRows", 0))
    c["readingsPerSecond"] = round(total / WINDOW_S, 2)
    if total:
        last = await _readings(
            client, api, {"readingTimeStart": since, "pageSize": 1, "pageNumber": total - 1}
        )
        newest = datetime.fromisoformat(last["content"][0]["readingTime"])
        c["lagSeconds"] = round(max((now - newest).total_seconds(), 0.0), 1)
    ids = [m["meterIndividualId"] for m in meters.get("items", [])]
    silent = []
    for meter in ids:
        got = await _readings(
            client, api, {"readingTimeStart": since, "pageSize": 1, "meterIds": [meter]}
        )
        if not got.get("totalRows"):
            silent.append(meter)
    c["meters"] = len(ids)
    c["silentMeters"] = silent
    if silent:
        status.problems.append(f"{len(silent)} meter(s) silent for {WINDOW_S // 60} min")


def parse_prometheus(text: str) -> dict[str, float]:
    """Sample values of a Prometheus text exposition, by metric name (labels dropped, summed)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0]
        try:
            number = float(value)
        except ValueError:
            continue
        if math.isfinite(number):
            values[name] = values.get(name, 0.0) + number
    return values


async def _ingest(client: httpx.AsyncClient, url: str, status: SiteStatus) -> None:
    try:
        answer = await client.get(url)
        answer.raise_for_status()
    except httpx.HTTPError as exc:
        status.problems.append(f"ingest: {url} does not answer ({type(exc).__name__})")
        return
    m = parse_prometheus(answer.text)
    status.ingest = {
        "url": url,
        "received": m.get("omdp_ingest_received_total", m.get("omdp_ingest_received")),
        "stored": m.get("omdp_ingest_stored_total", m.get("omdp_ingest_stored")),
        "quarantined": m.get("omdp_ingest_quarantined_total", m.get("omdp_ingest_quarantined")),
        "lagSeconds": m.get("omdp_ingest_lag_seconds"),
    }
    if status.ingest["quarantined"]:
        status.problems.append(f"{status.ingest['quarantined']:g} message(s) in quarantine")


async def _edge(client: httpx.AsyncClient, url: str, status: SiteStatus) -> None:
    e = status.edge
    e["url"] = url
    e["live"] = await _probe(client, f"{url}/healthz", status, "edge")
    e["ready"] = e["live"] and await _probe(client, f"{url}/readyz", status, "edge readiness")
    if not e["live"]:
        return
    try:
        state = (await client.get(f"{url}/v1/status")).json()
        alerts = (await client.get(f"{url}/v1/alerts")).json()
    except (httpx.HTTPError, ValueError) as exc:
        status.problems.append(f"edge: status not readable ({exc})")
        return
    outbox = state.get("outbox", {})
    e["outboxDepth"] = outbox.get("depth")
    e["outboxOldestAgeSeconds"] = outbox.get("oldestAgeS")
    sink = state.get("sink") or {"kind": "cloud-broker", **state.get("cloud", {})}
    e["sink"] = sink.get("kind")
    e["cloudConnected"] = sink.get("connected")
    e["meters"] = state.get("meters")
    e["activeAlerts"] = [
        f"{a.get('ruleId', '?')}: {a.get('meterId', '')} {a.get('message', '')}"
        for a in alerts.get("active", [])
    ]
    if not e["cloudConnected"]:
        where = "the cloud broker" if e["sink"] == "cloud-broker" else "its store"
        status.problems.append(f"edge: not connected to {where}")
    if e["activeAlerts"]:
        status.problems.append(f"{len(e['activeAlerts'])} active alert(s) at the edge")


async def gather(
    *,
    cloud: str | None,
    edge: str | None,
    ingest: str | None,
    token: str | None,
    timeout: float = 5.0,
) -> SiteStatus:
    """Ask every given part how it is; never raises for a part that does not answer."""
    status = SiteStatus()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    now = datetime.now(UTC)
    async with httpx.AsyncClient(timeout=timeout, headers=headers) as client:
        jobs = []
        if cloud:
            jobs.append(_cloud(client, cloud.rstrip("/"), status, now))
        if ingest:
            jobs.append(_ingest(client, ingest, status))
        if edge:
            jobs.append(_edge(client, edge.rstrip("/"), status))
        await asyncio.gather(*jobs)
    return status
