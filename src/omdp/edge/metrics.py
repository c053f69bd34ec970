"""Counters of the edge, shown as ``/v1/status`` JSON and in Prometheus format on ``/metrics``.

The hot path only increments plain integers; the Prometheus families are built at scrape time
from :meth:`~omdp.edge.service.EdgeService.status`, in a registry of the service's own (so
several services can live in one process, as in tests).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(slots=True)
class EdgeCounters:
    """Plain counters incremented on the hot path."""

    messages_in: int = 0
    malformed: int = 0
    rejected_topics: int = 0
    backpressure: int = 0
    live_dropped: int = 0
    alerts_raised: int = 0
    alerts_cleared: int = 0


_COUNTERS = (
    ("messages_in", ("messages", "in"), "Messages made durable in the outbox."),
    ("messages_out", ("messages", "out"), "Messages acknowledged by the sink (cloud)."),
    ("malformed", ("messages", "malformed"), "Readings that failed validation (forwarded)."),
    ("rejected_topics", ("messages", "rejectedTopics"), "Messages on a topic outside contract."),
    ("backpressure", ("outbox", "backpressureEvents"), "Times the full outbox paused intake."),
    ("local_reconnects", ("local", "reconnects"), "Reconnections to the local broker."),
    ("cloud_reconnects", ("cloud", "reconnects"), "Reconnections to the cloud broker."),
    ("alerts_raised", ("alerts", "raised"), "Alerts raised."),
    ("stream_dropped", ("stream", "dropped"), "Live events dropped for slow stream clients."),
)
_GAUGES = (
    ("outbox_depth", ("outbox", "depth"), "Messages in the outbox."),
    ("outbox_max", ("outbox", "max"), "Capacity of the outbox."),
    ("outbox_oldest_age_seconds", ("outbox", "oldestAgeS"), "Age of the oldest message held."),
    ("inflight", ("messages", "inflight"), "Messages sent to the sink, not acknowledged yet."),
    ("local_connected", ("local", "connected"), "1 when connected to the local broker."),
    ("cloud_connected", ("cloud", "connected"), "1 when connected to the cloud broker."),
    ("alerts_active", ("alerts", "active"), "Alerts raised and not cleared."),
    ("stream_clients", ("stream", "subscribers"), "Clients of the live stream."),
)


def _pick(status: dict[str, Any], path: tuple[str, str]) -> float:
    value = status.get(path[0], {}).get(path[1])
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value) if isinstance(value, int | float) else 0.0


class StatusCollector(Collector):
    """Builds the metric families from a status document at each scrape."""

    def __init__(self, status: Callable[[], dict[str, Any]], prefix: str = "omdp_edge") -> None:
        self.status = status
        self.prefix = prefix

    def collect(self) -> Iterator[Metric]:
        """Yield one family per counter and gauge."""
        status = self.status()
        for name, path, doc in _COUNTERS:
            family = CounterMetricFamily(f"{self.prefix}_{name}", doc)
            family.add_metric([], _pick(status, path))
            yield family
        for name, path, doc in _GAUGES:
            gauge = GaugeMetricFamily(f"{self.prefix}_{name}", doc)
            gauge.add_metric([], _pick(status, path))
            yield gauge


def prometheus_registry(status: Callable[[], dict[str, Any]]) -> CollectorRegistry:
    """A registry of its own that reports ``status()``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(status))
    return registry


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format."""
    return generate_latest(registry)
