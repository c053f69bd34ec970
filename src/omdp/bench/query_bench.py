"""Benchmark: query latency at 10 million property values, on SQLite and PostgreSQL.

Data: 30 meters (15 households of two) x a 15-minute year (2024, 35,136 readings) x 10
values = 10.5 million property values, written straight into storage through the batch path
(``write_batch``: COPY on PostgreSQL, ``executemany`` on SQLite), which keeps the rollups as
ingest does. Printed: the load rate, and the median latency (warm, 5 runs) and the first run
of: one meter's one property over one month; the hourly aggregate of one meter over a year;
the daily consumption of one household over a year in Europe/Berlin, across both DST changes.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from omdp.cloud.model import Interval, ReadingFilter, StoredReading, StoredValue
from omdp.cloud.storage import ReadingStore, open_store
from omdp.domain.household import Household
from omdp.domain.reading import MeterClass, MeterIndividual, PhysicalMeterElement
from omdp.testing.services import PostgresCluster

ENERGY, POWER = "OBIS_1.8.0", "OBIS_1.7.0"
OTHERS = ("OBIS_2.8.0", "OBIS_32.7.0", "OBIS_52.7.0", "OBIS_72.7.0", "OBIS_31.7.0",
          "OBIS_51.7.0", "OBIS_71.7.0", "OBIS_14.7.0")  # fmt: skip
YEAR = datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Berlin")).astimezone(UTC)
BATCH = 5_000


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


def load(store: ReadingStore, meters: int, steps: int) -> tuple[int, float]:
    """Write ``meters`` x ``steps`` quarter-hourly readings of 10 values; (values, seconds)."""
    _register(store, meters)
    batch: list[StoredReading] = []
    started = time.perf_counter()
    total = 0
    for step in range(steps):
        when = YEAR + timedelta(minutes=15 * step)
        for m in range(meters):
            values = (
                StoredValue(ENERGY, 1000.0 + step * 0.25 + m, "kWh"),
                StoredValue(POWER, (step * 7 + m) % 50 / 10, "kW"),
                *(StoredValue(p, 230.0 + (step + i) % 5, None) for i, p in enumerate(OTHERS)),
            )
            batch.append(StoredReading(f"{m}-{step}", f"m-{m:03d}", when, values))
            total += len(values)
        if len(batch) >= BATCH:
            store.write_batch(batch)
            batch = []
    store.write_batch(batch)
    return total, time.perf_counter() - started


def timed(func: Callable[[], object], runs: int = 5) -> tuple[float, float, object]:
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


def queries(store: ReadingStore, days: int) -> None:
    """Run and print the three queries."""
    month = ReadingFilter(
        start=YEAR + timedelta(days=31),
        end=YEAR + timedelta(days=60),
        meter_ids=("m-001",),
        properties=(POWER,),
    )
    end = YEAR + timedelta(days=days)
    cases: list[tuple[str, Callable[[], object]]] = [
        ("one meter, one property, one month (Feb)", lambda: list(store.query_readings(month))),
        (
            "hourly aggregate of one meter over the span",
            lambda: store.aggregates(
                property_id=POWER, interval=Interval.HOUR, start=YEAR, end=end, meter_ids=["m-001"]
            ),
        ),
        (
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
    for label, func in cases:
        first, median, result = timed(func)
        rows = len(result) if isinstance(result, list) else 0
        print(f"  {label}: {median:.1f} ms warm (first {first:.1f} ms), {rows} rows")


def run(*, quick: bool) -> None:
    """Load each backend and print load rate and query latencies."""
    meters, days = (4, 60) if quick else (30, 366)
    steps = days * 96
    with tempfile.TemporaryDirectory(prefix="omdp-qbench-") as tmp:
        cluster = PostgresCluster().start()
        try:
            targets = {
                "sqlite": f"sqlite:///{Path(tmp) / 'query.sqlite3'}",
                "postgres": cluster.create_database(),
            }
            for name, url in targets.items():
                store = open_store(url)
                try:
                    values, seconds = load(store, meters, steps)
                    print(
                        f"{name}: loaded {values:,} values in {seconds:.1f} s "
                        f"({values / seconds:,.0f} values/s, rollups kept)"
                    )
                    queries(store, days)
                finally:
                    store.close()
        finally:
            cluster.destroy()
