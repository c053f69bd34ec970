"""A PV household with a battery, water, gas and heat meters, for the app's end-to-end tests.

Household ``h-home`` (Europe/Brussels) has a grid meter (``meter-main``: import and export
registers and power, a phase voltage), a PV meter (``meter-pv``: its production on the export
register), a battery meter (``meter-battery``: charge on import, discharge on export), a second
grid connection (``meter-annex``, live only), and water, gas and heat meters. :func:`seed`
writes a year of their history (15 minutes; hourly for water, gas, heat) with a two-day gap of
the grid meter 60 days before the end; :class:`Model` gives the live values that continue it.
Household ``h-other`` has no meter.

The model: the house's load (base, morning and evening peaks, more in winter), PV by season and
hour, a 5 kWh battery that stores surplus up to 2 kW and covers the evening; the grid takes or
gives the rest, so that the meters agree with each other as real ones do.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from omdp.cloud.model import StoredReading, StoredValue
from omdp.cloud.storage.port import ReadingStore
from omdp.cloud.tariffs import MeterRole
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)

HOUSEHOLD: Final = "h-home"
OTHER: Final = "h-other"
TIMEZONE: Final = "Europe/Brussels"
STEP: Final = timedelta(minutes=15)
BATTERY_KWH: Final = 5.0
BATTERY_KW: Final = 2.0


def _element(eid: str, name: str, klass: MeterClass, *props: str) -> PhysicalMeterElement:
    return PhysicalMeterElement(
        physical_element_id=eid,
        physical_element_name=name,
        physical_meter_class=klass,
        physical_meter_operational_properties=[
            OperationalPropertyDefinition(property_id=p) for p in props
        ],
    )


GRID = _element(
    "el-dsmr5", "DSMR 5 smart meter", MeterClass.ELECTRICITY,
    "OBIS_1.8.0", "OBIS_2.8.0", "OBIS_1.7.0", "OBIS_2.7.0", "OBIS_32.7.0",
)  # fmt: skip
PV = _element(
    "el-inverter", "PV inverter meter", MeterClass.ELECTRICITY, "OBIS_2.8.0", "OBIS_2.7.0"
)
BATTERY = _element(
    "el-battery", "Battery meter", MeterClass.ELECTRICITY,
    "OBIS_1.8.0", "OBIS_2.8.0", "OBIS_1.7.0", "OBIS_2.7.0",
)  # fmt: skip
WATER = _element("el-water", "Water meter", MeterClass.WATER, "WATER_volume_of_water")
GAS = _element("el-gas", "Gas meter", MeterClass.GAS, "GAS_volume")
HEAT = _element("el-heat", "Heat meter", MeterClass.HEAT, "HEAT_energy")
ANNEX = _element("el-annex", "Annex meter", MeterClass.ELECTRICITY, "OBIS_1.8.0", "OBIS_1.7.0")

METERS: Final = (
    ("meter-main", "Main meter", GRID, MeterRole.GRID),
    ("meter-pv", "Solar inverter", PV, MeterRole.PV),
    ("meter-battery", "Home battery", BATTERY, MeterRole.BATTERY),
    ("meter-annex", "Annex", ANNEX, MeterRole.GRID),
    ("meter-water", "Cold water", WATER, None),
    ("meter-gas", "Gas", GAS, None),
    ("meter-heat", "Heating", HEAT, None),
)


@dataclass(slots=True)
class Flows:
    """The household's power at one moment, kW (and the phase voltage)."""

    load: float
    solar: float
    charge: float
    discharge: float
    grid_in: float
    grid_out: float
    volts: float


@dataclass(slots=True)
class Model:
    """The household's power over time and its meters' registers (kWh, m3)."""

    rng: random.Random = field(default_factory=lambda: random.Random(9))  # noqa: S311
    soc: float = 2.5
    registers: dict[str, float] = field(
        default_factory=lambda: {
            "grid_in": 4210.0, "grid_out": 1830.0, "pv": 9120.0, "charge": 610.0,
            "discharge": 560.0, "water": 311.2, "gas": 5120.0, "heat": 18450.0,
        }
    )  # fmt: skip

    def flows(self, when: datetime, seconds: float) -> Flows:
        """Power at ``when``, with the battery working for ``seconds``."""
        local = when.astimezone(ZoneInfo(TIMEZONE))
        hour = local.hour + local.minute / 60
        winter = 0.5 + 0.5 * math.cos(2 * math.pi * (local.timetuple().tm_yday - 15) / 365)
        load = 0.25 + 0.25 * winter + 0.9 * math.exp(-(((hour - 7.5) / 1.0) ** 2))
        load += (1.4 + 0.6 * winter) * math.exp(-(((hour - 19.0) / 1.8) ** 2))
        load *= 0.8 + 0.4 * self.rng.random()
        daylight = 8 + 8 * (1 - winter)
        sun = math.cos(math.pi * (hour - 13.5) / daylight) if abs(hour - 13.5) < daylight / 2 else 0
        solar = max(sun, 0.0) * (0.8 + 3.2 * (1 - winter)) * (0.5 + 0.5 * self.rng.random())
        surplus = solar - load
        hours = seconds / 3600
        charge = discharge = 0.0
        if surplus > 0 and self.soc < BATTERY_KWH:
            charge = min(surplus, BATTERY_KW, (BATTERY_KWH - self.soc) / hours)
        elif surplus < 0 and self.soc > 0 and hour >= 16:
            discharge = min(-surplus, BATTERY_KW, self.soc / hours)
        self.soc += (charge - discharge) * hours
        net = load + charge - solar - discharge
        volts = 230.0 + self.rng.uniform(-3, 3) - 2.0 * max(net, 0) + 1.5 * max(-net, 0)
        return Flows(
            round(load, 3), round(solar, 3), round(charge, 3), round(discharge, 3),
            round(max(net, 0.0), 3), round(max(-net, 0.0), 3), round(volts, 1),
        )  # fmt: skip

    def advance(self, f: Flows, seconds: float, when: datetime) -> None:
        """Count ``seconds`` of ``f`` into the registers."""
        hours = seconds / 3600
        r = self.registers
        r["grid_in"] += f.grid_in * hours
        r["grid_out"] += f.grid_out * hours
        r["pv"] += f.solar * hours
        r["charge"] += f.charge * hours
        r["discharge"] += f.discharge * hours
        winter = 0.5 + 0.5 * math.cos(2 * math.pi * (when.timetuple().tm_yday - 15) / 365)
        r["water"] += 0.0145 * hours * (1.5 if 6 <= when.hour <= 21 else 0.3)
        r["gas"] += (0.05 + 0.25 * winter) * hours
        r["heat"] += (0.3 + 2.2 * winter) * hours

    def values(self, meter: str, f: Flows) -> tuple[tuple[str, float, str], ...]:
        """The values a meter reports with ``f`` and the registers now."""
        r = self.registers
        if meter == "meter-main":
            return (
                ("OBIS_1.8.0", round(r["grid_in"], 4), "kWh"),
                ("OBIS_2.8.0", round(r["grid_out"], 4), "kWh"),
                ("OBIS_1.7.0", f.grid_in, "kW"),
                ("OBIS_2.7.0", f.grid_out, "kW"),
                ("OBIS_32.7.0", f.volts, "V"),
            )
        if meter == "meter-pv":
            return (("OBIS_2.8.0", round(r["pv"], 4), "kWh"), ("OBIS_2.7.0", f.solar, "kW"))
        if meter == "meter-battery":
            return (
                ("OBIS_1.8.0", round(r["charge"], 4), "kWh"),
                ("OBIS_2.8.0", round(r["discharge"], 4), "kWh"),
                ("OBIS_1.7.0", f.charge, "kW"),
                ("OBIS_2.7.0", f.discharge, "kW"),
            )
        if meter == "meter-water":
            return (("WATER_volume_of_water", round(r["water"], 4), "m3"),)
        if meter == "meter-gas":
            return (("GAS_volume", round(r["gas"], 4), "m3"),)
        if meter == "meter-heat":
            return (("HEAT_energy", round(r["heat"], 3), "kWh"),)
        return ()


def register(store: ReadingStore) -> None:
    """The registry of the household (and of ``h-other``, without meters), with roles."""
    store.put_household(
        Household(
            household_id=HOUSEHOLD,
            household_name="Maple Street 12",
            timezone=TIMEZONE,
            household_size=3,
        )
    )
    store.put_household(
        Household(household_id=OTHER, household_name="Oak Lane 3", timezone=TIMEZONE)
    )
    for meter_id, name, element, _ in METERS:
        store.put_element(element)
        store.put_meter(
            MeterIndividual(
                meter_individual_id=meter_id,
                meter_individual_name=name,
                household_id=HOUSEHOLD,
                physical_meter_type=element,
            )
        )
    store.set_meter_roles({m: role for m, _, _, role in METERS if role is not None})


def _rows(model: Model, end: datetime, days: int) -> Iterator[StoredReading]:
    last = end.replace(minute=end.minute - end.minute % 15, second=0, microsecond=0)
    t = last - timedelta(days=days)
    gap = (last - timedelta(days=61), last - timedelta(days=59))
    while t <= last:
        f = model.flows(t, STEP.total_seconds())
        meters = ["meter-pv", "meter-battery"]
        if not gap[0] <= t < gap[1]:
            meters.append("meter-main")
        if t.minute == 0:
            meters += ["meter-water", "meter-gas", "meter-heat"]
        for meter in meters:
            yield StoredReading(
                reading_id=f"seed-{meter}-{int(t.timestamp())}",
                meter_id=meter,
                reading_time=t,
                values=tuple(StoredValue(p, v, unit=u) for p, v, u in model.values(meter, f)),
            )
        model.advance(f, STEP.total_seconds(), t)
        t += STEP


def seed(store: ReadingStore, *, end: datetime, days: int = 365, batch: int = 5000) -> Model:
    """Register the households and write ``days`` of history up to ``end``.

    Returns:
        The model at ``end``, for a live publisher to continue from.
    """
    register(store)
    model = Model()
    rows: list[StoredReading] = []
    for row in _rows(model, end, days):
        rows.append(row)
        if len(rows) >= batch:
            store.write_batch(rows)
            rows = []
    if rows:
        store.write_batch(rows)
    return model
