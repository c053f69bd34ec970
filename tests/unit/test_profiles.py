"""Household profile and simulator telegrams: deterministic, energy = integral of power."""

from __future__ import annotations

from decimal import Decimal

import pytest

from omdp.decoders.dsmr import decode_telegram
from omdp.decoders.sml import decode_sml
from omdp.simulators.dsmr_meter import DsmrMeter
from omdp.simulators.profiles import HouseholdProfile
from omdp.simulators.sml_meter import SmlMeter

DAY = 86_400.0


def test_deterministic_for_a_seed() -> None:
    a, b, c = HouseholdProfile(seed=1), HouseholdProfile(seed=1), HouseholdProfile(seed=2)
    t = a.origin + 3 * DAY + 7 * 3600
    assert a.power(t) == b.power(t)
    assert a.power(t) != c.power(t)


def test_energy_is_integral_of_power() -> None:
    profile = HouseholdProfile(seed=3, pv_peak_w=4000)
    t1, t2 = profile.origin + 1000.5, profile.origin + DAY + 1234.25
    step = profile.step_s
    integral_imp = integral_exp = 0.0
    t = t1
    while t < t2:
        nxt = min(t2, (int((t - profile.origin) // step) + 1) * step + profile.origin)
        p = profile.power(t)
        integral_imp += p.import_w * (nxt - t) / 3600
        integral_exp += p.export_w * (nxt - t) / 3600
        t = nxt
    e1, e2 = profile.energy(t1), profile.energy(t2)
    assert e2.import_wh - e1.import_wh == pytest.approx(integral_imp, rel=1e-9)
    assert e2.export_wh - e1.export_wh == pytest.approx(integral_exp, rel=1e-9)
    assert integral_exp > 0  # PV exported around noon


def test_daily_shape_has_peaks() -> None:
    profile = HouseholdProfile(seed=0, noise=0.0)
    day = profile.origin + 2 * DAY  # local = UTC+1 in January
    night = profile.power(day + 2 * 3600).import_w
    evening = profile.power(day + 18 * 3600).import_w
    morning = profile.power(day + 6.5 * 3600).import_w
    assert evening > morning > night


def test_dsmr_simulator_telegrams_decode_and_match_profile() -> None:
    meter = DsmrMeter(profile=HouseholdProfile(seed=5))
    t1, t2 = meter.profile.origin + 2 * DAY + 8 * 3600, meter.profile.origin + 2 * DAY + 20 * 3600
    first, second = decode_telegram(meter.telegram_at(t1)), decode_telegram(meter.telegram_at(t2))
    assert first.meter_id == meter.meter_id

    def total(telegram: object, codes: tuple[str, ...]) -> Decimal:
        return sum((telegram.get(c).value for c in codes), Decimal(0))  # type: ignore[attr-defined]

    imported = total(second, ("1-0:1.8.1", "1-0:1.8.2")) - total(first, ("1-0:1.8.1", "1-0:1.8.2"))
    expected = meter.profile.energy(t2).import_wh - meter.profile.energy(t1).import_wh
    assert float(imported) * 1000 == pytest.approx(expected, abs=2.0)
    gas = second.get("0-1:24.2.1")
    assert gas is not None
    assert gas.channel == 1
    assert gas.unit == "m3"
    power = second.get("1-0:1.7.0")
    assert power is not None
    assert float(power.value) * 1000 == pytest.approx(meter.profile.power(t2).import_w, abs=1)


def test_sml_simulator_files_decode_and_match_profile() -> None:
    june = 1_717_200_000.0  # 2024-06-01T00:00:00Z
    meter = SmlMeter(profile=HouseholdProfile(seed=6, pv_peak_w=5000, origin=june))
    t = june + 2 * DAY + 11 * 3600  # 13:00 local
    (telegram,) = decode_sml(meter.file_at(t))
    assert telegram.meter_id == meter.server_id
    power = telegram.get("1-0:16.7.0")
    assert power is not None
    assert Decimal(power.value) < 0
    export = telegram.get("1-0:2.8.0")
    assert export is not None
    assert float(export.value) == pytest.approx(meter.profile.energy(t).export_wh, abs=0.1)
