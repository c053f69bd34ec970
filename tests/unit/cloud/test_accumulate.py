"""The one accumulator of consumption (counter drops, gaps, late data) and the packed values.

Requirement ids: CL-1 (every reading stored in the data model, its rollups derived from it).
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from itertools import pairwise
from typing import Any

from omdp.cloud.model import StoredReading, StoredValue
from omdp.cloud.storage.accumulate import Partial, fold_readings, step, step_sql
from omdp.cloud.storage.energy import Cell, register_cells
from omdp.cloud.storage.packing import pack, unpack, unpacker
from omdp.cloud.storage.rollups import batch_partials, merge_sql, replace_sql
from omdp.cloud.storage.sqlite import SqliteDialect

US = 1_000_000
HOUR_US = 3600 * US


def test_cl1_step_counts_a_drop_from_zero() -> None:
    """CL-1: consumption between register values; a drop (reset) counts from zero."""
    assert step(None, 5.0) == 0.0
    assert step(5.0, 5.0) == 0.0
    assert step(5.0, 7.5) == 2.5
    assert step(99999.0, 3.0) == 3.0


def test_cl1_step_sql_is_the_same_rule() -> None:
    """CL-1: the SQL form of the rule (the merge of stored buckets) agrees with the Python one
    on every pair, rises, equal values and drops alike."""
    pairs = [(1.0, 2.0), (2.0, 2.0), (5.0, 1.0), (0.0, 0.0), (1e9, 0.5), (-3.0, -1.0)]
    conn = sqlite3.connect(":memory:")
    sql = f"SELECT {step_sql('p', 'c')} FROM (SELECT ? AS p, ? AS c)"  # noqa: S608
    for p, c in pairs:
        assert conn.execute(sql, (p, c)).fetchone()[0] == step(p, c), (p, c)


def _readings(
    values: list[tuple[int, float | None]], meter: str = "m"
) -> list[tuple[str, int, tuple[StoredValue, ...]]]:
    return [(meter, t, (StoredValue("E", v), StoredValue("S", text_value="x"))) for t, v in values]


def test_cl1_fold_keeps_count_extremes_and_internal_consumption_with_a_reset() -> None:
    """CL-1: a bucket's partial holds count, min, max, sum, first and last with their times,
    and the consumption inside it, a reset counting from zero; values without a number and
    text values are skipped."""
    rows = _readings([(0, 10.0), (900 * US, 12.0), (1800 * US, None), (2700 * US, 1.0)])
    (part,) = fold_readings(rows, 3600)
    assert part == Partial("m", "E", 3600, 0, 3, 1.0, 12.0, 23.0, 0, 10.0, 2700 * US, 1.0, 3.0)


def _rounded(rows: list[Any]) -> list[tuple[Any, ...]]:
    """Rows with their floats rounded (sums taken in another order differ in the last bit)."""
    return [tuple(round(x, 9) if isinstance(x, float) else x for x in r) for r in rows]


def test_cl1_fold_of_split_batches_merged_equals_the_fold_of_all() -> None:
    """CL-1 late and split data: folding two batches and merging them in SQL (the ingest
    path, :func:`merge_sql`) gives the same rollups as folding every value at once (the
    recomputation path), across counter resets and gaps; a late batch marks its bucket dirty
    and the recomputation replaces it with the full fold."""
    rng = random.Random(7)
    values: list[tuple[int, float]] = []
    register = 100.0
    for i in range(200):
        if i in (50, 120):
            register = rng.uniform(0, 5)  # a reset
        else:
            register += rng.choice([0.0, 0.25, 1.5])
        gap = 5 if i == 80 else 1  # a gap of hours without values
        t = (values[-1][0] if values else 0) + gap * 900 * US
        values.append((t, register))
    whole = fold_readings(_readings(values), 3600)

    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE rollups (meter_id TEXT, property_id TEXT, width INTEGER, bucket INTEGER,"
        " n INTEGER, vmin REAL, vmax REAL, vsum REAL, first_t INTEGER, first_v REAL,"
        " last_t INTEGER, last_v REAL, internal REAL, dirty INTEGER,"
        " PRIMARY KEY (meter_id, property_id, width, bucket))"
    )
    merge = merge_sql(SqliteDialect("sqlite", least="min", greatest="max"))
    cut = 101  # inside an hour: the second batch merges into the first one's last bucket
    for batch in (values[:cut], values[cut:]):
        conn.executemany(merge, fold_readings(_readings(batch), 3600))
    stored = conn.execute(
        "SELECT meter_id, property_id, width, bucket, n, vmin, vmax, vsum, first_t, first_v,"
        " last_t, last_v, internal FROM rollups ORDER BY bucket"
    ).fetchall()
    assert _rounded(stored) == _rounded(sorted(whole, key=lambda p: p.bucket))
    assert conn.execute("SELECT count(*) FROM rollups WHERE dirty = 1").fetchone()[0] == 0

    late = [(values[9][0] + 1, 50.0)]  # a late value before its hour's last one
    conn.executemany(merge, fold_readings(_readings(late), 3600))
    dirty = conn.execute("SELECT bucket FROM rollups WHERE dirty = 1").fetchall()
    assert dirty == [(values[9][0] - values[9][0] % HOUR_US,)]
    recomputed = fold_readings(_readings(sorted([*values, *late])), 3600)
    conn.executemany(replace_sql(), recomputed)
    assert conn.execute("SELECT count(*) FROM rollups WHERE dirty = 1").fetchone()[0] == 0
    stored = conn.execute(
        "SELECT meter_id, property_id, width, bucket, n, vmin, vmax, vsum, first_t, first_v,"
        " last_t, last_v, internal FROM rollups ORDER BY bucket"
    ).fetchall()
    assert _rounded(stored) == _rounded(sorted(recomputed, key=lambda p: p.bucket))


def test_cl1_register_cells_count_a_reset_between_buckets_from_zero() -> None:
    """CL-1: between two buckets of a register, a drop counts the new first value from zero,
    as inside a bucket."""
    cells = [
        Cell(0, 0, 100.0, 2700 * US, 104.0, 4.0),
        Cell(HOUR_US, HOUR_US, 2.0, HOUR_US + 2700 * US, 3.0, 1.0),
    ]
    out = register_cells(None, cells, width_us=HOUR_US, floor=0)
    assert out == {0: [4.0, 0.0], HOUR_US: [3.0, 0.0]}
    steps = [step(a, b) for a, b in pairwise([100.0, 104.0, 2.0, 3.0])]
    assert sum(v[0] for v in out.values()) == sum(steps)


def test_cl1_packed_values_come_back_whole_or_selected() -> None:
    """CL-1: a reading's values packed in its row come back in order, all or only the selected
    properties: numbers exactly, texts with quotes and brackets, dates in UTC."""
    when = datetime(2024, 1, 1, 1, 0, 0, 123456, tzinfo=timezone(timedelta(hours=1)))
    values = (
        StoredValue("A", 0.1 + 0.2, unit="kWh"),
        StoredValue("B", text_value='say "]" [here]'),
        StoredValue("C", 5.0, date=when),
        StoredValue("Ä", -1e-300),
    )
    text = pack(values)
    assert unpack(text) == values
    assert unpack(text)[2].date.utcoffset() == timedelta(0)  # type: ignore[union-attr]
    assert unpack(text, ("C",)) == (values[2],)
    assert text.count("]") == len(values) + 1  # every raw "]" closes an array
    assert unpack(text, ("B",)) == (values[1],)
    assert unpack(text, ("Ä",)) == (values[3],)
    assert unpack(text, ("A", "Ä")) == (values[0], values[3])
    assert unpack(text, ("missing",)) == ()
    twice = pack((StoredValue("A", 1.0), StoredValue("A", 2.0)))
    assert unpacker(("A",))(twice) == (StoredValue("A", 1.0), StoredValue("A", 2.0))
    assert unpack(pack(())) == ()
    assert unpack(text)[2].date == when.astimezone(UTC)


def test_cl1_packed_dates_of_several_values_each_in_utc() -> None:
    """CL-1: values sharing one date, another date, another offset and none: each comes back
    as the same instant in UTC (the packer converts a run of equal dates once)."""
    plus1 = datetime(2024, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    same = datetime(2024, 3, 1, 13, 0, tzinfo=timezone(timedelta(hours=2)))  # == plus1
    later = datetime(2024, 3, 1, 12, 15, tzinfo=timezone(timedelta(hours=1)))
    values = (
        StoredValue("A", 1.0, date=plus1),
        StoredValue("B", 2.0, date=plus1),
        StoredValue("C", 3.0, date=same),
        StoredValue("D", 4.0),
        StoredValue("E", 5.0, date=later),
        StoredValue("F", 6.0, date=plus1),
    )
    back = unpack(pack(values))
    assert back == values
    assert [v.date.utcoffset() for v in back if v.date] == [timedelta(0)] * 5
    assert [v.date for v in back] == [v.date.astimezone(UTC) if v.date else None for v in values]


def test_cl1_batch_partials_come_in_the_rollups_key_order() -> None:
    """CL-1: a batch's hourly partials come sorted by the rollups' key (meter, property,
    width, bucket), whatever order the readings arrive in, and are those of the fold."""
    start = datetime(2024, 1, 1, tzinfo=UTC)
    readings = [
        StoredReading(
            reading_id=f"r{i}",
            meter_id=meter,
            reading_time=start + timedelta(minutes=20 * i),
            values=(StoredValue("z", float(i)), StoredValue("a", float(-i))),
        )
        for i in range(9)
        for meter in ("m2", "m1")
    ]
    times = [int(r.reading_time.timestamp()) * 1_000_000 for r in readings]
    parts = batch_partials(readings, range(len(readings)), times)
    assert parts == sorted(parts)
    assert [(p.meter_id, p.property_id) for p in parts[:3]] == [("m1", "a")] * 3
    pairs = zip(readings, times, strict=True)
    folded = fold_readings(((r.meter_id, t, r.values) for r, t in pairs), 3600)
    assert sorted(folded) == parts
