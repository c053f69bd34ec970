"""Ingest counters and their Prometheus exposition."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from omdp.errors import ConfigError

if TYPE_CHECKING:
    from wsgiref.simple_server import WSGIServer

    from omdp.cloud.settings import IngestSettings

_HELP = {
    "received": "Messages received from the broker.",
    "stored": "Readings stored (new).",
    "duplicates": "Readings skipped because their id was already stored.",
    "quarantined": "Messages put in quarantine.",
    "alerts": "Concentrators' alerts taken (logged and receipted, not stored).",
    "batches": "Batches committed.",
    "errors": "Batch writes that failed and were retried.",
    "quarantine_dropped": "Bad messages dropped because the quarantine was full.",
    "receipts": "Receipts published to concentrators (one per concentrator and batch).",
    "receipt_errors": "Receipts the broker did not take (the edge sends those messages again).",
}


@dataclass(slots=True)
class IngestMetrics:
    """Counters of one ingest process; ``lag_s`` is receipt-to-commit of the last batch."""

    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    alerts: int = 0
    batches: int = 0
    errors: int = 0
    quarantine_dropped: int = 0
    receipts: int = 0
    receipt_errors: int = 0
    lag_s: float = 0.0
    connected: Callable[[], bool] = field(default=lambda: False, repr=False)
    """Whether the ingest's broker connection is up (read at scrape time)."""

    def registry(self) -> CollectorRegistry:
        """A Prometheus registry that reads these counters when scraped."""
        registry = CollectorRegistry(auto_describe=True)
        registry.register(_Collector(self))
        return registry

    def exposition(self) -> bytes:
        """The counters in the Prometheus text format."""
        return generate_latest(self.registry())


class _Collector(Collector):
    def __init__(self, metrics: IngestMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterator[Metric]:
        m = self.metrics
        for name, doc in _HELP.items():
            yield CounterMetricFamily(f"omdp_ingest_{name}", doc, value=getattr(m, name))
        yield GaugeMetricFamily(
            "omdp_ingest_lag_seconds",
            "Seconds from receipt to commit of the last batch.",
            value=m.lag_s,
        )
        yield GaugeMetricFamily(
            "omdp_ingest_connected", "1 when connected to the broker.", value=float(m.connected())
        )
        yield GaugeMetricFamily(
            "omdp_ingest_pending",
            "Messages received and not committed yet (a stalled ingest keeps this above 0).",
            value=m.received
            - m.stored
            - m.duplicates
            - m.quarantined
            - m.quarantine_dropped
            - m.alerts,
        )


def serve_metrics(settings: IngestSettings, metrics: IngestMetrics) -> WSGIServer:
    """Serve ``metrics`` on ``metrics_host:metrics_port`` (loopback unless configured otherwise:
    the counters are for the operator's scraper, not for the network); stop with
    ``shutdown()`` and ``server_close()``."""
    port = settings.metrics_port or 0
    try:
        server, _thread = start_http_server(
            port, addr=settings.metrics_host, registry=metrics.registry()
        )
    except OSError as exc:  # in use (another ingest instance with the same number), no address
        msg = (
            f"ingest.metrics_port: cannot serve metrics on {settings.metrics_host}:{port}: "
            f"{exc.strerror or exc}"
        )
        raise ConfigError(msg) from exc
    return server
