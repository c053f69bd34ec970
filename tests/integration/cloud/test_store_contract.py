"""One contract for every ReadingStore: SQLite in a temporary folder and PostgreSQL.

Requirement ids: CL-1 (every reading stored in the data model), CL-11 (delete a reading),
CL-13 (retention and erasure), DM-4..DM-6 (registry relations).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from omdp.cloud.model import (
    AggregateFunction,
    Interval,
    QuarantineEntry,
    ReadingFilter,
    RetentionPolicy,
    StoredReading,
    StoredValue,
    ValueFilter,
)
from omdp.cloud.storage import ReadingStore, RegistryError, sqlbase
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

pytestmark = pytest.mark.integration

T0 = datetime(2024, 3, 1, tzinfo=UTC)
ENERGY = "OBIS_1.8.0"
POWER = "OBIS_1.7.0"
BERLIN = ZoneInfo("Europe/Berlin")


def reading(
    rid: str, meter: str, when: datetime, energy: float | None = None, **extra: float
) -> StoredReading:
    values = []
    if energy is not None:
        values.append(StoredValue(ENERGY, energy, unit="kWh"))
    values.extend(StoredValue(pid.replace("_", "."), v) for pid, v in extra.items())
    return StoredReading(rid, meter, when, tuple(values))


def series(meter: str, start: datetime, count: int, step_min: int = 15) -> list[StoredReading]:
    return [
        StoredReading(
            f"{meter}-{i}",
            meter,
            start + timedelta(minutes=step_min * i),
            (
                StoredValue(ENERGY, 1000.0 + i, unit="kWh"),
                StoredValue(POWER, float(i % 10), unit="kW"),
                StoredValue("STATE", text_value="ok" if i % 2 else "warn"),
            ),
        )
        for i in range(count)
    ]


def test_insert_is_idempotent_and_counts_duplicates(store: ReadingStore) -> None:
    """CL-1: each reading stored once; a re-sent id is skipped and counted, also within a batch."""
    batch = series("m1", T0, 100)
    assert store.write_batch(batch[:60]).stored == 60
    result = store.write_batch([*batch[40:], batch[99]])
    assert (result.stored, result.duplicates) == (40, 21)
    assert store.count_readings(ReadingFilter()) == 100
    got = store.get_reading("m1-7")
    assert got is not None
    assert got.values == batch[7].values
    assert got.reading_time == batch[7].reading_time
    assert store.get_reading("nope") is None


def test_query_order_paging_time_range_and_meters(store: ReadingStore) -> None:
    """CL-1: stable order (time, meter, id), limit/offset, [start, end), meter ids."""
    store.write_batch(series("m2", T0, 50) + series("m1", T0, 50))
    everything = list(store.query_readings(ReadingFilter()))
    keys = [(r.reading_time, r.meter_id, r.reading_id) for r in everything]
    assert keys == sorted(keys)
    assert len(everything) == 100
    # exact types: named tuples, times in UTC (the tzinfo itself, as written)
    assert all(type(r) is StoredReading and r.reading_time.tzinfo is UTC for r in everything)
    page = list(store.query_readings(ReadingFilter(), limit=7, offset=10))
    assert [r.reading_id for r in page] == [r.reading_id for r in everything[10:17]]
    flt = ReadingFilter(
        start=T0 + timedelta(hours=1), end=T0 + timedelta(hours=2), meter_ids=("m1",)
    )
    ids = [r.reading_id for r in store.query_readings(flt)]
    assert ids == ["m1-4", "m1-5", "m1-6", "m1-7"]
    assert store.count_readings(flt) == 4


def test_streamed_pages_join_values_the_same_bounded_or_not(
    store: ReadingStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """CL-3, CL-15: pages of the streaming join (keyset paging, here 3 readings a page)
    carry each reading's values in order, whether the filter bounds meters and time or not;
    readings without a selected value stay."""
    monkeypatch.setattr(sqlbase, "PAGE", 3)
    written = series("m2", T0, 10) + series("m1", T0, 10)
    written.append(StoredReading("bare", "m1", T0 + timedelta(minutes=1)))
    store.write_batch(written)
    by_id = {r.reading_id: r for r in written}
    everything = list(store.query_readings(ReadingFilter()))
    assert len(everything) == 21
    assert all(r.values == by_id[r.reading_id].values for r in everything)
    bounded = ReadingFilter(
        start=T0, end=T0 + timedelta(hours=3), meter_ids=("m1",), properties=(POWER, "STATE")
    )
    got = list(store.query_readings(bounded, offset=1))
    assert [r.reading_id for r in got] == ["bare", *(f"m1-{i}" for i in range(1, 10))]
    assert got[0].values == ()
    assert [v.property_id for v in got[1].values] == [POWER, "STATE"]
    assert got[1].values[1].text_value == "ok"
    unbounded = ReadingFilter(meter_ids=("m1",), properties=(POWER,))
    power = [(StoredValue(POWER, float(i), unit="kW"),) for i in range(10)]
    assert [r.values for r in store.query_readings(unbounded)] == [power[0], (), *power[1:]]


@pytest.mark.parametrize(
    ("start", "end"),
    [(None, None), (T0 + timedelta(hours=1), None), (None, T0 + timedelta(hours=2)),
     (T0 + timedelta(hours=1), T0 + timedelta(hours=2))],
)  # fmt: skip
def test_one_meter_span_read_by_its_own_key_matches_the_time_order(
    store: ReadingStore,
    monkeypatch: pytest.MonkeyPatch,
    start: datetime | None,
    end: datetime | None,
) -> None:
    """CL-3: a query of one meter (read through the index that leads with the meter) gives
    what the same span gives among other meters, whose ids sort right next to it: every
    reading of the meter once, in order, across pages, open-ended or not."""
    monkeypatch.setattr(sqlbase, "PAGE", 3)
    neighbours = ("m", "m1", "m1 ", "m10", "m0")
    written = [r for m in neighbours for r in series(m, T0, 12)]
    written.append(StoredReading("m1-same-time", "m1", T0 + timedelta(hours=1)))
    store.write_batch(written)
    among = ReadingFilter(start=start, end=end, meter_ids=neighbours)
    expected = [r for r in store.query_readings(among) if r.meter_id == "m1"]
    assert expected, "the span holds readings of the meter"
    for ids in (("m1",), ("m1", "m1")):
        flt = ReadingFilter(start=start, end=end, meter_ids=ids)
        assert list(store.query_readings(flt)) == expected
        assert store.count_readings(flt) == len(expected)
        assert list(store.query_readings(flt, limit=4, offset=2)) == expected[2:6]


def test_property_filters_and_returned_properties(store: ReadingStore) -> None:
    """CL-3 semantics: every filter must hold; all conditions of one filter on one value."""
    store.write_batch(series("m1", T0, 40))
    power_3_to_6 = ValueFilter(POWER, greater_than=3, less_than=6)
    flt = ReadingFilter(filters=(power_3_to_6,))
    assert {r.values[1].numerical_value for r in store.query_readings(flt)} == {4.0, 5.0}
    both = ReadingFilter(filters=(power_3_to_6, ValueFilter("STATE", text_equal_to="ok")))
    assert [r.reading_id for r in store.query_readings(both)] == ["m1-5", "m1-15", "m1-25", "m1-35"]
    assert store.count_readings(both) == 4
    missing = ReadingFilter(filters=(ValueFilter("OBIS_99.9.9"),))
    assert store.count_readings(missing) == 0
    eq = ReadingFilter(filters=(ValueFilter(ENERGY, equal_to=1003.0),), properties=(POWER,))
    [only] = store.query_readings(eq)
    assert [v.property_id for v in only.values] == [POWER]


def test_delete_reading_updates_rollups(store: ReadingStore) -> None:
    """CL-11: a deleted reading is gone and its buckets no longer count it."""
    store.write_batch(series("m1", T0, 8))
    assert store.delete_reading("m1-1") is True
    assert store.delete_reading("m1-1") is False
    assert store.get_reading("m1-1") is None
    rows = store.aggregates(
        property_id=POWER,
        interval=Interval.HOUR,
        start=T0,
        end=T0 + timedelta(hours=2),
        meter_ids=["m1"],
    )
    assert [r.count for r in rows] == [3, 4]
    assert rows[0].min == 0.0
    assert rows[0].mean == pytest.approx((0 + 2 + 3) / 3)


def _element(props: list[str]) -> PhysicalMeterElement:
    return PhysicalMeterElement(
        physical_element_id="el-1",
        physical_element_name="3-phase meter",
        physical_meter_class=MeterClass.ELECTRICITY,
        physical_meter_operational_properties=[
            OperationalPropertyDefinition(property_id=p) for p in props
        ],
    )


def test_registry_relations_and_unknown_meters(store: ReadingStore) -> None:
    """DM-4: properties seeded from the catalogue; DM-5: an element lists its properties;
    DM-6: a meter names its element and household. Unknown meters' readings are kept (CL-1).
    """
    assert store.get_property(ENERGY) is not None
    assert store.property_kind(ENERGY) == "cumulative"
    store.put_property(OperationalPropertyDefinition(property_id="SITE_x", allowed_units=["h"]))
    assert store.get_property("SITE_x") == OperationalPropertyDefinition(
        property_id="SITE_x", allowed_units=["h"]
    )
    store.put_household(Household(household_id="h1", timezone="Europe/Berlin"))
    store.put_element(_element([ENERGY, POWER]))
    element = store.get_element("el-1")
    assert element is not None
    assert sorted(p.property_id for p in element.physical_meter_operational_properties) == [
        POWER,
        ENERGY,
    ]
    store.put_meter(
        MeterIndividual(
            meter_individual_id="m1",
            household_id="h1",
            physical_meter_type=PhysicalMeterElement(
                physical_element_id="el-1", physical_meter_class=MeterClass.ELECTRICITY
            ),
        )
    )
    meter = store.get_meter("m1")
    assert meter is not None
    assert meter.physical_meter_type is not None
    assert len(meter.physical_meter_type.physical_meter_operational_properties) == 2
    assert [m.meter_individual_id for m in store.list_meters(household_id="h1")] == ["m1"]
    with pytest.raises(RegistryError, match="DM-6"):
        store.put_meter(MeterIndividual(meter_individual_id="m9"))
    with pytest.raises(RegistryError, match="household h404"):
        store.put_meter(
            MeterIndividual(
                meter_individual_id="m9", household_id="h404", physical_meter_type=_element([])
            )
        )
    store.write_batch(series("m1", T0, 3) + series("stranger", T0, 5))
    [unknown] = store.unknown_meters()
    assert (unknown.meter_id, unknown.readings) == ("stranger", 5)
    assert unknown.first_seen == T0


def _cumulative(meter: str, values: list[tuple[datetime, float]]) -> list[StoredReading]:
    return [
        StoredReading(f"{meter}-{w.isoformat()}", meter, w, (StoredValue(ENERGY, v),))
        for w, v in values
    ]


def test_cl14_meter_sites_are_set_kept_and_moved(store: ReadingStore) -> None:
    """CL-14, CO-3 (migration 3): a meter's site (concentrator) is set, survives an update of
    the meter, moves, and is listed per site; an unknown meter has none."""
    store.put_household(Household(household_id="h1", timezone="Europe/Berlin"))
    element = _element([ENERGY])
    for meter in ("m-1", "m-2"):
        individual = MeterIndividual(
            meter_individual_id=meter, household_id="h1", physical_meter_type=element
        )
        store.put_meter(individual)
    assert store.meter_sites() == {}
    assert store.set_meter_site("m-1", "edge-a")
    assert store.set_meter_site("m-2", "edge-a")
    assert not store.set_meter_site("nope", "edge-a")
    store.put_meter(  # an update of the meter keeps its site
        MeterIndividual(
            meter_individual_id="m-1",
            meter_individual_name="renamed",
            household_id="h1",
            physical_meter_type=element,
        )
    )
    assert store.meter_site("m-1") == "edge-a"
    assert store.set_meter_site("m-2", "edge-b")
    assert store.meter_sites() == {"m-1": "edge-a", "m-2": "edge-b"}
    assert store.meter_sites(concentrator_id="edge-b") == {"m-2": "edge-b"}
    assert store.set_meter_site("m-1", None)
    assert store.meter_site("m-1") is None
    assert store.meter_site("nope") is None


def test_daily_rollups_on_dst_days_with_reset_and_gap(store: ReadingStore) -> None:
    """CL-1 rollups: local days of 23 and 25 hours; a counter reset counts from zero; a gap
    stays a gap and its consumption goes to the first bucket after it.
    """
    store.put_household(Household(household_id="h1", timezone="Europe/Berlin"))
    store.put_meter(
        MeterIndividual(
            meter_individual_id="m1", household_id="h1", physical_meter_type=_element([ENERGY])
        )
    )
    spring = datetime(2024, 3, 30, 23, tzinfo=UTC)  # 2024-03-31 00:00 in Berlin
    hours = [(spring + timedelta(hours=h), 100.0 + h) for h in range(23 + 24)]
    store.write_batch(_cumulative("m1", hours))
    rows = store.aggregates(
        property_id=ENERGY,
        interval=Interval.DAY,
        start=spring,
        end=spring + timedelta(hours=47),
        household_id="h1",
    )
    assert [(r.start.astimezone(BERLIN).day, r.count) for r in rows] == [(31, 23), (1, 24)]
    assert rows[0].end - rows[0].start == timedelta(hours=23)
    assert rows[0].consumption == 22.0  # the first value has no predecessor
    assert rows[1].consumption == 24.0

    autumn = datetime(2024, 10, 26, 22, tzinfo=UTC)  # 2024-10-27 00:00 in Berlin
    values = [(autumn + timedelta(hours=h), 500.0 + h) for h in range(25)]
    values[10] = (values[10][0], 3.0)  # reset: 509 -> 3 counts 3
    values = [(w, v - 507.0 if i > 10 else v) for i, (w, v) in enumerate(values)]
    store.write_batch(_cumulative("m1", values))
    [day] = store.aggregates(
        property_id=ENERGY,
        interval=Interval.DAY,
        start=autumn,
        end=autumn + timedelta(hours=25),
        meter_ids=["m1"],
    )
    assert day.count == 25
    assert day.end - day.start == timedelta(hours=25)
    # 9 steps of 1 to the reset, 3 at the reset, 14 steps of 1 after; plus the step from the
    # last spring value (146) to 500, attributed across the gap to this first bucket
    assert day.consumption == 9 + 3 + 14 + (500 - 146)

    hourly = store.aggregates(
        property_id=ENERGY,
        interval=Interval.HOUR,
        start=spring + timedelta(hours=40),
        end=autumn + timedelta(hours=2),
        meter_ids=["m1"],
        functions={AggregateFunction.CONSUMPTION, AggregateFunction.LAST},
    )
    assert len(hourly) == 7 + 2  # no rows for the missing hours: the gap stays a gap
    assert hourly[7].consumption == 500 - 146
    assert hourly[7].count is None


def test_late_and_out_of_order_readings_update_their_buckets(store: ReadingStore) -> None:
    """CL-1: a late reading lands in its bucket; the rollup equals a recomputation."""
    base = [(T0 + timedelta(minutes=10 * i), 10.0 * i) for i in range(12)]
    late = base.pop(4)
    store.write_batch(_cumulative("m1", base[6:]))
    store.write_batch(_cumulative("m1", base[:6]))
    store.write_batch(_cumulative("m1", [late]))
    rows = store.aggregates(
        property_id=ENERGY,
        interval=Interval.QUARTER_HOUR,
        start=T0,
        end=T0 + timedelta(hours=2),
        meter_ids=["m1"],
    )
    assert sum(r.count or 0 for r in rows) == 12
    assert [r.max for r in rows] == [10.0, 20.0, 40.0, 50.0, 70.0, 80.0, 100.0, 110.0]
    assert sum(r.consumption or 0 for r in rows) == 110.0
    assert rows[2].consumption == 20.0
    store.rebuild_rollups()
    assert (
        store.aggregates(
            property_id=ENERGY,
            interval=Interval.QUARTER_HOUR,
            start=T0,
            end=T0 + timedelta(hours=2),
            meter_ids=["m1"],
        )
        == rows
    )


def test_quarter_hours_take_the_value_before_their_span_from_within_the_hour(
    store: ReadingStore,
) -> None:
    """CL-1: a quarter-hour span starting inside an hour steps from the last value before it
    (same hour) and one starting on the hour from the previous hour's last value; other
    meters and properties in the same readings change nothing."""
    values = [(T0 + timedelta(minutes=10 * i), 10.0 * i) for i in range(12)]
    store.write_batch(
        [
            StoredReading(
                f"m1-{i}", "m1", w, (StoredValue(POWER, -5.0), StoredValue(ENERGY, v))
            )
            for i, (w, v) in enumerate(values)
        ]
        + _cumulative("m2", [(w, 1e6 - v) for w, v in values])
    )

    def quarters(start: datetime) -> list[tuple[float | None, float | None]]:
        rows = store.aggregates(
            property_id=ENERGY,
            interval=Interval.QUARTER_HOUR,
            start=start,
            end=T0 + timedelta(hours=2),
            meter_ids=["m1"],
        )
        return [(r.consumption, r.max) for r in rows]

    # 10:30 holds 30 and 40, and the last value before it (20) is in the same hour
    assert quarters(T0 + timedelta(minutes=30))[:2] == [(20.0, 40.0), (10.0, 50.0)]
    # 11:00 holds 60 and 70; the last value before it (50) is the previous hour's last
    assert quarters(T0 + timedelta(hours=1))[0] == (20.0, 70.0)
    assert sum(c or 0 for c, _ in quarters(T0)) == 110.0


def test_retention_by_household_class_and_default(store: ReadingStore) -> None:
    """CL-13: readings older than their rule are deleted; the most specific rule wins."""
    store.put_household(Household(household_id="h1", timezone="UTC"))
    store.put_meter(
        MeterIndividual(
            meter_individual_id="kept-long", household_id="h1", physical_meter_type=_element([])
        )
    )
    now = datetime(2024, 6, 1, tzinfo=UTC)
    old = now - timedelta(days=100)
    recent = now - timedelta(days=5)
    for meter in ("kept-long", "other"):
        store.write_batch(
            [reading(f"{meter}-old", meter, old, 1.0), reading(f"{meter}-new", meter, recent, 2.0)]
        )
    policy = RetentionPolicy(default_days=30, household_days={"h1": 365})
    report = store.apply_retention(policy, now=now)
    assert report.readings_deleted == 1
    ids = sorted(r.reading_id for r in store.query_readings(ReadingFilter()))
    assert ids == ["kept-long-new", "kept-long-old", "other-new"]
    rows = store.aggregates(
        property_id=ENERGY,
        interval=Interval.MONTH,
        start=old - timedelta(days=40),
        end=now,
        meter_ids=["other"],
    )
    assert [r.count for r in rows] == [1]


def test_erasure_removes_everything_and_is_audited(store: ReadingStore) -> None:
    """CL-13: erasure of a household removes its meters, readings, rollups and quarantined
    messages, and leaves an audit record with counts, not data.
    """
    store.put_household(Household(household_id="h1", timezone="UTC"))
    store.put_meter(
        MeterIndividual(
            meter_individual_id="m1", household_id="h1", physical_meter_type=_element([ENERGY])
        )
    )
    bad = QuarantineEntry(
        "concentrator/e1/smartMeterMessage/m1/readings", b"{", T0, (("$", "not JSON"),)
    )
    other = QuarantineEntry(
        "concentrator/e1/smartMeterMessage/m1x/readings", b"{", T0, (("$", "not JSON"),)
    )
    store.write_batch(series("m1", T0, 10) + series("m2", T0, 3), [bad, other])
    record = store.erase_household("h1", actor="support-ticket-42")
    assert record.rows["readings"] == 10
    assert record.rows["quarantine"] == 1
    assert record.rows["households"] == 1
    assert store.count_readings(ReadingFilter()) == 3
    assert store.get_household("h1") is None
    assert store.get_meter("m1") is None
    assert store.count_quarantine() == 1
    meter_record = store.erase_meter("m2", actor="ops")
    assert meter_record.rows["readings"] == 3
    log = store.erasure_log()
    assert [(r.actor, r.subject_kind, r.subject_id) for r in log] == [
        ("support-ticket-42", "household", "h1"),
        ("ops", "meter", "m2"),
    ]
    assert log[0].total_rows == record.total_rows


def test_quarantine_list_get_delete(store: ReadingStore) -> None:
    """CL-2: quarantined messages keep topic, bytes, time and reasons."""
    entries = [
        QuarantineEntry(
            f"concentrator/e/smartMeterMessage/m{i}/readings", b"\xff", T0, (("$", "x"),)
        )
        for i in range(3)
    ]
    store.write_batch([], entries)
    listed = store.list_quarantine()
    assert [e.topic for e in listed] == [e.topic for e in entries]
    assert listed[0].payload == b"\xff"
    assert listed[0].problems == (("$", "x"),)
    assert listed[0].entry_id is not None
    assert store.get_quarantine(listed[0].entry_id) == listed[0]
    assert store.delete_quarantine([listed[0].entry_id]) == 1
    assert store.count_quarantine() == 2
    assert store.delete_quarantine() == 2


def test_migrate_is_idempotent(store: ReadingStore) -> None:
    """Migrations are versioned: applying them again changes nothing."""
    assert store.migrate() == store.migrate() == _latest(store)


def _latest(store: ReadingStore) -> int:
    """The newest schema version the store knows."""
    return max(version for version, _what, _sql in store.migrations)  # type: ignore[attr-defined]
