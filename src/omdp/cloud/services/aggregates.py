"""Aggregates of one property per bucket for a set of meters: the query planning between a
request and the rollups.

The service bounds the work (meters x buckets), picks the timezone of days and months (the
request's, else the household's, else UTC) and asks the rollups for the buckets, always with
their reading counts, so that a caller can apply the small-result rule (CL-8). Who may see
which meters is decided before (the API's privacy rules).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Final, Protocol

from omdp.cloud.model import ALL_FUNCTIONS, AggregateFunction, AggregateRow, Interval
from omdp.cloud.storage.port import AggregateQuery, Registry
from omdp.errors import OmdpError

MAX_BUCKETS: Final = 200_000
"""Most buckets (meters x buckets) one request may ask for."""
WIDTH_S: Final = {Interval.QUARTER_HOUR: 900, Interval.HOUR: 3600, Interval.DAY: 86400}
"""Bucket widths in seconds; a month counts as 28 days (the most buckets a span can hold)."""


class TooManyBuckets(OmdpError):
    """A request would compute more than :data:`MAX_BUCKETS` buckets."""


class AggregateSource(Registry, AggregateQuery, Protocol):
    """The households' timezones (registry) and the rollups."""


def bucket_count(interval: Interval, start: datetime, end: datetime, meters: int) -> float:
    """How many buckets ``meters`` meters have in ``[start, end)`` at most."""
    width = WIDTH_S.get(interval, 28 * 86400)
    return (end - start).total_seconds() / width * max(meters, 1)


class AggregatesService:
    """Buckets of one property for meters already chosen (and allowed) by the caller."""

    def __init__(self, store: AggregateSource) -> None:
        self.store = store

    def buckets(
        self,
        *,
        property_id: str,
        interval: Interval,
        start: datetime,
        end: datetime,
        meter_ids: Sequence[str],
        household_id: str | None = None,
        functions: Collection[AggregateFunction] = ALL_FUNCTIONS,
        timezone: str | None = None,
        combine: bool = False,
    ) -> list[AggregateRow]:
        """One row per meter and bucket (one per bucket with ``combine``), counts included.

        Raises:
            TooManyBuckets: the span is too long for this many meters.
            RegistryError: an unknown timezone.
        """
        buckets = bucket_count(interval, start, end, len(meter_ids))
        if buckets > MAX_BUCKETS:
            msg = f"{int(buckets)} buckets asked for, at most {MAX_BUCKETS}: shorten the span"
            raise TooManyBuckets(msg)
        zone = timezone
        if zone is None and household_id is not None:
            household = self.store.get_household(household_id)
            zone = None if household is None else household.timezone
        return self.store.aggregates(
            property_id=property_id,
            interval=interval,
            start=start,
            end=end,
            meter_ids=list(meter_ids),
            functions={*functions, AggregateFunction.COUNT},
            timezone=zone,
            combine=combine,
        )
