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


def test_app1_last_seen_and_interval_tell_a_silent_meter() -> None:
    """APP-1: every live entry says when the meter was last heard and its usual interval, so
    that the app shows a meter silent for more than twice its interval as silent."""
    live = LiveState("UTC")
    at = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    for seq in range(4):
        reading = parse_reading(sample_reading("m1", seq, at=at, import_kwh=1.0, import_kw=0.5))
        state = live.update("m1", "t", reading, now=at.timestamp() + 10 * seq)
    entry = live.summary(state, at.timestamp() + 40)
    assert entry["intervalS"] == 10.0
    assert entry["receivedAt"] == datetime.fromtimestamp(at.timestamp() + 30, UTC).isoformat()


def test_app1_today_from_tariff_registers_without_a_total() -> None:
    """APP-1: a DSMR meter (1.8.1 and 1.8.2, no 1.8.0) has today's energy from their sum."""
    live = LiveState("UTC")
    day = datetime(2024, 1, 1, 8, 0, tzinfo=UTC).timestamp()
    for hours, (t1, t2) in enumerate(((100.0, 50.0), (100.5, 50.0), (100.5, 52.0))):
        values = {"OBIS_1.8.1": (t1, "kWh"), "OBIS_1.8.2": (t2 * 1000, "Wh")}
        state = live.update_values(
            "m1",
            "t",
            datetime.fromtimestamp(day + 3600 * hours, UTC),
            values,
            payload=b"{}",
            now=day + 3600 * hours,
        )
    assert state.today_kwh("OBIS_1.8.0", live.today(day)) == 2.5
