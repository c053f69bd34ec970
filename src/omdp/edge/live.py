"""Live values for the app (APP-1, CO-4): the latest reading, power and today's energy per meter.

- Power: import ``OBIS_1.7.0`` and export ``OBIS_2.7.0`` (kW); where a meter reports only the
  signed ``OBIS_16.7.0`` (import minus export), its sign splits it.
- Today's energy: from the cumulative registers ``OBIS_1.8.0`` (import) and ``OBIS_2.8.0``
  (export), or the sum of the tariff registers ``x.8.1``..``x.8.9`` where a meter has no total
  (DSMR), the latest value minus the first value seen on the household's local day.
- ``receivedAt`` (last seen) and ``intervalS``, the meter's usual time between readings (a
  moving average of the gaps), so that the app can tell a silent meter (APP-1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from omdp.domain.reading import MeterReading
from omdp.domain.units import convert
from omdp.domain.validation import parse_reading

IMPORT_POWER = "OBIS_1.7.0"
EXPORT_POWER = "OBIS_2.7.0"
NET_POWER = "OBIS_16.7.0"
IMPORT_ENERGY = "OBIS_1.8.0"
EXPORT_ENERGY = "OBIS_2.8.0"


def numeric_values(reading: MeterReading) -> dict[str, tuple[float, str | None]]:
    """The numerical values of a reading by property id, with their units."""
    return {
        pv.property_id: (pv.numerical_value, pv.unit)
        for pv in reading.property_values
        if pv.numerical_value is not None
    }


def _in(values: dict[str, tuple[float, str | None]], prop: str, unit: str) -> float | None:
    found = values.get(prop)
    if found is None:
        return None
    value, source = found
    return value if source is None else convert(value, source, unit)


def register_kwh(values: dict[str, tuple[float, str | None]], total: str) -> float | None:
    """A total register (``OBIS_1.8.0``) in kWh, else the sum of its tariff registers."""
    found = _in(values, total, "kWh")
    if found is not None:
        return found
    stem = total.removesuffix("0")
    parts = [_in(values, f"{stem}{i}", "kWh") for i in range(1, 10)]
    present = [p for p in parts if p is not None]
    return sum(present) if present else None


def power_kw(values: dict[str, tuple[float, str | None]]) -> tuple[float | None, float | None]:
    """Import and export power in kW, from 1.7.0 / 2.7.0 or the sign of 16.7.0."""
    imported = _in(values, IMPORT_POWER, "kW")
    exported = _in(values, EXPORT_POWER, "kW")
    if imported is None and exported is None:
        net = _in(values, NET_POWER, "kW")
        if net is not None:
            return max(net, 0.0), max(-net, 0.0)
    return imported, exported


@dataclass(slots=True)
class DayRegister:
    """First and latest value of a cumulative register on one local day."""

    day: date
    first: float
    latest: float

    def update(self, day: date, value: float) -> DayRegister:
        """Take a new value; a new day starts from it, an older day is ignored."""
        if day > self.day:
            return DayRegister(day, value, value)
        if day == self.day:
            self.latest = value
        return self


@dataclass(slots=True)
class MeterLive:
    """What the edge knows now about one meter.

    The latest reading is kept as the bytes that came in and parsed into the model only when
    the API shows it: the edge sees every reading, the app asks for a few.
    """

    meter_id: str
    topic: str
    received: float
    reading_time: datetime
    payload: bytes
    import_kw: float | None = None
    export_kw: float | None = None
    interval_s: float | None = None
    registers: dict[str, DayRegister] = field(default_factory=dict)
    parsed: MeterReading | None = None

    @property
    def reading(self) -> MeterReading:
        """The latest reading in the data model."""
        if self.parsed is None:
            self.parsed = parse_reading(self.payload, source=self.topic)
        return self.parsed

    def today_kwh(self, prop: str, today: date) -> float | None:
        """Energy of a register on ``today``, or None when nothing was read today."""
        reg = self.registers.get(prop)
        if reg is None or reg.day != today:
            return None
        return round(reg.latest - reg.first, 6)


class LiveState:
    """Latest values per meter, in the household's timezone."""

    def __init__(self, timezone: str = "UTC") -> None:
        self.tz = ZoneInfo(timezone)
        self.meters: dict[str, MeterLive] = {}

    def update(self, meter_id: str, topic: str, reading: MeterReading, now: float) -> MeterLive:
        """Record a reading of ``meter_id`` received at ``now`` (Unix seconds)."""
        live = self.update_values(
            meter_id,
            topic,
            reading.reading_time,
            numeric_values(reading),
            payload=reading.to_json(),
            now=now,
        )
        live.parsed = reading
        return live

    def update_values(
        self,
        meter_id: str,
        topic: str,
        reading_time: datetime,
        values: dict[str, tuple[float, str | None]],
        *,
        payload: bytes,
        now: float,
    ) -> MeterLive:
        """Record a reading given by its time, numerical values and bytes (the fast path)."""
        imported, exported = power_kw(values)
        live = self.meters.get(meter_id)
        if live is None:
            live = self.meters[meter_id] = MeterLive(meter_id, topic, now, reading_time, payload)
        if now > live.received:
            gap = now - live.received
            live.interval_s = gap if live.interval_s is None else 0.7 * live.interval_s + 0.3 * gap
        live.topic, live.received, live.reading_time = topic, now, reading_time
        live.payload, live.parsed = payload, None
        live.import_kw, live.export_kw = imported, exported
        day = reading_time.astimezone(self.tz).date()
        for prop in (IMPORT_ENERGY, EXPORT_ENERGY):
            value = register_kwh(values, prop)
            if value is None:
                continue
            reg = live.registers.get(prop)
            live.registers[prop] = (
                DayRegister(day, value, value) if reg is None else reg.update(day, value)
            )
        return live

    def today(self, now: float) -> date:
        """The household's local date at ``now``."""
        return datetime.fromtimestamp(now, UTC).astimezone(self.tz).date()

    def summary(self, live: MeterLive, now: float) -> dict[str, Any]:
        """The JSON the app gets for one meter."""
        today = self.today(now)
        return {
            "meterId": live.meter_id,
            "topic": live.topic,
            "receivedAt": datetime.fromtimestamp(live.received, UTC).isoformat(),
            "intervalS": None if live.interval_s is None else round(live.interval_s, 3),
            "readingTime": live.reading_time.isoformat(),
            "importPowerKw": live.import_kw,
            "exportPowerKw": live.export_kw,
            "today": {
                "date": today.isoformat(),
                "timezone": str(self.tz),
                "importedKwh": live.today_kwh(IMPORT_ENERGY, today),
                "exportedKwh": live.today_kwh(EXPORT_ENERGY, today),
            },
            "reading": live.reading.model_dump(mode="json", by_alias=True, exclude_none=True),
        }
