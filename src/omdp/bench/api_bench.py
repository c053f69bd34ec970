"""``omdp bench api``: the REST API through HTTP on loopback, over a SQLite store.

Data: meters x quarter-hours x 10 properties (10 million property values: 250 x 4,000 x 10;
quick: 200,000). Figures: the latency of a one-meter, one-month query (median and p95 over 50
requests, uvicorn in a subprocess, httpx client) beside the same query on the store alone in
this process (count and read, as the route does, median of 50, same run), and the rows/s of a
bulk NDJSON download of 1 million readings (quick: 50,000) with the server's peak memory
(VmHWM) before and after.
"""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from omdp.auth.principal import hash_token
from omdp.bench.suite import Figures, named
from omdp.cloud.model import ReadingFilter, StoredValue
from omdp.cloud.storage import open_store
from omdp.cloud.storage.packing import pack
from omdp.testing.services import free_port, wait_for_port

PROPS = (
    ("OBIS_1.8.0", "kWh"),
    ("OBIS_2.8.0", "kWh"),
    ("OBIS_1.7.0", "kW"),
    ("OBIS_2.7.0", "kW"),
    ("OBIS_32.7.0", "V"),
    ("OBIS_52.7.0", "V"),
    ("OBIS_72.7.0", "V"),
    ("OBIS_31.7.0", "A"),
    ("OBIS_51.7.0", "A"),
    ("OBIS_71.7.0", "A"),
)
START = datetime(2024, 1, 1, tzinfo=UTC)
LAUNCH = "import sys; from omdp.cli.cloud_api_cmd import api; api(sys.argv[1:])"
TOKEN = "bench-operator"  # noqa: S105 - a throwaway local token


def _fill(url: str, meters: int, steps: int) -> float:
    """Migrate through the store, then insert rows with plain SQL (rollups are not built:
    the benchmark does not read them, and the store's write path is measured elsewhere)."""
    open_store(url).close()
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    started = time.perf_counter()
    epoch_us = int(START.timestamp()) * 1_000_000
    rid = 0
    for step in range(steps):
        t = epoch_us + step * 900 * 1_000_000
        rows: list[tuple[object, ...]] = []
        for m in range(meters):
            rid += 1
            meter = f"meter-{m:04d}"
            values = tuple(
                StoredValue(pid, step * 0.25 + m + pos, unit=unit)
                for pos, (pid, unit) in enumerate(PROPS)
            )
            rows.append((meter, t, f"r{m}-{step}", rid, t, pack(values)))
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO readings (meter_id, t, reading_id, rid, received, vals)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )
        conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - started


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) // 1024
    return 0


def _serve(work: Path, url: str) -> tuple[subprocess.Popen[bytes], str]:
    config = {
        "db": {"url": url},
        "api": {
            "tokens": {hash_token(TOKEN): {"subject": "bench", "scopes": ["operate"]}},
            "bulk_secret": "bench-secret",
            "pseudonym_key": "bench-key",
            "credentials_file": str(work / "credentials.json"),
        },
    }
    (work / "cloud.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    port = free_port()
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-c", LAUNCH, "--config", str(work / "cloud.yaml"), "--port", str(port)],
        env={**os.environ, "OMDP_LOG_LEVEL": "WARNING"},
    )
    wait_for_port(port, timeout=30)
    return proc, f"http://127.0.0.1:{port}"


def measure(*, quick: bool) -> Figures:
    """Fill a store, start the API, measure a month query and a bulk download; print the
    figures and return them by name."""
    meters, steps = (50, 400) if quick else (250, 4000)
    bulk_rows = 50_000 if quick else 1_000_000
    with tempfile.TemporaryDirectory(prefix="omdp-api-bench-") as tmp:
        work = Path(tmp)
        url = f"sqlite:///{work / 'cloud.sqlite3'}"
        took = _fill(url, meters, steps)
        values = meters * steps * len(PROPS)
        print(f"api: {values:,} property values written in {took:.1f} s")
        proc, base = _serve(work, url)
        try:
            measured = _measure(base, proc.pid, steps, bulk_rows, url)
            return api_figures(values=values, fill_s=took, **measured)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _store_alone(url: str, end: datetime) -> tuple[int, float, float]:
    """The month query on the store itself: what the route costs beyond it is HTTP and JSON."""
    store = open_store(url)
    flt = ReadingFilter(start=START, end=end, meter_ids=("meter-0007",))
    try:
        counts, reads = [], []
        rows = 0
        for _ in range(52):
            t0 = time.perf_counter()
            store.count_readings(flt)
            t1 = time.perf_counter()
            rows = len(list(store.query_readings(flt)))
            counts.append(t1 - t0)
            reads.append(time.perf_counter() - t1)
    finally:
        store.close()
    count_ms = statistics.median(counts[2:]) * 1000
    read_ms = statistics.median(reads[2:]) * 1000
    print(
        f"api: the same query on the store alone ({rows} readings): count median "
        f"{count_ms:.1f} ms, read median {read_ms:.1f} ms"
    )
    return rows, count_ms, read_ms


def _measure(base: str, pid: int, steps: int, bulk_rows: int, url: str) -> dict[str, Any]:
    """The measured numbers: the keyword arguments of :func:`api_figures` but two."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    end = START + timedelta(minutes=15 * min(steps, 2976))
    alone = _store_alone(url, end)
    body = {
        "readingTimeStart": START.isoformat(),
        "readingTimeEnd": end.isoformat(),
        "meterIds": ["meter-0007"],
        "pageSize": 10_000,
    }
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per request
    with httpx.Client(base_url=base, headers=headers, timeout=600) as client:
        times = []
        rows = 0
        for _ in range(52):
            t0 = time.perf_counter()
            r = client.post("/v1/meterReadings", json=body)
            times.append(time.perf_counter() - t0)
            r.raise_for_status()
            rows = len(r.json()["content"])
        times = sorted(times[2:])  # the first two warm the caches
        p95 = times[int(len(times) * 0.95) - 1]
        median = statistics.median(times)
        print(
            f"api: one meter, one month ({rows} readings x {len(PROPS)} values): "
            f"median {median * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms"
        )

        before = _vm(pid, "VmHWM")
        link = client.post("/v1/meterReadings", json={"resultForm": "bulk", "maxRows": bulk_rows})
        link.raise_for_status()
        t0 = time.perf_counter()
        lines = 0
        size = 0
        with client.stream("GET", link.json()["linkToBulk"]) as stream:
            for chunk in stream.iter_bytes():
                lines += chunk.count(b"\n")
                size += len(chunk)
        took = time.perf_counter() - t0
        after = _vm(pid, "VmHWM")
        print(
            f"api: bulk NDJSON {lines:,} readings ({lines * len(PROPS):,} values, "
            f"{size / 1e6:.0f} MB) in {took:.1f} s: {lines / took:,.0f} readings/s; "
            f"server peak RSS {before} MB before, {after} MB after"
        )
    return {
        "alone": alone,
        "month": (rows, median * 1000, p95 * 1000),
        "bulk": (lines, size, took),
        "rss_mb": (before, after),
    }


def api_figures(
    *,
    values: int,
    fill_s: float,
    alone: tuple[int, float, float],
    month: tuple[int, float, float],
    bulk: tuple[int, int, float],
    rss_mb: tuple[int, int],
) -> Figures:
    """The figures of a run, by name.

    Args:
        values: Property values in the store.
        fill_s: Seconds it took to fill it.
        alone: The month query on the store alone: rows, count ms, read ms (medians).
        month: The month query through HTTP: rows, median ms, p95 ms.
        bulk: The bulk download: readings, bytes, seconds.
        rss_mb: The server's peak RSS before and after the bulk download.
    """
    rows, count_ms, read_ms = alone
    month_rows, month_ms, p95_ms = month
    readings, size, took = bulk
    return (
        named("store", values=values, fill_s=round(fill_s, 1))
        | named("store_alone", rows=rows, count_ms=round(count_ms, 2), read_ms=round(read_ms, 2))
        | named(
            "api",
            month_query_ms=round(month_ms, 2),
            month_query_p95_ms=round(p95_ms, 2),
            month_query_rows=month_rows,
        )
        | named(
            "bulk",
            readings=readings,
            values=readings * len(PROPS),
            mb=round(size / 1e6, 1),
            s=round(took, 2),
            readings_per_s=round(readings / took),
            server_peak_rss_before_mb=rss_mb[0],
            server_peak_rss_after_mb=rss_mb[1],
        )
    )
