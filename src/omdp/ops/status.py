"""What ``omdp status`` gathers from a running site, over the parts' own HTTP interfaces.

Every part is asked concurrently; counters are read twice, ``sample_s`` seconds apart, so that
rates are those of the last seconds and a stall shows as received-but-not-stored:

- **cloud API** (``--cloud``): ``/healthz``, ``/readyz``; with a token, readings of the last
  ``rate_window_s`` (the rate over the time they span, by reading time), the newest reading
  (lag = now minus its time) and ``GET /v1/meterHealth`` (meters silent for ``silent_s``, gaps
  in sequence numbers over the last ``gap_hours``);
- **ingests** (``--ingest``, any number, each its ``ingest.metrics_port`` URL): connected to the
  broker, readings stored a second, messages received and not committed (``pending``; stalled
  when that stays above 0 while nothing is committed), commit lag, quarantine;
- **edges** (``--edge``, any number): ``/healthz``, ``/readyz``, ``/v1/status`` (sink link, the
  outbox's depth and the age of its oldest message, that is the oldest reading the cloud has
  not receipted), ``/v1/alerts`` (a live route: it needs a token the edge accepts, the
  ``edge_token``; the cloud's token is not one, and alerts that cannot be read are a problem,
  never "none");
- **adapters** (``--adapter``, any number, each ``omdp adapter run --metrics-port``): readings,
  missed readings, outbox depth and age, time since the last reading.

A part that does not answer is a problem, not an exception. :attr:`SiteStatus.problems` lists
every finding; ``omdp status`` exits 1 when there is any.
"""

from __future__ import annotations

import asyncio
import math
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a figure becomes a problem."""

    max_lag_s: float = 60.0
    """Newest stored reading older than this, or an ingest's commit lag above it."""
    max_unreceipted_s: float = 120.0
    """An edge's (or adapter's) oldest reading not confirmed by the next hop for longer."""
    silent_s: float = 300.0
    """A meter without a reading for longer is silent."""
    gap_hours: float = 1.0
    """The window in which missing sequence numbers count as gaps."""
    rate_window_s: float = 60.0
    """The cloud's rate: readings of this many last seconds (by reading time)."""
    sample_s: float = 5.0
    """Counters are read twice, this far apart: rates and stalls."""


@dataclass(slots=True)
class SiteStatus:
    """Everything ``omdp status`` shows; ``problems`` lists what did not answer or is wrong."""

    cloud: dict[str, Any] = field(default_factory=dict)
    ingests: list[dict[str, Any]] = field(default_factory=list)
    edges: list[dict[str, Any]] = field(default_factory=list)
    adapters: list[dict[str, Any]] = field(default_factory=list)
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
            "ingests": self.ingests,
            "edges": self.edges,
            "adapters": self.adapters,
            "problems": self.problems,
        }


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


async def _probe(client: httpx.AsyncClient, url: str, status: SiteStatus, what: str) -> bool:
    try:
        answer = await client.get(url)
    except httpx.HTTPError as exc:
        status.problems.append(f"{what}: {url} does not answer ({_why(exc)})")
        return False
    if answer.status_code != 200:
        status.problems.append(f"{what}: {url} answered {answer.status_code}")
        return False
    return True


def _why(exc: Exception) -> str:
    """The error's kind and text: a refused certificate reads as such, not as "ConnectError"."""
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


Sample = tuple[float, dict[str, float]]
"""When a metrics page was read (monotonic seconds), and its values by name."""


def _answered(
    what: str, url: str, samples: tuple[Sample | None, Sample | None], status: SiteStatus
) -> tuple[Sample, Sample, dict[str, Any]] | None:
    """The two reads of a metrics page and the part's entry (added to ``status``), or None
    when either read failed (a problem is noted)."""
    entry: dict[str, Any] = {"url": url}
    getattr(status, f"{what}s").append(entry)
    first, second = samples
    if first is None or second is None:
        status.problems.append(f"{what}: {url} does not answer")
        return None
    return first, second, entry


async def _metrics(client: httpx.AsyncClient, url: str) -> Sample | None:
    try:
        answer = await client.get(url)
        answer.raise_for_status()
    except httpx.HTTPError:
        return None
    return time.monotonic(), parse_prometheus(answer.text)


# -- cloud ------------------------------------------------------------------------------------


async def _readings(
    client: httpx.AsyncClient, api: str, body: dict[str, Any], headers: dict[str, str]
) -> dict[str, Any]:
    answer = await client.post(f"{api}/v1/meterReadings", json=body, headers=headers)
    answer.raise_for_status()
    result: dict[str, Any] = answer.json()
    return result


async def _cloud(
    client: httpx.AsyncClient,
    api: str,
    status: SiteStatus,
    now: datetime,
    limits: Thresholds,
    *,
    headers: dict[str, str],
) -> None:
    c = status.cloud
    c["url"] = api
    c["live"] = await _probe(client, f"{api}/healthz", status, "cloud API")
    c["ready"] = c["live"] and await _probe(client, f"{api}/readyz", status, "cloud store")
    if not c["ready"] or not headers:
        return
    since = (now - timedelta(seconds=limits.rate_window_s)).isoformat()
    try:
        recent = await _readings(client, api, {"readingTimeStart": since, "pageSize": 1}, headers)
        health = await client.get(
            f"{api}/v1/meterHealth", params={"hours": limits.gap_hours}, headers=headers
        )
        health.raise_for_status()
        meters = health.json().get("items", [])
    except (httpx.HTTPError, ValueError) as exc:
        status.problems.append(f"cloud API: query refused or failed ({exc})")
        return
    total = int(recent.get("totalRows", 0))
    times = [m.get("lastReadingTime") for m in meters]
    newest = [datetime.fromisoformat(t) for t in times if t]
    c["readingsPerSecond"] = _rate(total, recent.get("content") or [], newest)
    if newest:
        lag = max((now - max(newest)).total_seconds(), 0.0)
        c["lagSeconds"] = round(lag, 1)
        if lag > limits.max_lag_s:
            status.problems.append(
                f"cloud: the newest reading is {lag:.0f} s old (more than {limits.max_lag_s:g} s)"
            )
    silent = [
        m["meterId"]
        for m in meters
        if not m.get("lastReadingTime")
        or (now - datetime.fromisoformat(m["lastReadingTime"])).total_seconds() > limits.silent_s
    ]
    gaps = {m["meterId"]: m["missingReadings"] for m in meters if m.get("missingReadings")}
    c["meters"] = len(meters)
    c["silentMeters"] = silent
    c["metersWithGaps"] = gaps
    if silent:
        status.problems.append(f"{len(silent)} meter(s) silent for {limits.silent_s:g} s")
    for meter, missing in gaps.items():
        status.problems.append(
            f"meter {meter}: {missing} reading(s) missing in the last {limits.gap_hours:g} h "
            "(gaps in its sequence numbers)"
        )


def _rate(total: int, first_page: list[dict[str, Any]], newest: list[datetime]) -> float:
    """Readings a second between the oldest and the newest reading of the window: over the
    time they span, not over the whole window (a site that started 10 s ago at 1 reading a
    second has a rate of 1, not 10 / 60)."""
    if total < 2 or not first_page or not newest:
        return 0.0
    oldest = datetime.fromisoformat(first_page[0]["readingTime"])
    span = (max(newest) - oldest).total_seconds()
    return round((total - 1) / span, 2) if span > 0 else 0.0


# -- ingests ----------------------------------------------------------------------------------


def _counter(m: dict[str, float], name: str) -> float:
    return m.get(f"omdp_ingest_{name}_total", m.get(f"omdp_ingest_{name}", 0.0))


def _ingest(
    url: str, samples: tuple[Sample | None, Sample | None], status: SiteStatus, limits: Thresholds
) -> None:
    answered = _answered("ingest", url, samples, status)
    if answered is None:
        return
    (t0, a), (t1, b), entry = answered
    span = max(t1 - t0, 1e-3)

    def handled(m: dict[str, float]) -> float:  # alerts are taken, not stored (ingest.py)
        return sum(_counter(m, n) for n in ("stored", "duplicates", "quarantined", "alerts"))

    received = _counter(b, "received")
    pending = received - handled(b)
    committed = handled(b) - handled(a)
    entry.update(
        {
            "connected": bool(b.get("omdp_ingest_connected", 0.0)),
            "received": received,
            "stored": _counter(b, "stored"),
            "readingsPerSecond": round((_counter(b, "stored") - _counter(a, "stored")) / span, 2),
            "receivedPerSecond": round((received - _counter(a, "received")) / span, 2),
            "pending": pending,
            "quarantined": _counter(b, "quarantined"),
            "writeErrors": _counter(b, "errors"),
            "lagSeconds": b.get("omdp_ingest_lag_seconds"),
        }
    )
    if "omdp_ingest_connected" in b and not entry["connected"]:
        status.problems.append(f"ingest {url}: not connected to the broker")
    if pending > 0 and committed == 0 and handled(a) < received:
        status.problems.append(
            f"ingest {url}: stalled: {pending:g} message(s) received and not stored for "
            f"{span:.0f} s ({entry['writeErrors']:g} failed writes so far)"
        )
    lag = entry["lagSeconds"]
    if committed and lag is not None and lag > limits.max_lag_s:
        status.problems.append(f"ingest {url}: commit lag {lag:.0f} s")
    if entry["quarantined"]:
        status.problems.append(f"ingest {url}: {entry['quarantined']:g} message(s) in quarantine")


# -- edges and adapters -----------------------------------------------------------------------


async def _edge(
    client: httpx.AsyncClient,
    url: str,
    status: SiteStatus,
    limits: Thresholds,
    headers: dict[str, str],
) -> None:
    e: dict[str, Any] = {"url": url}
    status.edges.append(e)
    e["live"] = await _probe(client, f"{url}/healthz", status, "edge")
    e["ready"] = e["live"] and await _probe(client, f"{url}/readyz", status, "edge readiness")
    if not e["live"]:
        return
    try:
        state = (await client.get(f"{url}/v1/status")).json()
        answer = await client.get(f"{url}/v1/alerts", headers=headers)
        alerts = answer.json() if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError) as exc:
        status.problems.append(f"edge {url}: status not readable ({exc})")
        return
    if alerts is None:
        hint = (
            "give a token of the edge's with --edge-token (omdp edge token)"
            if answer.status_code in (401, 403)
            else "see the edge's log"
        )
        status.problems.append(
            f"edge {url}: alerts not readable (HTTP {answer.status_code}): {hint}"
        )
    readable = alerts is not None
    name = state.get("concentratorId", url)
    outbox = state.get("outbox", {})
    sink = state.get("sink") or {"kind": "cloud-broker", **state.get("cloud", {})}
    receipts = sink.get("receipts")
    e.update(
        {
            "concentratorId": name,
            "sink": sink.get("kind"),
            "connected": sink.get("connected"),
            "receipts": receipts is not None,
            "outboxDepth": outbox.get("depth"),
            "oldestUnconfirmedSeconds": outbox.get("oldestAgeS"),
            "meters": state.get("meters"),
            "activeAlerts": [
                f"{a.get('ruleId', '?')}: {a.get('meterId', '')} {a.get('message', '')}"
                for a in (alerts or {}).get("active", [])
            ]
            if readable
            else None,
        }
    )
    if receipts is not None:
        e["receiptTimeouts"] = receipts.get("timeouts")
    if not e["connected"]:
        where = "the cloud broker" if e["sink"] == "cloud-broker" else "its store"
        status.problems.append(f"edge {name}: not connected to {where}")
    age = float(outbox.get("oldestAgeS") or 0.0)
    if age > limits.max_unreceipted_s:
        what = "receipted by the cloud" if receipts is not None else "acknowledged by its sink"
        status.problems.append(
            f"edge {name}: {outbox.get('depth')} reading(s) not yet {what}, the oldest for "
            f"{age:.0f} s"
        )
    if e["activeAlerts"]:
        status.problems.append(f"edge {name}: {len(e['activeAlerts'])} active alert(s)")


def _adapter(
    url: str, samples: tuple[Sample | None, Sample | None], status: SiteStatus, limits: Thresholds
) -> None:
    answered = _answered("adapter", url, samples, status)
    if answered is None:
        return
    (_, a), (_, b), entry = answered
    missed = b.get("omdp_adapter_missed_total", 0.0)
    interval = b.get("omdp_adapter_interval_seconds")
    last = b.get("omdp_adapter_last_reading_age_seconds")
    age = b.get("omdp_adapter_outbox_oldest_age_seconds", 0.0)
    entry.update(
        {
            "readings": b.get("omdp_adapter_readings_total"),
            "missed": missed,
            "sequence": b.get("omdp_adapter_sequence"),
            "outboxDepth": b.get("omdp_adapter_outbox_depth"),
            "oldestUnconfirmedSeconds": age,
            "lastReadingSeconds": last,
        }
    )
    if missed > a.get("omdp_adapter_missed_total", 0.0):
        status.problems.append(f"adapter {url}: missed {missed:g} reading(s) so far, some just now")
    quiet = max(3 * interval, limits.silent_s) if interval else limits.silent_s
    if last is None or last > quiet:
        status.problems.append(f"adapter {url}: no reading for {last or 0:.0f} s")
    if age > limits.max_unreceipted_s:
        status.problems.append(
            f"adapter {url}: {b.get('omdp_adapter_outbox_depth', 0):g} reading(s) not yet taken "
            f"by the edge, the oldest for {age:.0f} s"
        )


async def gather(
    *,
    cloud: str | None,
    edges: Sequence[str] = (),
    ingests: Sequence[str] = (),
    adapters: Sequence[str] = (),
    token: str | None,
    timeout: float = 5.0,
    limits: Thresholds | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
    edge_token: str | None = None,
    ca_file: Path | None = None,
) -> SiteStatus:
    """Ask every given part how it is; never raises for a part that does not answer.

    ``token`` is the cloud API's, ``edge_token`` one the edges accept (their live routes;
    default ``token``, which the demo's edge takes); neither goes to a metrics port;
    ``ca_file`` the CA that HTTPS answers must chain to (a site's own CA) instead of the
    system's. ``transport`` replaces the network (tests answer from canned documents).
    """
    limits = limits or Thresholds()
    status = SiteStatus()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    edge_token = edge_token or token
    edge_headers = {"Authorization": f"Bearer {edge_token}"} if edge_token else {}
    verify: ssl.SSLContext | bool = (
        ssl.create_default_context(cafile=str(ca_file)) if ca_file is not None else True
    )
    now = datetime.now(UTC)
    sampled = [*ingests, *adapters]
    async with httpx.AsyncClient(timeout=timeout, transport=transport, verify=verify) as client:
        started = time.monotonic()
        first = await asyncio.gather(*(_metrics(client, url) for url in sampled))
        jobs = [_edge(client, url.rstrip("/"), status, limits, edge_headers) for url in edges]
        if cloud:
            jobs.append(_cloud(client, cloud.rstrip("/"), status, now, limits, headers=headers))
        await asyncio.gather(*jobs)
        if sampled:
            await asyncio.sleep(max(0.0, started + limits.sample_s - time.monotonic()))
        second = await asyncio.gather(*(_metrics(client, url) for url in sampled))
    for n, url in enumerate(ingests):
        _ingest(url, (first[n], second[n]), status, limits)
    for n, url in enumerate(adapters, start=len(ingests)):
        _adapter(url, (first[n], second[n]), status, limits)
    return status
