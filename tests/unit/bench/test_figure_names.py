"""CL-15: every benchmark returns its figures by name (``subject.figure``), for ``--json``.

The cheap benchmarks (decoders and validation) run their quick measurement here; the others,
which start brokers, databases or a browser, are checked through the function that names their
measured numbers (and the query benchmark through its queries on a tiny SQLite store).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from omdp.bench import (
    api_bench,
    app_bench,
    chain_bench,
    dlms_bench,
    edge_bench,
    ingest_bench,
    mbus_bench,
    query_bench,
    validation_bench,
    wmbus_bench,
)
from omdp.bench.suite import NAME, check_names, document, named, run_one
from omdp.cloud.storage import open_store


def _subjects(names: set[str] | list[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def test_cl15_named_builds_subject_dot_figure_and_refuses_labels() -> None:
    assert named("raw", msgs_per_s=9000) == {"raw.msgs_per_s": 9000}
    check_names({"postgres.month_query_ms": 1.0})
    for bad in ("raw_msg_per_s", "postgres.month_query_ms_", "Raw.x", "a.b.c", "sqlite."):
        with pytest.raises(ValueError, match=r"subject\.figure"):
            check_names({bad: 1})
    with pytest.raises(ValueError, match=r"subject\.figure"):
        named("one meter", ms=1)


def test_cl15_the_suite_reports_figures_by_name_in_its_json() -> None:
    result = run_one("validation", quick=True, out=io.StringIO())
    assert result.ok, result.error
    doc = json.loads(json.dumps(document([result], quick=True)))
    figures = doc["benchmarks"]["validation"]["figures"]
    assert figures["omdp.msgs_per_s"] > 0
    assert all(NAME.match(name) for name in figures)


def test_cl15_validation_quick_run_names(capsys: pytest.CaptureFixture[str]) -> None:
    figures = validation_bench.measure(quick=True)
    contenders = {"omdp", "pydantic_models", "pydantic_core", "orjson"}
    assert contenders <= _subjects(list(figures))
    for contender in contenders:
        assert figures[f"{contender}.msgs_per_s"] > 0  # type: ignore[operator]
    assert {"payload.bytes", "payload.values", "omdp.ratio_to_pydantic_models"} <= set(figures)
    assert "omdp parse_reading" in capsys.readouterr().out  # printed beside the figures


def test_cl15_mbus_quick_run_names() -> None:
    figures = mbus_bench.measure(quick=True)
    assert {
        "corpus.frames",
        "corpus.omdp_decodes",
        "omdp.all_frames_per_s",
        "omdp.all_records_per_s",
    } <= set(figures)
    if "pymeterbus.status" not in figures:
        assert {
            "corpus.both_decode",
            "omdp.frames_per_s",
            "omdp.records_per_s",
            "pymeterbus.frames_per_s",
            "pymeterbus.records_per_s",
            "omdp.ratio_to_pymeterbus",
        } <= set(figures)


def test_cl15_dlms_quick_run_names() -> None:
    figures = dlms_bench.measure(quick=True)
    assert {
        "corpus.plain_frames",
        "corpus.ciphered_frames",
        "omdp.plain_frames_per_s",
        "omdp.ciphered_frames_per_s",
    } <= set(figures)
    if "dlms_cosem.status" not in figures:
        assert {
            "omdp.ratio_plain",
            "omdp.ratio_ciphered",
            "omdp.ratio_ciphered_wire",
            "dlms_cosem.version",
            "dlms_cosem.both_plain_frames_per_s",
            "dlms_cosem.ciphered_wire_frames_per_s",
        } <= set(figures)


def test_cl15_wmbus_quick_run_names() -> None:
    figures = wmbus_bench.measure(quick=True)
    expected = {"wired.frames_per_s", "wired.records_per_s"} | {
        f"{variant}.{figure}"
        for variant in ("clear", "mode_5", "mode_7", "format_a")
        for figure in ("telegrams_per_s", "records_per_s", "ratio_to_wired")
    }
    assert set(figures) == expected


def test_cl15_query_figures_of_a_tiny_sqlite_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.sqlite3'}"
    store = open_store(url)
    try:
        query_bench.load(url, store, meters=2, days=70)
        with query_bench.raw_month(url) as floor:
            figures = named("sqlite", **query_bench.queries(store, 70, floor))
    finally:
        store.close()
    expected = {
        f"sqlite.{query}{suffix}"
        for query in ("month_raw", "month_query", "hourly_aggregate", "daily_consumption")
        for suffix in ("_ms", "_first_ms", "_rows")
    }
    assert set(figures) == expected
    assert figures["sqlite.hourly_aggregate_rows"] == 70 * 24
    # the floor fetches the rows the store's month query returns: February, 29 days
    assert figures["sqlite.month_raw_rows"] == figures["sqlite.month_query_rows"] == 29 * 96


def test_cl15_ingest_figures_by_store_and_processes() -> None:
    one = ingest_bench.ingest_figures("postgres", 1, rate=4000.0, tail=0.5, raw=8000.0)
    two = ingest_bench.ingest_figures("sqlite", 2, rate=5000.0, tail=0.25, raw=8000.0)
    assert one == {
        "postgres.readings_per_s": 4000,
        "postgres.values_per_s": 4000 * ingest_bench.VALUES_PER_READING,
        "postgres.ratio_to_raw": 0.5,
        "postgres.tail_s": 0.5,
    }
    assert set(two) == {
        "sqlite_x2.readings_per_s",
        "sqlite_x2.values_per_s",
        "sqlite_x2.ratio_to_raw",
        "sqlite_x2.tail_s",
    }


def test_cl15_edge_figures() -> None:
    figures = edge_bench.edge_figures(
        messages=100, payload_bytes=900.4, raw=10_000.0, edge=6_000.0, intake=20_000.0,
        backlog=1000, drain_s=0.5, reconnect_s=0.1, peak_rss_mb=80.0,
    )  # fmt: skip
    assert figures == {
        "payload.messages": 100,
        "payload.bytes": 900,
        "raw.msgs_per_s": 10_000,
        "edge.msgs_per_s": 6_000,
        "edge.ratio_to_raw": 0.6,
        "edge.peak_rss_mb": 80.0,
        "outage.intake_msgs_per_s": 20_000,
        "backlog.messages": 1000,
        "backlog.drain_s": 0.5,
        "backlog.drain_msgs_per_s": 2000,
        "backlog.reconnect_s": 0.1,
    }


def test_cl15_chain_figures_per_store() -> None:
    figures = chain_bench.chain_figures(
        readings=4000, runs=1, payload_bytes=3000, raw=8000.0,
        engines={"sqlite": (2400.0, 0.2, 90.0), "postgres": (2000.0, 0.3, 95.0)},
        peaks=(70.0, 10.0, 12.0),
    )  # fmt: skip
    per_store = {"readings_per_s", "ratio_to_raw", "tail_s", "ingest_peak_rss_mb"}
    assert set(figures) == (
        {"payload.readings", "payload.runs", "payload.adapters", "payload.bytes"}
        | {"raw.msgs_per_s"}
        | {f"{store}.{figure}" for store in ("sqlite", "postgres") for figure in per_store}
        | {"peak_rss.edge_mb", "peak_rss.mosquitto_local_mb", "peak_rss.mosquitto_cloud_mb"}
    )
    assert figures["sqlite.ratio_to_raw"] == 0.3
    assert figures["postgres.ratio_to_raw"] == 0.25


def test_cl15_api_figures() -> None:
    figures = api_bench.api_figures(
        values=200_000, fill_s=3.0, alone=(2880, 1.5, 20.0), month=(2880, 40.0, 55.0),
        bulk=(50_000, 60_000_000, 2.0), rss_mb=(90, 95),
    )  # fmt: skip
    assert figures["api.month_query_ms"] == 40.0
    assert figures["bulk.readings_per_s"] == 25_000
    assert _subjects(list(figures)) == {"store", "store_alone", "api", "bulk"}
    check_names(figures)


def test_cl15_app_figures_per_view() -> None:
    results = [(view, [300.0, 200.0, 210.0], 365, 4096, (50.0, 2048)) for view in app_bench.VIEWS]
    figures = app_bench.app_figures(days=365, seeded_s=12.0, results=results, raw=(900.0, 10240))
    assert figures["daily_energy.drawn_ms"] == 210
    assert figures["power.first_ms"] == 300
    assert figures["raw_fetch.kib"] == 10
    assert _subjects(list(figures)) == {
        "store",
        "daily_energy",
        "monthly_energy",
        "power",
        "raw_fetch",
    }

