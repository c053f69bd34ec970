"""Live values for the app: power and today's energy in the household's timezone (APP-1)."""

from __future__ import annotations

from datetime import UTC, datetime

from omdp.domain.validation import parse_reading
from omdp.edge.live import LiveState, power_kw
from omdp.edge.samples import sample_reading


def test_power_from_import_export_or_signed_net() -> None:
    """APP-1: import/export power from 1.7.0/2.7.0, else split by the sign of 16.7.0."""
    assert power_kw({"OBIS_1.7.0": (1500.0, "W"), "OBIS_2.7.0": (0.0, "kW")}) == (1.5, 0.0)
    assert power_kw({"OBIS_16.7.0": (-2.0, "kW")}) == (0.0, 2.0)
    assert power_kw({"OBIS_16.7.0": (3.0, "kW")}) == (3.0, 0.0)
    assert power_kw({}) == (None, None)


def test_today_energy_in_household_timezone() -> None:
    """APP-1: today's import is latest minus the first register value of the local day."""
    live = LiveState("Europe/Brussels")
    # 22:30 UTC on Jan 1 is 23:30 in Brussels: still Jan 1 there
    times = [
        (datetime(2024, 1, 1, 22, 30, tzinfo=UTC), 100.0),
        (datetime(2024, 1, 1, 23, 30, tzinfo=UTC), 101.0),  # 00:30 Jan 2 local: a new day
        (datetime(2024, 1, 2, 8, 0, tzinfo=UTC), 104.5),
    ]
    for seq, (at, kwh) in enumerate(times):
        reading = parse_reading(sample_reading("m1", seq, at=at, import_kwh=kwh, import_kw=2.5))
        state = live.update("m1", "smartMeterMessage/m1/readings", reading, now=at.timestamp())
    now = datetime(2024, 1, 2, 9, 0, tzinfo=UTC).timestamp()
    summary = live.summary(state, now)
    assert summary["today"]["date"] == "2024-01-02"
    assert summary["today"]["importedKwh"] == 3.5
    assert summary["importPowerKw"] == 2.5
    assert summary["reading"]["meterReadingIdentifier"] == "m1-000000002"
    # the next day, nothing read yet
    tomorrow = datetime(2024, 1, 3, 9, 0, tzinfo=UTC).timestamp()
    assert live.summary(state, tomorrow)["today"]["importedKwh"] is None
