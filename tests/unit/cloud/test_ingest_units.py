"""Ingest classification, rollup arithmetic and metrics, without broker or database.

CL-2: malformed messages are quarantined with reasons; CL-1: consumption across resets and gaps.
"""

from __future__ import annotations

import random
import socket
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import orjson
import pytest

from omdp.bench.validation_bench import sample_reading
from omdp.cloud.ingest import classify
from omdp.cloud.metrics import IngestMetrics, serve_metrics
from omdp.cloud.model import (
    ALL_FUNCTIONS,
    Interval,
    QuarantineEntry,
    StoredReading,
    StoredValue,
)
from omdp.cloud.settings import IngestSettings
from omdp.cloud.storage.rollups import (
    FineRow,
    batch_partials,
    bucketer,
    fine_width,
    partials,
    roll,
    step,
)
from omdp.errors import ConfigError

TOPIC = "concentrator/edge-1/smartMeterMessage/meter-0001/readings"


def test_valid_message_becomes_a_stored_reading() -> None:
    """CL-2: the topic's meter and concentrator are kept with the reading."""
    item = classify(TOPIC, sample_reading(), max_bytes=65536)
    assert isinstance(item, StoredReading)
    assert (item.meter_id, item.concentrator_id, len(item.values)) == ("meter-0001", "edge-1", 13)


def test_bad_messages_are_quarantined_with_reasons() -> None:
    """CL-2: oversized, bad topic, not UTF-8, invalid, or naming another meter."""
    doc = orjson.loads(sample_reading())
    cases = {
        "exceeds the limit": (TOPIC, b"x" * 2000),
        "is not concentrator/": ("concentrator/e/other", sample_reading()),
        "not UTF-8": (TOPIC, b"\xff\xfe"),
        "field required": (TOPIC, orjson.dumps({"readingTime": doc["readingTime"]})),
        "but the topic names": (TOPIC.replace("meter-0001", "meter-0002"), sample_reading()),
    }
    for reason, (topic, payload) in cases.items():
        item = classify(topic, payload, max_bytes=1024 if reason == "exceeds the limit" else 65536)
        assert isinstance(item, QuarantineEntry), reason
        assert any(reason in r for _, r in item.problems), (reason, item.problems)


def test_step_counts_a_reset_from_zero() -> None:
    """CL-1: a drop of a register counts the new value from zero."""
    assert step(None, 5.0) == 0.0
    assert step(5.0, 7.5) == 2.5
    assert step(99999.0, 3.0) == 3.0


def test_roll_attributes_a_gap_to_the_bucket_after_it() -> None:
    """CL-1: missing buckets stay missing; the step across them goes to the next bucket."""
    t0 = datetime(2024, 1, 1, tzinfo=UTC)
    rows = [
        FineRow(t0, 1, 10.0, 10.0, 10.0, 10.0, 10.0, 0.0),
        FineRow(t0 + timedelta(hours=5), 2, 20.0, 21.0, 41.0, 20.0, 21.0, 1.0),
    ]
    key = bucketer(Interval.HOUR, 3600, ZoneInfo("UTC"))
    out = roll("m", rows=rows, previous=9.0, key=key, functions=ALL_FUNCTIONS, cumulative=True)
    assert [(r.start.hour, r.consumption) for r in out] == [(0, 1.0), (5, 11.0)]
    assert out[1].mean == 20.5


def test_fine_width_falls_back_to_quarter_hours_for_half_hour_zones() -> None:
    """Days in a zone with a 30-minute offset are built from 15-minute buckets."""
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    assert fine_width(Interval.DAY, ZoneInfo("Europe/Berlin"), start, end) == 3600
    assert fine_width(Interval.DAY, ZoneInfo("Asia/Kolkata"), start, end) == 900


def test_metrics_exposition() -> None:
    """Counters render in the Prometheus text format."""
    text = IngestMetrics(received=3, stored=2, quarantined=1).exposition().decode()
    assert "omdp_ingest_received_total 3.0" in text
    assert "omdp_ingest_lag_seconds 0.0" in text


def test_batch_partials_equal_the_partials_of_the_flattened_values() -> None:
    """CL-1: the ingest's per-reading fold gives the partials of its values one by one
    (text-only values skipped, a property twice in one reading, readings out of batch order)."""
    rng = random.Random(7)
    start = datetime(2024, 3, 31, tzinfo=UTC)
    readings = [
        StoredReading(
            f"r{i}",
            f"m{rng.randrange(3)}",
            start + timedelta(minutes=rng.randrange(0, 300)),
            tuple(
                StoredValue(f"P{rng.randrange(4)}", None, "x")
                if rng.random() < 0.1
                else StoredValue(f"P{rng.randrange(4)}", rng.uniform(-5, 50))
                for _ in range(rng.randrange(0, 6))
            ),
        )
        for i in range(400)
    ]
    times = [int(r.reading_time.timestamp()) * 1_000_000 for r in readings]
    order = sorted(range(len(readings)), key=times.__getitem__)
    flat = [
        (readings[i].meter_id, v.property_id, times[i], v.numerical_value)
        for i in order
        for v in readings[i].values
        if v.numerical_value is not None
    ]
    assert sorted(batch_partials(readings, order, times)) == sorted(partials(flat))


def test_partials_per_hour_with_reset_and_internal_consumption() -> None:
    """CL-1 rollups at ingest: one partial per (meter, property, hour); ``internal`` counts
    the steps inside the hour, a drop (counter reset) counting the new value from zero."""
    h = 3_600_000_000
    rows = [
        ("m1", "E", 0, 10.0),
        ("m1", "E", h // 4, 12.0),
        ("m1", "E", h // 2, 2.0),  # reset: counts 2
        ("m1", "P", h // 2, 5.0),
        ("m1", "E", h, 3.0),  # next hour: its own partial
    ]
    parts = {(p[0], p[1], p[3]): p[4:] for p in partials(rows)}
    assert parts[("m1", "E", 0)] == (3, 2.0, 12.0, 24.0, 0, 10.0, h // 2, 2.0, 2.0 + 2.0)
    assert parts[("m1", "P", 0)] == (1, 5.0, 5.0, 5.0, h // 2, 5.0, h // 2, 5.0, 0.0)
    assert parts[("m1", "E", h)] == (1, 3.0, 3.0, 3.0, h, 3.0, h, 3.0, 0.0)
    assert [p[2] for p in partials(rows, 900)] == [900] * 5


def test_cl2_a_metrics_port_in_use_is_a_config_error_naming_it() -> None:
    """CL-2: two ingest units with one metrics port (or a unit started twice) died with an
    ``OSError: [Errno 98]`` traceback; now the setting and address are named."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = IngestSettings(metrics_port=port)
        with pytest.raises(ConfigError, match=rf"ingest.metrics_port: .*127.0.0.1:{port}: "):
            serve_metrics(settings, IngestMetrics())
