"""Simulated wired M-Bus meters (electricity, water, heat) for the M-Bus slave simulator.

Their registers follow a :class:`~omdp.simulators.profiles.HouseholdProfile`: used by
``omdp simulate mbus``, the demo and the tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from omdp.decoders.mbus import DateTimeValue
from omdp.decoders.mbus.encode import make_record, vib_for
from omdp.simulators.mbus_slave import MeterSpec
from omdp.simulators.profiles import HouseholdProfile

MBUS_METERS = ("electricity", "water", "heat")
"""The meters :func:`mbus_meters` knows."""


def mbus_meters(
    names: Sequence[str], profile: HouseholdProfile, clock: Callable[[], float] = time.time
) -> list[Any]:
    """Simulated M-Bus meters: electricity (address 1), water (2), heat (3), from ``profile``.

    The electricity meter answers in two telegrams: import and export energy and power on
    sub-units 0 and 1, then the phase voltages and currents (the ``mbus-electricity-3phase``
    profile maps them).

    Args:
        names: a subset of :data:`MBUS_METERS`.
        profile: drives the electricity meter; water and heat follow the same clock.
        clock: unix time source (tests freeze it).

    Returns:
        ``MeterSpec`` items for :class:`~omdp.simulators.mbus_slave.MBusSlaveSimulator`.
    """
    def meter_clock() -> Any:
        local = datetime.fromtimestamp(clock(), UTC).astimezone(profile.tz)
        stamp = DateTimeValue(
            "F", local.year, local.month, local.day, local.hour, local.minute,
            summer_time=bool(local.dst()),
        )  # fmt: skip
        return make_record(vib_for("Time point (date & time)", "-"), stamp, coding="int32")

    def electricity() -> list[list[Any]]:
        now = clock()
        energy, power = profile.energy(now), profile.power(now)
        phase_w = power.import_w / 3
        return [
            [
                meter_clock(),
                make_record(vib_for("Energy", "Wh"), round(energy.import_wh)),
                make_record(vib_for("Energy", "Wh"), round(energy.export_wh), subunit=1),
                make_record(vib_for("Power", "W"), round(power.import_w)),
                make_record(vib_for("Power", "W"), round(power.export_w), subunit=1),
            ],
            [make_record(vib_for("Voltage", "V", 0.1), 2300 + i * 7) for i in range(3)]
            + [
                make_record(vib_for("Current", "A", 0.01), round(phase_w / 230 * 100))
                for _ in range(3)
            ],
        ]

    def water() -> list[list[Any]]:
        litres = 120_000 + round((clock() - profile.origin) * 0.004)
        return [[meter_clock(), make_record(vib_for("Volume", "m^3", 0.001), litres)]]

    def heat() -> list[list[Any]]:
        kwh = 5_000 + round((clock() - profile.origin) / 900)
        return [
            [
                meter_clock(),
                make_record(vib_for("Energy", "Wh", 1000.0), kwh, coding="bcd8"),
                make_record(vib_for("Flow temperature", "°C", 0.1), 552, coding="int16"),
                make_record(vib_for("Return temperature", "°C", 0.1), 371, coding="int16"),
            ]
        ]

    table = {
        "electricity": MeterSpec(1, "10000001", "EMH", 1, 0x02, electricity),
        "water": MeterSpec(2, "20000002", "ZRI", 1, 0x07, water),
        "heat": MeterSpec(3, "30000003", "KAM", 1, 0x04, heat),
    }
    return [table[n] for n in names]
