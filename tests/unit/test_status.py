"""``omdp status`` finds the situations that used to read "all good" (ops, CO-2, CL-1).

The parts answer from canned documents (their real formats: the ingest's and adapter's
Prometheus text, the edge's /v1/status, the API's /v1/meterHealth) through httpx's mock
transport; the counters change between the two reads as a running site's would.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from omdp.ops.status import SiteStatus, Thresholds, gather

TOKEN = "operator-token"  # noqa: S105 - no real secret
LIMITS = Thresholds(sample_s=0.05, max_lag_s=30, max_unreceipted_s=60)


def _ingest(received: int, stored: int, *, connected: int = 1, lag: float = 0.2) -> str:
    return (
        f"omdp_ingest_received_total {received}\nomdp_ingest_stored_total {stored}\n"
        "omdp_ingest_duplicates_total 0\nomdp_ingest_quarantined_total 0\n"
        f"omdp_ingest_errors_total 0\nomdp_ingest_lag_seconds {lag}\n"
        f"omdp_ingest_connected {connected}\n"
    )


class Site:
    """Answers like a site; the n-th read of a metrics URL gets the n-th text of its list."""

    def __init__(self, metrics: dict[str, list[str]], json: dict[str, Any]) -> None:
        self.metrics = metrics
        self.json = json
        self.reads: dict[str, int] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url).split("?")[0]
        if url in self.metrics:
            n = self.reads.get(url, 0)
            self.reads[url] = n + 1
            texts = self.metrics[url]
            return httpx.Response(200, text=texts[min(n, len(texts) - 1)])
        if url.endswith(("/healthz", "/readyz")):
            return httpx.Response(200, json={"status": "ok"})
        if url in self.json:
            return httpx.Response(200, json=self.json[url])
        return httpx.Response(404)


def _run(site: Site, **kwargs: Any) -> SiteStatus:
    return asyncio.run(
        gather(
            token=TOKEN,
            transport=httpx.MockTransport(site),
            limits=LIMITS,
            **{"cloud": None, **kwargs},
        )
    )


def _edge_status(depth: int, age: float, *, receipts: bool = True) -> dict[str, Any]:
    return {
        "concentratorId": "e1",
        "outbox": {"depth": depth, "oldestAgeS": age},
        "sink": {
            "kind": "cloud-broker",
            "connected": True,
            "reconnects": 0,
            "receipts": {"pending": depth, "timeouts": 3} if receipts else None,
        },
        "meters": 4,
    }


def test_one_stalled_and_one_disconnected_ingest_are_problems() -> None:
    """Issue: with two ingests given, one stalled (received, nothing stored) and later one
    disconnected, both are reported; the healthy one's rate is its stored readings a second
    between the two reads, not an average since the start."""
    a, b, c = "http://i1/metrics", "http://i2/metrics", "http://i3/metrics"
    site = Site(
        {
            a: [_ingest(1000, 990), _ingest(1200, 1190)],
            b: [_ingest(500, 400), _ingest(700, 400)],
            c: [_ingest(10, 10, connected=0)],
        },
        {},
    )
    found = _run(site, ingests=[a, b, c])
    assert [i["url"] for i in found.ingests] == [a, b, c]
    rate = found.ingests[0]["readingsPerSecond"]
    assert rate > 1000  # 200 in about 0.05 s
    assert found.ingests[1]["pending"] == 300
    text = "\n".join(found.problems)
    assert f"ingest {b}: stalled: 300 message(s) received and not stored" in text
    assert f"ingest {c}: not connected to the broker" in text
    assert f"ingest {a}" not in text
    assert not found.healthy


def test_unreceipted_readings_and_lag_and_gaps_are_problems() -> None:
    """Issue: readings the cloud never receipted stay in the edge's outbox and age (a loss
    used to count as sent); the newest stored reading 45 s old is lag; a meter with missing
    sequence numbers has gaps; a meter without readings for 5 minutes is silent."""
    now = datetime.now(UTC)
    health = {
        "items": [
            {"meterId": "m1", "lastReadingTime": (now - timedelta(seconds=45)).isoformat(),
             "missingReadings": 16, "readings": 100},
            {"meterId": "m2", "lastReadingTime": (now - timedelta(seconds=600)).isoformat(),
             "missingReadings": 0, "readings": 3},
        ]
    }  # fmt: skip
    site = Site(
        {},
        {
            "http://edge:8081/v1/status": _edge_status(88, 95.0),
            "http://edge:8081/v1/alerts": {"active": []},
            "http://edge2:8081/v1/status": _edge_status(0, 0.0),
            "http://edge2:8081/v1/alerts": {"active": []},
            "http://cloud/v1/meterHealth": health,
        },
    )
    oldest = (now - timedelta(seconds=59)).isoformat()  # 50 readings, 59 s to 45 s ago
    site.json["http://cloud/v1/meterReadings"] = {
        "page": 0, "totalRows": 50,
        "content": [{"readingTime": oldest}],
    }
    found = asyncio.run(
        gather(
            cloud="http://cloud",
            edges=["http://edge:8081", "http://edge2:8081"],
            token=TOKEN,
            transport=httpx.MockTransport(site),
            limits=LIMITS,
        )
    )
    text = "\n".join(found.problems)
    assert "edge e1: 88 reading(s) not yet receipted by the cloud, the oldest for 95 s" in text
    assert "cloud: the newest reading is 45 s old" in text
    assert "meter m1: 16 reading(s) missing in the last 1 h" in text
    assert "1 meter(s) silent" in text
    # 50 readings over the 14 s they span: 3.5 a second, not 50 / the 60 s window (0.83)
    assert found.cloud["readingsPerSecond"] == 3.5
    assert found.cloud["metersWithGaps"] == {"m1": 16}
    assert len(found.edges) == 2
    assert found.edges[1]["oldestUnconfirmedSeconds"] == 0.0


def test_a_good_site_is_all_good_and_adapters_missing_readings_are_not() -> None:
    """A site whose counters move and whose outboxes drain is healthy; an adapter that missed
    readings during the sample is a problem."""
    adapter = "http://a1:9200/metrics"
    good = (
        'omdp_adapter_readings_total{meter="m1"} 10\nomdp_adapter_missed_total{meter="m1"} 0\n'
        'omdp_adapter_last_reading_age_seconds{meter="m1"} 1\n'
        'omdp_adapter_interval_seconds{meter="m1"} 1\n'
    )
    site = Site({"http://i1/metrics": [_ingest(10, 10), _ingest(20, 20)], adapter: [good]}, {})
    found = _run(site, ingests=["http://i1/metrics"], adapters=[adapter])
    assert found.healthy, found.problems
    site = Site(
        {
            adapter: [
                good,
                good.replace('missed_total{meter="m1"} 0', 'missed_total{meter="m1"} 16'),
            ]
        },
        {},
    )
    found = _run(site, adapters=[adapter])
    assert found.problems == [f"adapter {adapter}: missed 16 reading(s) so far, some just now"]


def test_app4_an_ingest_that_took_alerts_is_not_stalled_when_quiet() -> None:
    """APP-4, CL-2: the ingest takes a concentrator's alerts without storing them; counted as
    not handled, one alert made a quiet ingest "stalled: 1 message(s) received and not stored"
    for ever."""
    url = "http://i1/metrics"
    text = _ingest(11, 10) + "omdp_ingest_alerts_total 1\n"
    found = _run(Site({url: [text, text]}, {}), ingests=[url])
    assert found.ingests[0]["pending"] == 0
    assert found.problems == []
