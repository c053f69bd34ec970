"""Turning mapped values into MeterReadings (DM-1, DM-2, AD-3).

- ``meterReadingIdentifier`` is a fresh UUID per reading, made once and kept with the reading
  in the outbox, so that a re-sent reading is recognisably the same.
- ``readingTime`` is the meter's own clock where it has one (DSMR's summer/winter flag, M-Bus
  date-time records) and the adapter's clock otherwise, always with the UTC offset of the
  configured timezone at that instant (so +01:00 in winter and +02:00 in summer in Berlin).
- ``faultCode`` is set when the meter reports an error state, when its clock is implausibly far
  from ours, or when a value fails a plausibility check (a cumulative register going backwards).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from omdp.adapter.mapping import MappedValues
from omdp.adapter.samples import MeterSample
from omdp.catalog import Catalog, PropertyKind
from omdp.domain.reading import MeterIndividual, MeterReading, PropertyValue

MAX_FAULT_LENGTH = 256


def system_clock() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(ZoneInfo("UTC"))


@dataclass(slots=True)
class ReadingFactory:
    """Builds the readings of one meter, remembering what plausibility checks need."""

    meter_id: str
    catalog: Catalog
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    clock: Callable[[], datetime] = system_clock
    max_clock_skew: timedelta = timedelta(hours=1)
    household_id: str | None = None
    sequence: int = 0
    _last_cumulative: dict[str, float] = field(default_factory=dict)

    def reading_time(self, sample: MeterSample) -> tuple[datetime, str | None]:
        """The reading's time and, when the meter's clock is off, a fault code for it."""
        now = self.clock().astimezone(self.timezone)
        meter_time = sample.meter_time
        if meter_time is None:
            return now, None
        if abs(meter_time - now) > self.max_clock_skew:
            return now, f"METER_CLOCK_SKEW:{int((meter_time - now).total_seconds())}s"
        return meter_time.astimezone(self.timezone), None

    def _backwards(self, values: tuple[PropertyValue, ...]) -> list[str]:
        faults = []
        for value in values:
            entry = self.catalog.get(value.property_id)
            if entry is None or entry.kind is not PropertyKind.CUMULATIVE:
                continue
            if value.numerical_value is None:
                continue
            last = self._last_cumulative.get(value.property_id)
            if last is not None and value.numerical_value < last:
                faults.append(f"REGISTER_BACKWARDS:{value.property_id}")
            self._last_cumulative[value.property_id] = value.numerical_value
        return faults

    def build(self, sample: MeterSample, mapped: MappedValues) -> MeterReading:
        """One reading for one sample, with a fresh identifier and the next sequence number."""
        when, clock_fault = self.reading_time(sample)
        faults = [f for f in (sample.fault, clock_fault) if f]
        faults.extend(self._backwards(mapped.values))
        fault_code = ";".join(faults)[:MAX_FAULT_LENGTH] or None
        self.sequence += 1
        return MeterReading(
            meter_reading_identifier=str(uuid.uuid4()),
            reading_time=when,
            sequence_number=self.sequence,
            fault_code=fault_code,
            property_values=list(mapped.values),
            meter_individual=MeterIndividual(
                meter_individual_id=self.meter_id, household_id=self.household_id
            ),
        )
