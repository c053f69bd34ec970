"""Counters of the edge, shown as ``/v1/status`` JSON and in Prometheus format on ``/metrics``.

The hot path only increments plain integers; the Prometheus families are built at scrape time
from :meth:`~omdp.edge.service.EdgeService.status`, in a registry of the service's own (so
several services can live in one process, as in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(slots=True)
class EdgeCounters:
    """Plain counters incremented on the hot path."""

    messages_in: int = 0
    malformed: int = 0
    oversized: int = 0
    rejected_topics: int = 0
    backpressure: int = 0
    live_dropped: int = 0
    alerts_raised: int = 0
    alerts_cleared: int = 0


_Keys = tuple[str, ...]
"""The keys leading to a value in the status document."""
_Table = tuple[tuple[str, _Keys, str], ...]
"""Rows of (metric name without prefix, keys of its value, help text)."""

_COUNTERS: _Table = (
    ("messages_in", ("messages", "in"), "Messages made durable in the outbox."),
    ("messages_out", ("messages", "out"), "Messages acknowledged by the sink."),
    ("malformed", ("messages", "malformed"), "Readings that failed validation (forwarded)."),
    ("oversized", ("messages", "oversized"), "Messages above max_message_bytes (dropped)."),
    ("rejected_topics", ("messages", "rejectedTopics"), "Messages on a topic outside contract."),
    ("backpressure", ("outbox", "backpressureEvents"), "Times the full outbox paused intake."),
    ("local_reconnects", ("local", "reconnects"), "Reconnections to the local broker."),
    ("sink_reconnects", ("sink", "reconnects"), "Times the sink came back after a loss."),
    ("alerts_raised", ("alerts", "raised"), "Alerts raised."),
    ("stream_dropped", ("stream", "dropped"), "Live events dropped for slow stream clients."),
)
_GAUGES: _Table = (
    ("outbox_depth", ("outbox", "depth"), "Messages in the outbox."),
    ("outbox_max", ("outbox", "max"), "Capacity of the outbox."),
    ("outbox_bytes", ("outbox", "bytes"), "Payload bytes in the outbox."),
    ("outbox_max_bytes", ("outbox", "maxBytes"), "Capacity of the outbox in payload bytes."),
    ("outbox_oldest_age_seconds", ("outbox", "oldestAgeS"), "Age of the oldest message held."),
    ("inflight", ("messages", "inflight"), "Messages sent to the sink, not acknowledged yet."),
    ("local_connected", ("local", "connected"), "1 when connected to the local broker."),
    ("sink_connected", ("sink", "connected"), "1 when the sink takes messages."),
    ("alerts_active", ("alerts", "active"), "Alerts raised and not cleared."),
    ("stream_clients", ("stream", "subscribers"), "Clients of the live stream."),
)
_CLOUD_COUNTERS: _Table = (
    ("cloud_reconnects", ("cloud", "reconnects"), "Reconnections to the cloud broker."),
    ("receipts", ("sink", "receipts", "receipts"), "Receipts received from the cloud ingest."),
    ("receipted", ("sink", "receipts", "receipted"), "Messages the cloud's receipts settled."),
    (
        "receipt_timeouts",
        ("sink", "receipts", "timeouts"),
        "Messages sent again: no receipt within the timeout.",
    ),
    (
        "cloud_refused",
        ("sink", "receipts", "refused"),
        "Publishes the broker refused or dropped (PUBACK error or no subscribers), sent again.",
    ),
)
_CLOUD_GAUGES: _Table = (
    ("cloud_connected", ("cloud", "connected"), "1 when connected to the cloud broker."),
    ("receipts_pending", ("sink", "receipts", "pending"), "Messages waiting for a receipt."),
    (
        "receipts_oldest_pending_seconds",
        ("sink", "receipts", "oldestPendingAgeS"),
        "Age of the oldest message waiting for its receipt.",
    ),
)
_STORE_COUNTERS: _Table = (
    ("store_readings_stored", ("sink", "stored"), "Readings written into the edge's store."),
    ("store_readings_duplicate", ("sink", "duplicates"), "Replayed readings skipped."),
    ("store_quarantined", ("sink", "quarantined"), "Messages put into the store's quarantine."),
    ("store_alerts_skipped", ("sink", "alertsSkipped"), "Edge alerts acknowledged, not stored."),
    ("store_batches", ("sink", "batches"), "Batches committed to the store."),
    ("store_write_errors", ("sink", "writeErrors"), "Failed writes to the store (retried)."),
)
_BY_KIND: Mapping[str, tuple[_Table, _Table]] = MappingProxyType(
    {"cloud-broker": (_CLOUD_COUNTERS, _CLOUD_GAUGES), "store": (_STORE_COUNTERS, ())}
)
"""The families of one sink kind (counters, gauges), beside those of every edge."""


def _pick(status: dict[str, Any], keys: _Keys) -> float:
    value: Any = status
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else 0.0


class StatusCollector(Collector):
    """Builds the metric families from a status document at each scrape.

    ``sink_info`` names the sink's kind in a label; the ``cloud_*`` families are there only with
    a cloud broker, the ``store_*`` ones only with the edge's own store (no-cloud mode).
    """

    def __init__(self, status: Callable[[], dict[str, Any]], prefix: str = "omdp_edge") -> None:
        self.status = status
        self.prefix = prefix

    def collect(self) -> Iterator[Metric]:
        """Yield one family per counter and gauge of this edge's sink kind."""
        status = self.status()
        kind = str(status.get("sink", {}).get("kind", "cloud-broker"))
        info = GaugeMetricFamily(
            f"{self.prefix}_sink_info", "Where the edge forwards to (kind).", labels=["kind"]
        )
        info.add_metric([kind], 1.0)
        yield info
        counters, gauges = _BY_KIND.get(kind, ((), ()))
        for name, keys, doc in _COUNTERS + counters:
            family = CounterMetricFamily(f"{self.prefix}_{name}", doc)
            family.add_metric([], _pick(status, keys))
            yield family
        for name, keys, doc in _GAUGES + gauges:
            gauge = GaugeMetricFamily(f"{self.prefix}_{name}", doc)
            gauge.add_metric([], _pick(status, keys))
            yield gauge


def prometheus_registry(status: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    """A registry of its own that reports ``status()``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(status))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)
