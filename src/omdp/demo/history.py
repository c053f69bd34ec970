"""A year of 15-minute history for the demo's meters, continuous with their live registers.

Each meter's history follows the load shape of its live simulator's
:class:`~omdp.simulators.profiles.HouseholdProfile` (same seed, PV and timezone) in 15-minute
steps from the history's origin. The live simulator starts where the history stands at its
start (:func:`registers_at`), so cumulative registers never jump back between the backfilled
year and the live readings, whenever the demo is started again.

Only the properties the charts use are backfilled (energy registers, total power, water
volume): 13 values per quarter-hour over the four meters, 455,520 values a year, written
through the store's ``write_batch`` in large batches. Reading ids are UUIDv5 of meter and time
(:func:`~omdp.ops.ids.reading_id`), so an interrupted backfill is simply run again.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from omdp.cloud.model import StoredReading, StoredValue
from omdp.cloud.storage.port import ReadingStore
from omdp.demo.layout import CONCENTRATOR_ID, METERS, TIMEZONE, DemoMeter
from omdp.domain.reading import MeterClass
from omdp.ops.ids import reading_id
from omdp.simulators.profiles import EnergySample, HouseholdProfile
from omdp.simulators.wmbus_meters import heat_kwh

STEP_S: Final = 900
YEAR_S: Final = 365 * 86_400
BATCH: Final = 4000
"""Readings per ``write_batch``: large batches amortise the commit and the rollup upsert."""

WATER_LITRES_AT_ORIGIN: Final = 120_000
WATER_LITRES_PER_S: Final = 0.004
"""The water simulators' register (``omdp simulate mbus``, ``wmbus``): 345 litres a day."""

INITIAL: Final = EnergySample(1_200_000.0, 1_800_000.0, 0.0, 0.0)
"""Registers at the history's origin, Wh: a meter with some years behind it."""

Progress = Callable[[int], None]
Step = tuple[float, float, float, float, float, float]


def history_origin(now: float) -> float:
    """The start of the backfilled year: a year before ``now``, on a quarter-hour."""
    start = now - YEAR_S
    return start - start % STEP_S


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def _steps(meter: DemoMeter, origin: float, end: float) -> Iterator[tuple[float, Step]]:
    """``(t, (import_w, export_w, i1_wh, i2_wh, e1_wh, e2_wh))`` every quarter-hour from ``origin``.

    The shape is :class:`~omdp.simulators.profiles.HouseholdProfile`'s (base load, morning and
    evening peaks, noise, PV around 13:00 local) at 15-minute steps, computed once per step with
    one sequential random generator: a year of four meters takes a fraction of a second, where
    calling the profile per value took seconds. Registers are those at ``t``, before the step.
    """
    shape = HouseholdProfile()
    zone = ZoneInfo(TIMEZONE)
    rng = random.Random(meter.seed)  # noqa: S311 - simulation, not crypto
    i1, i2, e1, e2 = INITIAL.import_t1_wh, INITIAL.import_t2_wh, 0.0, 0.0
    t = origin
    while t < end:
        local = datetime.fromtimestamp(t, zone)
        hour = local.hour + local.minute / 60
        load = (
            shape.base_w
            + shape.morning_peak_w * _bump(hour, 7.5, 1.0)
            + shape.evening_peak_w * _bump(hour, 19.0, 1.5)
        ) * max(0.0, 1.0 + shape.noise * rng.uniform(-1.0, 1.0))
        pv = meter.pv_peak_w * max(0.0, math.cos((hour - 13.0) / 6.0 * math.pi / 2)) ** 1.5
        imp, exp = max(load - pv, 0.0), max(pv - load, 0.0)
        yield t, (imp, exp, i1, i2, e1, e2)
        if local.weekday() >= 5 or local.hour >= 23 or local.hour < 7:
            i1, e1 = i1 + imp * STEP_S / 3600, e1 + exp * STEP_S / 3600
        else:
            i2, e2 = i2 + imp * STEP_S / 3600, e2 + exp * STEP_S / 3600
        t += STEP_S


def registers_at(meter: DemoMeter, origin: float, t: float) -> EnergySample:
    """The meter's registers at ``t``, Wh: where a live simulator starting at ``t`` continues."""
    last = (0.0, 0.0, INITIAL.import_t1_wh, INITIAL.import_t2_wh, 0.0, 0.0)
    for _, step in _steps(meter, origin, t + STEP_S):
        last = step
    return EnergySample(*last[2:])


def water_m3(origin: float, t: float) -> float:
    """The water meter's register at ``t`` for a history starting at ``origin``."""
    return (WATER_LITRES_AT_ORIGIN + round((t - origin) * WATER_LITRES_PER_S)) / 1000


def _values(meter: DemoMeter, origin: float, t: float, s: Step) -> tuple[StoredValue, ...]:
    imp, exp, i1, i2, e1, e2 = s
    if meter.meter_class is MeterClass.WATER:
        return (StoredValue("WATER_volume_of_water", water_m3(origin, t), None, "m3"),)
    if meter.meter_class is MeterClass.HEAT:  # the radio heat meter's register
        return (StoredValue("HEAT_energy", float(heat_kwh(origin, t)), None, "kWh"),)
    if meter.kind == "dsmr":
        return (
            StoredValue("OBIS_1.8.1", round(i1 / 1000, 3), None, "kWh"),
            StoredValue("OBIS_1.8.2", round(i2 / 1000, 3), None, "kWh"),
            StoredValue("OBIS_2.8.1", round(e1 / 1000, 3), None, "kWh"),
            StoredValue("OBIS_2.8.2", round(e2 / 1000, 3), None, "kWh"),
            StoredValue("OBIS_1.7.0", round(imp / 1000, 3), None, "kW"),
            StoredValue("OBIS_2.7.0", round(exp / 1000, 3), None, "kW"),
        )
    if meter.kind == "sml":
        return (
            StoredValue("OBIS_1.8.0", round((i1 + i2) / 1000, 4), None, "kWh"),
            StoredValue("OBIS_2.8.0", round((e1 + e2) / 1000, 4), None, "kWh"),
            StoredValue("OBIS_16.7.0", round((imp - exp) / 1000, 4), None, "kW"),
        )
    return (
        StoredValue("OBIS_1.8.0", round((i1 + i2) / 1000, 3), None, "kWh"),
        StoredValue("OBIS_2.8.0", round((e1 + e2) / 1000, 3), None, "kWh"),
        StoredValue("OBIS_1.7.0", round(imp / 1000, 3), None, "kW"),
        StoredValue("OBIS_2.7.0", round(exp / 1000, 3), None, "kW"),
    )


def readings(meter: DemoMeter, origin: float, end: float) -> Iterator[StoredReading]:
    """The meter's quarter-hourly readings in ``[origin, end)``."""
    for t, step in _steps(meter, origin, end):
        when = datetime.fromtimestamp(t, UTC)
        yield StoredReading(
            reading_id=reading_id(meter.meter_id, when),
            meter_id=meter.meter_id,
            reading_time=when,
            values=_values(meter, origin, t, step),
            concentrator_id=CONCENTRATOR_ID,
        )


def count(origin: float, end: float) -> int:
    """How many readings :func:`backfill` writes for ``[origin, end)``."""
    steps = int((end - origin + STEP_S - 1) // STEP_S)
    return steps * len(METERS)


def backfill(
    store: ReadingStore, origin: float, end: float, *, progress: Progress | None = None
) -> int:
    """Write every meter's history in ``[origin, end)``; return how many readings were new.

    Readings are interleaved by time across the meters, in batches of :data:`BATCH`, so that
    every batch extends each meter's rollups in order (the cheap, merging path of the store).
    """
    streams = [readings(m, origin, end) for m in METERS]
    stored = 0
    batch: list[StoredReading] = []
    for row in zip(*streams, strict=True):
        batch.extend(row)
        if len(batch) >= BATCH:
            stored += store.write_batch(batch).stored
            if progress is not None:
                progress(len(batch))
            batch = []
    if batch:
        stored += store.write_batch(batch).stored
        if progress is not None:
            progress(len(batch))
    return stored
