"""A store made with an earlier schema (a row per value) migrates to the packed layout with every
reading, value and rollup intact, on SQLite and PostgreSQL.

Requirement ids: CL-1 (every reading stored in the data model, kept so across schema
versions), CL-11 and CL-13 (deletion and erasure still find every value after the migration).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from omdp.cloud.model import ReadingFilter, StoredReading, StoredValue, ValueFilter
from omdp.cloud.storage.composed import ComposedStore
from omdp.cloud.storage.postgres import PostgresStore
from omdp.cloud.storage.rollups import ROLLUP_COLUMNS, partials
from omdp.cloud.storage.schema_postgres import MIGRATIONS as PG_MIGRATIONS
from omdp.cloud.storage.schema_sqlite import MIGRATIONS as SQLITE_MIGRATIONS
from omdp.cloud.storage.sqlite import SqliteStore

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 31, 22, 0, tzinfo=UTC)
ENERGY = "OBIS_1.8.0"
POWER = "OBIS_1.7.0"
PACKED = 6
"""The migration that packs a reading's values into its row."""


def _readings() -> list[StoredReading]:
    """Readings as an earlier version stored them: awkward numbers, texts, dates, a reset,
    a reading without values, two meters, readings at the same time."""
    out = []
    for i in range(12):
        meter = "m1" if i % 3 else "m2"
        energy = 1000.0 + i * 0.1 if i != 7 else 0.3  # a counter reset at 7
        values = [
            StoredValue(ENERGY, energy, unit="kWh"),
            StoredValue(POWER, [0.1 + 0.2, -1e-300, 123456789.12345679, 5.0][i % 4], unit="kW"),
            StoredValue("STATE", text_value=['ok "quoted" ]', "ünïcode", "a,b"][i % 3]),
        ]
        if i % 4 == 1:
            values.append(
                StoredValue(
                    "BILLING", 12.5, date=datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
                )
            )
        out.append(
            StoredReading(
                f"r-{i:02d}",
                meter,
                T0 + timedelta(minutes=15 * (i // 2)),
                tuple(values) if i != 5 else (),
                sequence_number=i if i % 2 else None,
                fault_code="F1" if i == 3 else None,
                concentrator_id="edge-1" if i % 2 else None,
            )
        )
    return out


@pytest.fixture(params=[("sqlite", 5), ("postgres", 5), ("sqlite", 1), ("postgres", 1)])
def old_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ComposedStore]:
    """A store of each backend at schema 5, the last before the packed layout, or at schema 1
    (values also indexed by meter, property and time: migration 2 drops that index)."""
    engine, version = request.param
    store: ComposedStore
    if engine == "sqlite":
        store = SqliteStore(tmp_path / "old.sqlite3")
        store.schema.migrations = tuple(m for m in SQLITE_MIGRATIONS if m[0] <= version)
    else:
        store = PostgresStore(request.getfixturevalue("postgres_url"))
        store.schema.migrations = tuple(m for m in PG_MIGRATIONS if m[0] <= version)
    assert store.migrate() == version  # type: ignore[attr-defined]
    yield store
    store.close()  # type: ignore[attr-defined]


def _write_old(store: ComposedStore, readings: list[StoredReading]) -> None:
    """Store readings as schemas 1 to 5 did: a row per reading, a row per value, hourly
    rollups."""
    d = store.dialect
    postgres = isinstance(store, PostgresStore)
    with store._tx() as tx:
        if postgres:
            tx.run(
                "CREATE TABLE reading_values_y2024m03 PARTITION OF reading_values"
                " FOR VALUES FROM ('2024-03-01T00:00:00+00') TO ('2024-04-01T00:00:00+00')"
            )
            tx.run(
                "CREATE TABLE reading_values_y2024m04 PARTITION OF reading_values"
                " FOR VALUES FROM ('2024-04-01T00:00:00+00') TO ('2024-05-01T00:00:00+00')"
            )
        numbers: list[tuple[int, int, int, str, str, float]] = []
        for rid, r in enumerate(readings, start=1):
            t = d.ts(r.reading_time)
            tx.run(
                "INSERT INTO readings (rid, reading_id, meter_id, t, seq, fault, concentrator,"  # noqa: S608
                f" received) {'OVERRIDING SYSTEM VALUE' if postgres else ''}"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    rid,
                    r.reading_id,
                    r.meter_id,
                    t,
                    r.sequence_number,
                    r.fault_code,
                    r.concentrator_id,
                    t,
                ],
            )
            for pos, v in enumerate(r.values):
                tx.run(
                    "INSERT INTO reading_values (rid, pos, meter_id, property_id, t, num, txt,"
                    " unit, vdate) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        rid,
                        pos,
                        r.meter_id,
                        v.property_id,
                        t,
                        v.numerical_value,
                        v.text_value,
                        v.unit,
                        None if v.date is None else d.ts(v.date),
                    ],
                )
                if v.numerical_value is not None:
                    us = d.us(d.ts(r.reading_time))
                    numbers.append((us, rid, pos, r.meter_id, v.property_id, v.numerical_value))
        if postgres:  # the earlier stores drew every row id from the sequence
            tx.run(
                "SELECT setval(pg_get_serial_sequence('readings', 'rid'), max(rid)) FROM readings"
            )
        numbers.sort(key=lambda n: (n[3], n[0], n[1], n[2]))  # storage order per meter
        for p in partials((m, prop, t, v) for t, _, _, m, prop, v in numbers):
            tx.run(
                f"INSERT INTO rollups ({ROLLUP_COLUMNS}) VALUES ({', '.join('?' * 13)})",  # noqa: S608
                [
                    *p[:3],
                    d.from_us(p.bucket),
                    *p[4:8],
                    d.from_us(p.first_t),
                    p.first_v,
                    d.from_us(p.last_t),
                    p.last_v,
                    p.internal,
                ],
            )


def _table(store: ComposedStore, sql: str) -> list[tuple[Any, ...]]:
    with store._tx() as tx:
        return tx.run(sql)


_ROLLUPS = f"SELECT {ROLLUP_COLUMNS}, dirty FROM rollups ORDER BY meter_id, property_id, bucket"  # noqa: S608
_VALUES = (
    "SELECT rid, pos, meter_id, property_id, t, num, txt, unit FROM reading_values"
    " ORDER BY rid, pos"
)


def test_cl1_migration_packs_every_reading_value_and_rollup(old_store: ComposedStore) -> None:
    """CL-1: a store of schema 5 (or 1) with readings, values (numbers, texts, dates) and
    rollups migrates to the packed layout; every reading comes back with the same values in the same
    order, the rollups are unchanged, and the values read row by row are the same."""
    readings = _readings()
    _write_old(old_store, readings)
    rollups = _table(old_store, _ROLLUPS)
    values = _table(old_store, _VALUES)
    assert len(values) == sum(len(r.values) for r in readings)

    old_store.schema.migrations = (  # type: ignore[misc]
        PG_MIGRATIONS if isinstance(old_store, PostgresStore) else SQLITE_MIGRATIONS
    )
    assert old_store.migrate() == PACKED  # type: ignore[attr-defined]

    expected = sorted(readings, key=lambda r: (r.reading_time, r.meter_id, r.reading_id))
    assert list(old_store.query_readings(ReadingFilter())) == expected  # type: ignore[attr-defined]
    for r in readings:
        assert old_store.get_reading(r.reading_id) == r  # type: ignore[attr-defined]
    assert _table(old_store, _ROLLUPS) == rollups
    assert [tuple(float(c) if i == 5 and c is not None else c for i, c in enumerate(row))
            for row in _table(old_store, _VALUES)] == values  # fmt: skip


def test_cl1_migrated_store_filters_deletes_and_keeps_ingesting(old_store: ComposedStore) -> None:
    """CL-1, CL-11, CL-13: after the migration, value filters and property selection find
    the migrated values, a deletion recomputes the rollups from them, new readings merge into
    the migrated rollups as a rebuild would make them, and erasure counts the values."""
    readings = _readings()
    _write_old(old_store, readings)
    old_store.schema.migrations = (  # type: ignore[misc]
        PG_MIGRATIONS if isinstance(old_store, PostgresStore) else SQLITE_MIGRATIONS
    )
    old_store.migrate()  # type: ignore[attr-defined]
    store: Any = old_store

    quoted = ReadingFilter(filters=(ValueFilter("STATE", text_equal_to='ok "quoted" ]'),))
    assert [r.reading_id for r in store.query_readings(quoted)] == [
        r.reading_id for r in readings if r.values and r.values[2].text_value == 'ok "quoted" ]'
    ]
    tiny = ReadingFilter(filters=(ValueFilter(POWER, less_than=0.0),), properties=(POWER,))
    found = list(store.query_readings(tiny))
    assert found
    assert all(r.values == (StoredValue(POWER, -1e-300, unit="kW"),) for r in found)

    ordered = sorted(readings, key=lambda r: (r.reading_time, r.meter_id, r.reading_id))
    for prop in ("STATE", "BILLING", ENERGY):  # one property, cut out in SQL
        selected = list(store.query_readings(ReadingFilter(properties=(prop,))))
        assert [r.values for r in selected] == [
            tuple(v for v in r.values if v.property_id == prop) for r in ordered
        ]
    twice = StoredReading("twice", "m3", T0, (StoredValue("X", 1.0), StoredValue("X", 2.0)))
    store.write_batch([twice])
    (got,) = store.query_readings(ReadingFilter(meter_ids=("m3",), properties=("X",)))
    assert got.values == twice.values

    assert store.delete_reading("r-07")
    later = StoredReading(
        "r-new", "m1", T0 + timedelta(hours=1, minutes=50), (StoredValue(ENERGY, 5.0),)
    )
    assert store.write_batch([later]).stored == 1
    merged = _table(old_store, _ROLLUPS)
    store.rebuild_rollups()
    assert _table(old_store, _ROLLUPS) == merged

    dated = store.get_reading("r-01")
    assert dated.values[3].date == datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC)
    record = store.erase_meter("m2", actor="test")
    assert record.rows["reading_values"] == sum(
        len(r.values) for r in readings if r.meter_id == "m2"
    )
    assert record.rows["readings"] == sum(1 for r in readings if r.meter_id == "m2")


def test_cl1_dates_with_an_offset_come_back_in_utc(tmp_path: Path) -> None:
    """CL-1: a value's date is stored in UTC whatever its offset, as before the packing."""
    store = SqliteStore(tmp_path / "s.sqlite3")
    store.migrate()
    try:
        when = datetime(2024, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
        store.write_batch([StoredReading("d", "m", T0, (StoredValue("D", 1.0, date=when),))])
        got = store.get_reading("d")
        assert got is not None
        assert got.values[0].date == when
        assert got.values[0].date.utcoffset() == timedelta(0)  # type: ignore[union-attr]
    finally:
        store.close()
