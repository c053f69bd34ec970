"""The adapter's metrics port (``omdp adapter run --metrics-port``): Prometheus text on /metrics.

Built at scrape time from :func:`~omdp.adapter.service.adapter_status`, labelled with the meter
id, so that one scrape configuration covers every adapter of a site. ``omdp status --adapter``
reads it: missed readings, an outbox that does not drain, a meter that went quiet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

_COUNTERS: Mapping[str, tuple[str, str]] = {
    "readings": ("readings", "Readings kept in the outbox."),
    "missed": ("missed", "Readings expected by the meter's interval and never taken."),
    "droppedFull": ("dropped_full", "Readings not kept because the outbox was full."),
    "published": ("published", "Readings the next hop acknowledged (deleted from the outbox)."),
    "sourceReads": ("source_reads", "Frames received or reads attempted."),
    "sourceDecodeErrors": ("source_decode_errors", "Frames dropped as garbled."),
    "sourceTimeouts": ("source_timeouts", "Reads unanswered or silences too long."),
    "sourceReconnects": ("source_reconnects", "Links to the meter re-established."),
}
_GAUGES: Mapping[str, tuple[str, str]] = {
    "sequence": ("sequence", "The last sequenceNumber given (numbers missed readings too)."),
    "outboxDepth": ("outbox_depth", "Readings in the outbox."),
    "outboxOldestAgeS": ("outbox_oldest_age_seconds", "Age of the oldest reading held."),
    "lastReadingAgeS": ("last_reading_age_seconds", "Seconds since the last reading."),
    "intervalS": ("interval_seconds", "The meter's configured interval."),
}


class AdapterCollector(Collector):
    """One family per counter and gauge, a sample per meter labelled ``meter`` (a radio
    receiver's adapter runs many meters)."""

    def __init__(self, statuses: Callable[[], Iterable[Mapping[str, Any]]]) -> None:
        self.statuses = statuses

    def collect(self) -> Iterator[Metric]:
        """Yield the families from the current statuses."""
        statuses = list(self.statuses())
        for key, (name, doc) in _COUNTERS.items():
            counter = CounterMetricFamily(f"omdp_adapter_{name}", doc, labels=["meter"])
            for status in statuses:
                counter.add_metric([str(status.get("meterId", ""))], float(status.get(key) or 0))
            yield counter
        for key, (name, doc) in _GAUGES.items():
            gauge = GaugeMetricFamily(f"omdp_adapter_{name}", doc, labels=["meter"])
            for status in statuses:
                value = status.get(key)
                if value is not None:
                    gauge.add_metric([str(status.get("meterId", ""))], float(value))
            yield gauge


def adapter_registry(statuses: Callable[[], Iterable[Mapping[str, Any]]]) -> CollectorRegistry:
    """A registry of its own reporting ``statuses()``, one per meter."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(AdapterCollector(statuses))
    return registry
