"""The aggregates service over real stores: bounded work, the household's days, counts for the
small-result rule.

Requirement ids: CL-8 (every bucket carries its reading count, also when the caller did not
ask for it, so that results from fewer than 20 readings can be refused), CL-15 (a request's
work is bounded: meters x buckets).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from omdp.cloud.model import AggregateFunction, Interval, StoredReading, StoredValue
from omdp.cloud.services.aggregates import MAX_BUCKETS, AggregatesService, TooManyBuckets
from omdp.cloud.storage import ReadingStore
from omdp.domain.household import Household
from omdp.domain.reading import MeterClass, MeterIndividual, PhysicalMeterElement

pytestmark = pytest.mark.integration

# 2024-03-01 00:00 in Tokyo (UTC+9) is 2024-02-29 15:00 UTC
TOKYO_DAY = datetime(2024, 2, 29, 15, tzinfo=UTC)


@pytest.fixture
def store(store: ReadingStore) -> ReadingStore:
    """A store with one Tokyo household, one meter and a reading every hour for two days."""
    s = store
    s.put_household(Household(household_id="h-tokyo", timezone="Asia/Tokyo"))
    element = PhysicalMeterElement(
        physical_element_id="el-1", physical_meter_class=MeterClass.ELECTRICITY
    )
    s.put_meter(
        MeterIndividual(
            meter_individual_id="m-1", household_id="h-tokyo", physical_meter_type=element
        )
    )
    s.write_batch(
        [
            StoredReading(
                f"r-{i}",
                "m-1",
                TOKYO_DAY + timedelta(hours=i),
                (StoredValue("OBIS_1.8.0", 100.0 + i, unit="kWh"),),
            )
            for i in range(48)
        ]
    )
    return s


def test_cl8_days_are_the_households_and_counts_always_come(store: ReadingStore) -> None:
    """CL-8: asked for the last value only, each day still carries its count; without a
    timezone the days are the household's (Tokyo), 24 readings each."""
    rows = AggregatesService(store).buckets(
        property_id="OBIS_1.8.0",
        interval=Interval.DAY,
        start=TOKYO_DAY,
        end=TOKYO_DAY + timedelta(days=2),
        meter_ids=["m-1"],
        household_id="h-tokyo",
        functions={AggregateFunction.LAST},
    )
    assert [(r.start, r.count, r.last) for r in rows] == [
        (TOKYO_DAY, 24, 123.0),
        (TOKYO_DAY + timedelta(days=1), 24, 147.0),
    ]


def test_cl15_too_many_buckets_are_refused_before_any_query(store: ReadingStore) -> None:
    """CL-15: a span of more quarter-hours than the limit (over all meters) is refused."""
    service = AggregatesService(store)
    span = timedelta(minutes=15) * (MAX_BUCKETS // 2 + 1)
    with pytest.raises(TooManyBuckets):
        service.buckets(
            property_id="OBIS_1.8.0",
            interval=Interval.QUARTER_HOUR,
            start=TOKYO_DAY,
            end=TOKYO_DAY + span,
            meter_ids=["m-1", "m-2"],
        )
    rows = service.buckets(
        property_id="OBIS_1.8.0",
        interval=Interval.QUARTER_HOUR,
        start=TOKYO_DAY,
        end=TOKYO_DAY + span,
        meter_ids=["m-1"],
    )
    assert sum(r.count or 0 for r in rows) == 48
