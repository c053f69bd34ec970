"""Benchmark: query latency at 10 million property values, on SQLite and PostgreSQL.

Data: 30 meters (15 households of two) x a 15-minute year (2024 in Europe/Berlin, 35,136
readings) x 10 values = 10.5 million property values. They are generated straight into the
tables (SQLite ``executemany``, PostgreSQL binary COPY; the values packed in their readings'
rows as the store packs them) a day at a time, secondary indexes
dropped for the load and rebuilt from their own definitions after it (PostgreSQL's tables then
vacuumed, as autovacuum would), with the hourly
rollups built from the same rows by :func:`~omdp.cloud.storage.rollups.partials` (the function
ingest uses) and inserted in bulk: loading through ``write_batch`` would measure ingest, which
``omdp bench ingest`` does. Printed: the load rate, and the median latency (warm, 11 runs) and
the first run of: one meter's one property over one month; the hourly aggregate of one meter
over a year; the daily consumption of one household over a year in Europe/Berlin, across both
DST changes. The queries run with the garbage collector set as the API process sets it
(:mod:`omdp.ops.gc_tuning`).
"""

from __future__ import annotations

import contextlib
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import psycopg

from omdp.bench.suite import Figures, named
from omdp.cloud.model import Interval, ReadingFilter, StoredValue
from omdp.cloud.storage import ReadingStore, open_store
from omdp.cloud.storage.packing import pack
from omdp.cloud.storage.rollups import ROLLUP_COLUMNS, partials
from omdp.cloud.storage.sqlbase import PAGE
from omdp.domain.household import Household
from omdp.domain.reading import MeterClass, MeterIndividual, PhysicalMeterElement
from omdp.ops.gc_tuning import tuned
from omdp.testing.services import PostgresCluster

ENERGY, POWER = "OBIS_1.8.0", "OBIS_1.7.0"
OTHERS = ("OBIS_2.8.0", "OBIS_32.7.0", "OBIS_52.7.0", "OBIS_72.7.0", "OBIS_31.7.0",
          "OBIS_51.7.0", "OBIS_71.7.0", "OBIS_14.7.0")  # fmt: skip
PROPERTIES = (ENERGY, POWER, *OTHERS)
YEAR = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _register(store: ReadingStore, meters: int) -> None:
    element = PhysicalMeterElement(
        physical_element_id="el-bench", physical_meter_class=MeterClass.ELECTRICITY
    )
    for h in range(meters // 2):
        store.put_household(Household(household_id=f"hh-{h}", timezone="Europe/Berlin"))
    for m in range(meters):
        store.put_meter(
            MeterIndividual(
                meter_individual_id=f"m-{m:03d}",
                household_id=f"hh-{m // 2}",
                physical_meter_type=element,
            )
        )


def _day(meters: int, day: int) -> tuple[list[tuple[Any, ...]], list[tuple[str, str, int, float]]]:
    """One UTC-aligned day of readings (their values packed) and of their numerical values
    ``(meter, property, t, value)`` for the rollups; times in microseconds since the epoch."""
    heads: list[tuple[Any, ...]] = []
    values: list[tuple[str, str, int, float]] = []
    base = int(YEAR.timestamp()) * 1_000_000
    units = ("kWh", "kW") + (None,) * len(OTHERS)
    for step in range(day * 96, day * 96 + 96):
        t = base + step * 900_000_000
        for m in range(meters):
            rid = step * meters + m + 1
            meter = f"m-{m:03d}"
            nums = (
                1000.0 + step * 0.25 + m,
                (step * 7 + m) % 50 / 10,
                *(230.0 + (step + i) % 5 for i in range(len(OTHERS))),
            )
            vals = tuple(
                StoredValue(pid, num, unit=unit)
                for pid, num, unit in zip(PROPERTIES, nums, units, strict=True)
            )
            heads.append((rid, f"{m}-{step}", meter, t, pack(vals)))
            values.extend((meter, pid, t, num) for pid, num in zip(PROPERTIES, nums, strict=True))
    return heads, values


def _load_sqlite(url: str, meters: int, days: int) -> None:
    conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    # secondary indexes are dropped for the load and built again after it, sorted, from their
    # own definitions (as the schema made them)
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name = 'readings'"
    ).fetchall()
    for name, _ in indexes:
        conn.execute(f"DROP INDEX {name}")
    for day in range(days):
        heads, values = _day(meters, day)
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO readings (rid, reading_id, meter_id, t, received, vals)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            [(*h[:4], h[3], h[4]) for h in heads],
        )
        conn.executemany(
            f"INSERT INTO rollups ({ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 13)})",  # noqa: S608
            partials(values),
        )
        conn.execute("COMMIT")
    for _, sql in indexes:
        conn.execute(sql)
    conn.execute("ANALYZE")
    conn.close()


def _load_postgres(url: str, meters: int, days: int) -> None:
    def ts(us: int) -> datetime:
        return EPOCH + timedelta(microseconds=us)

    with psycopg.connect(url, autocommit=True) as conn:
        indexes = conn.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
            " AND tablename = 'readings'"
            " AND indexname NOT IN ('readings_pkey', 'readings_reading_id_key')"
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f"DROP INDEX {name}")
        for day in range(days):
            heads, values = _day(meters, day)
            heads.sort(key=lambda h: (h[2], h[3]))  # by meter and time, as write_batch does
            with conn.transaction(), conn.cursor() as cur:
                copies = (
                    ("readings (rid, reading_id, meter_id, t, received, vals)",
                     ("int8", "text", "text", "timestamptz", "timestamptz", "text"),
                     ((*h[:3], ts(h[3]), ts(h[3]), h[4]) for h in heads)),
                    (f"rollups ({ROLLUP_COLUMNS})",
                     ("text", "text", "int4", "timestamptz", "int8", "float8", "float8", "float8",
                      "timestamptz", "float8", "timestamptz", "float8", "float8"),
                     ((*p[:3], ts(p[3]), *p[4:8], ts(p[8]), p[9], ts(p[10]), *p[11:])
                      for p in partials(values))),
                )  # fmt: skip
                for table, types, rows in copies:
                    with cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                        copy.set_types(types)
                        for row in rows:
                            copy.write_row(row)
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('readings', 'rid'), max(rid)) FROM readings"
        )
        # vacuumed as autovacuum leaves a store that has run a while, and the pages this wrote
        # flushed: otherwise autovacuum and a checkpoint run while the queries are timed
        conn.execute("VACUUM (ANALYZE)")
        conn.execute("CHECKPOINT")


def load(url: str, store: ReadingStore, meters: int, days: int) -> tuple[int, float]:
    """Register the meters and generate ``days`` of their readings; (values, seconds)."""
    _register(store, meters)
    started = time.perf_counter()
    if url.startswith("sqlite"):
        _load_sqlite(url, meters, days)
    else:
        _load_postgres(url, meters, days)
    return meters * days * 96 * len(PROPERTIES), time.perf_counter() - started


def timed(func: Callable[[], object], runs: int = 11) -> tuple[float, float, object]:
    """(first run ms, median of the next ``runs`` ms, last result)."""
    t0 = time.perf_counter()
    result = func()
    first = (time.perf_counter() - t0) * 1000
    laps = []
    for _ in range(runs):
        t0 = time.perf_counter()
        result = func()
        laps.append((time.perf_counter() - t0) * 1000)
    return first, statistics.median(laps), result


MONTH_METER, MONTH_START, MONTH_END = "m-001", YEAR + timedelta(days=31), YEAR + timedelta(days=60)
MONTH = ReadingFilter(
    start=MONTH_START, end=MONTH_END, meter_ids=(MONTH_METER,), properties=(POWER,)
)
"""One meter's one property over February."""

# the statement of the store's first page (its plan depends on the LIMIT)
_RAW_MONTH = (
    "SELECT reading_id, meter_id, t, seq, fault, concentrator, vals FROM readings"  # noqa: S608
    " WHERE (meter_id, t) >= (?, ?) AND (meter_id, t) < (?, ?)"
    f" ORDER BY meter_id, t, reading_id LIMIT {PAGE} OFFSET 0"
)


@contextlib.contextmanager
def raw_month(url: str) -> Iterator[Callable[[], list[Any]]]:
    """The rows of :data:`MONTH` fetched by the bare driver and nothing decoded: the floor
    under the store's query, measured in the same run (the machine is shared and noisy)."""
    meter = MONTH_METER
    if url.startswith("sqlite"):
        lite = sqlite3.connect(url.removeprefix("sqlite:///"))
        us = timedelta(microseconds=1)
        bounds = (meter, (MONTH_START - EPOCH) // us, meter, (MONTH_END - EPOCH) // us)
        try:
            yield lambda: lite.execute(_RAW_MONTH, bounds).fetchall()
        finally:
            lite.close()
        return
    options = "-c timezone=UTC -c jit=off"  # as the store's sessions
    with psycopg.connect(url, autocommit=True, options=options) as pg:
        sql = _RAW_MONTH.replace("?", "%s")
        yield lambda: pg.execute(sql, (meter, MONTH_START, meter, MONTH_END)).fetchall()


def queries(store: ReadingStore, days: int, floor: Callable[[], list[Any]]) -> Figures:
    """Run and print the three queries, and the month's ``floor``; return their figures
    (``month_query_ms``, ...).

    Each query gives three: ``{query}_ms`` (the median warm run), ``{query}_first_ms`` and
    ``{query}_rows``.
    """
    end = YEAR + timedelta(days=days)
    cases: list[tuple[str, str, Callable[[], object]]] = [
        ("month_raw", "the month's rows by the bare driver, nothing decoded (floor)", floor),
        (
            "month_query",
            "one meter, one property, one month (Feb)",
            lambda: list(store.query_readings(MONTH)),
        ),
        (
            "hourly_aggregate",
            "hourly aggregate of one meter over the span",
            lambda: store.aggregates(
                property_id=POWER, interval=Interval.HOUR, start=YEAR, end=end, meter_ids=["m-001"]
            ),
        ),
        (
            "daily_consumption",
            "daily consumption of one household over the span",
            lambda: store.aggregates(
                property_id=ENERGY,
                interval=Interval.DAY,
                start=YEAR,
                end=end,
                household_id="hh-0",
                combine=True,
            ),
        ),
    ]
    figures: Figures = {}
    for key, label, func in cases:
        first, median, result = timed(func)
        rows = len(result) if isinstance(result, list) else 0
        print(f"  {label}: {median:.1f} ms warm (first {first:.1f} ms), {rows} rows")
        figures |= {
            f"{key}_ms": round(median, 2),
            f"{key}_first_ms": round(first, 2),
            f"{key}_rows": rows,
        }
    return figures


def measure(*, quick: bool) -> Figures:
    """Load each backend; print and return load rate and query latencies, named by backend
    (``sqlite.month_query_ms``, ``postgres.month_query_ms``, ...)."""
    meters, days = (4, 60) if quick else (30, 366)
    figures: Figures = {}
    with tempfile.TemporaryDirectory(prefix="omdp-qbench-") as tmp:
        # sized for the data, as a server holding it would be: its tables and indexes in its
        # own buffers rather than re-read from the kernel's page cache
        cluster = PostgresCluster(settings={"shared_buffers": "1GB"}).start()
        try:
            targets = {
                "sqlite": f"sqlite:///{Path(tmp) / 'query.sqlite3'}",
                "postgres": cluster.create_database(),
            }
            for name, url in targets.items():
                store = open_store(url)
                try:
                    values, seconds = load(url, store, meters, days)
                    print(
                        f"{name}: generated {values:,} values in {seconds:.1f} s "
                        f"({values / seconds:,.0f} values/s, hourly rollups built alongside)"
                    )
                    with tuned(), raw_month(url) as floor:
                        latencies = queries(store, days, floor)
                    figures |= named(
                        name,
                        load_values=values,
                        load_s=round(seconds, 1),
                        load_values_per_s=round(values / seconds),
                        **latencies,
                    )
                finally:
                    store.close()
        finally:
            cluster.destroy()
    return figures
