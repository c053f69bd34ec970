"""A cloud API with the app mounted, over a store seeded with a year of one household's data.

For the app's end-to-end tests and its benchmark, and for trying the app by hand::

    python -m omdp.webapp.devserver --config cloud.yaml --port 8080 --seed --edge-url URL

The seeded household (``h-home``, Europe/Brussels) has one meter (``meter-main``) with 15-minute
readings of import and export registers and power and a phase voltage: a daily load curve,
winter heavier than summer, solar injection at midday in summer, and a two-day gap 40 days
before the end, so that the app draws a gap.
"""

from __future__ import annotations

import argparse
import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import uvicorn

from omdp.cloud.api.app import create_app
from omdp.cloud.model import StoredReading, StoredValue
from omdp.cloud.settings import CloudSettings
from omdp.cloud.storage import ReadingStore, open_store
from omdp.domain.household import Household
from omdp.domain.reading import (
    MeterClass,
    MeterIndividual,
    OperationalPropertyDefinition,
    PhysicalMeterElement,
)
from omdp.ops.gc_tuning import tune_for_throughput
from omdp.settings import load_settings
from omdp.webapp import mount_webapp

HOUSEHOLD = "h-home"
METER = "meter-main"
TIMEZONE = "Europe/Brussels"
STEP = timedelta(minutes=15)
ELEMENT = PhysicalMeterElement(
    physical_element_id="el-dsmr5",
    physical_element_name="DSMR 5 smart meter",
    physical_meter_class=MeterClass.ELECTRICITY,
    physical_meter_operational_properties=[
        OperationalPropertyDefinition(property_id=p)
        for p in ("OBIS_1.8.0", "OBIS_2.8.0", "OBIS_1.7.0", "OBIS_2.7.0", "OBIS_32.7.0")
    ],
)


@dataclass(slots=True)
class Registers:
    """The meter's cumulative registers (kWh), continued by a live publisher after the seed."""

    imported: float = 4210.0
    exported: float = 1830.0


def household_power(when: datetime, rng: random.Random) -> tuple[float, float, float]:
    """Import kW, export kW and phase voltage of the seeded household at ``when``."""
    local = when.astimezone(ZoneInfo(TIMEZONE))
    hour = local.hour + local.minute / 60
    day = local.timetuple().tm_yday
    winter = 0.5 + 0.5 * math.cos(2 * math.pi * (day - 15) / 365)  # 1 mid-January, 0 mid-July
    load = 0.22 + 0.25 * winter
    load += 0.9 * math.exp(-(((hour - 7.5) / 1.0) ** 2))
    load += (1.4 + 0.6 * winter) * math.exp(-(((hour - 19.0) / 1.8) ** 2))
    load *= 0.8 + 0.4 * rng.random()
    if rng.random() < 0.01:
        load += 2.0  # a kettle, an oven
    daylight = 8 + 8 * (1 - winter)
    sun = math.cos(math.pi * (hour - 13.5) / daylight) if abs(hour - 13.5) < daylight / 2 else 0.0
    solar = max(sun, 0.0) * (0.7 + 3.0 * (1 - winter)) * (0.4 + 0.6 * rng.random())
    net = load - solar
    volts = 230.0 + rng.uniform(-3, 3) - 2.0 * max(net, 0) + 1.5 * max(-net, 0)
    return round(max(net, 0.0), 3), round(max(-net, 0.0), 3), round(volts, 1)


def register_household(store: ReadingStore) -> None:
    """The registry of the seed: the element, two households, one meter."""
    store.put_element(ELEMENT)
    store.put_household(
        Household(
            household_id=HOUSEHOLD,
            household_name="Maple Street 12",
            timezone=TIMEZONE,
            household_size=3,
        )
    )
    store.put_household(
        Household(household_id="h-other", household_name="Oak Lane 3", timezone=TIMEZONE)
    )
    store.put_meter(
        MeterIndividual(
            meter_individual_id=METER,
            meter_individual_name="Main meter",
            household_id=HOUSEHOLD,
            physical_meter_type=ELEMENT,
        )
    )


def seed_year(
    store: ReadingStore, *, end: datetime, days: int = 365, batch: int = 5000
) -> Registers:
    """Register the household and write ``days`` of 15-minute readings up to ``end``.

    Returns:
        The registers at ``end``, for a live publisher to continue from.
    """
    register_household(store)
    rng = random.Random(9)  # noqa: S311 - simulated data, reproducible
    regs = Registers()
    last = end.replace(minute=end.minute - end.minute % 15, second=0, microsecond=0)
    t = last - timedelta(days=days)
    gap = (last - timedelta(days=41), last - timedelta(days=39))
    rows: list[StoredReading] = []
    while t <= last:
        imp, exp, volts = household_power(t, rng)
        regs.imported += imp * 0.25
        regs.exported += exp * 0.25
        if not gap[0] <= t < gap[1]:
            rows.append(
                StoredReading(
                    reading_id=f"seed-{METER}-{int(t.timestamp())}",
                    meter_id=METER,
                    reading_time=t,
                    values=(
                        StoredValue("OBIS_1.8.0", round(regs.imported, 3), unit="kWh"),
                        StoredValue("OBIS_2.8.0", round(regs.exported, 3), unit="kWh"),
                        StoredValue("OBIS_1.7.0", imp, unit="kW"),
                        StoredValue("OBIS_2.7.0", exp, unit="kW"),
                        StoredValue("OBIS_32.7.0", volts, unit="V"),
                    ),
                )
            )
        if len(rows) >= batch:
            store.write_batch(rows)
            rows = []
        t += STEP
    if rows:
        store.write_batch(rows)
    return regs


def main(argv: list[str] | None = None) -> None:
    """Serve the cloud API and the app (see the module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, required=True, help="The cloud's YAML settings.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--edge-url", default=None, help="The edge's HTTP API, proxied.")
    parser.add_argument("--seed", action="store_true", help="Seed a year of data first.")
    args = parser.parse_args(argv)
    settings = load_settings(CloudSettings, args.config)
    store = open_store(settings.db.url)
    try:
        if args.seed:
            seed_year(store, end=datetime.now(UTC))
        app = create_app(settings, store)
        mount_webapp(app, edge_url=args.edge_url)
        tune_for_throughput()  # as `omdp cloud api` does
        uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    finally:
        store.close()


if __name__ == "__main__":
    main()
