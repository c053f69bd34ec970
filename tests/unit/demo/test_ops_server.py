"""The ops endpoint of processes without an HTTP API (ingest, adapter)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import httpx

from omdp.cloud.metrics import IngestMetrics
from omdp.ops.server import OpsServer, adapter_registry


def test_health_readiness_and_metrics() -> None:
    metrics = IngestMetrics(received=5, stored=4, quarantined=1)
    ready = {"now": False}

    async def main() -> list[tuple[int, str]]:
        async with OpsServer(metrics.registry(), ready=lambda: ready["now"]) as ops:
            base = f"http://127.0.0.1:{ops.port}"
            async with httpx.AsyncClient(base_url=base, timeout=5) as client:
                got = []
                for path in ("/healthz", "/readyz", "/metrics", "/nope"):
                    r = await client.get(path)
                    got.append((r.status_code, r.text))
                ready["now"] = True
                got.append(((await client.get("/readyz")).status_code, ""))
                post = await client.post("/metrics")
                got.append((post.status_code, ""))
                return got

    got = asyncio.run(main())
    assert [s for s, _ in got] == [200, 503, 200, 404, 200, 405]
    assert "omdp_ingest_stored_total 4.0" in got[2][1]


def test_adapter_registry_reads_the_adapter_counters() -> None:
    adapter = SimpleNamespace(
        stats=SimpleNamespace(readings=7, dropped_full=0, unmapped=2),
        config=SimpleNamespace(meter_individual_id="m-1"),
        outbox=SimpleNamespace(depth=lambda: 3),
    )
    from prometheus_client import generate_latest

    text = generate_latest(adapter_registry(adapter)).decode()
    assert 'omdp_adapter_readings_total{meter="m-1"} 7.0' in text
    assert 'omdp_adapter_outbox_depth{meter="m-1"} 3.0' in text
