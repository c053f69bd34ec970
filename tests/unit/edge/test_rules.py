"""Local alert rules as pure functions over readings and a fake clock (APP-4, CO-4)."""

from __future__ import annotations

from omdp.edge.rules import RuleEngine
from omdp.edge.settings import BackwardsRule, RangeRule, SilenceRule, ThresholdRule


def test_threshold_raises_after_duration_and_clears() -> None:
    """APP-4: a power above its threshold for 60 s raises once, and clears when it drops."""
    rule = ThresholdRule(id="high-power", property_id="OBIS_1.7.0", above=5.0, duration_s=60)
    engine = RuleEngine([rule])
    assert engine.observe("m1", {"OBIS_1.7.0": 6.0}, now=1000) == []
    assert engine.observe("m1", {"OBIS_1.7.0": 7.0}, now=1030) == []
    assert engine.tick(1059) == []
    [raised] = engine.tick(1061)
    assert (raised.state, raised.value, raised.threshold, raised.since) == (
        "raised",
        7.0,
        5.0,
        1000,
    )
    assert engine.observe("m1", {"OBIS_1.7.0": 8.0}, now=1070) == []  # raised only once
    [cleared] = engine.observe("m1", {"OBIS_1.7.0": 1.0}, now=1080)
    assert cleared.state == "cleared"
    assert engine.active == {}
    assert [a.state for a in engine.recent] == ["raised", "cleared"]


def test_threshold_interrupted_does_not_raise() -> None:
    """A condition that ends before the duration raises nothing."""
    rule = ThresholdRule(id="low", property_id="OBIS_32.7.0", below=200, duration_s=30)
    engine = RuleEngine([rule])
    engine.observe("m1", {"OBIS_32.7.0": 190}, now=0)
    engine.observe("m1", {"OBIS_32.7.0": 230}, now=20)
    assert engine.tick(40) == []
    engine.observe("m1", {"OBIS_32.7.0": 190}, now=50)
    [alert] = engine.tick(81)
    assert alert.since == 50


def test_silence_after_n_intervals() -> None:
    """CO-4: a meter silent for longer than 3 intervals raises; its next reading clears."""
    engine = RuleEngine([SilenceRule(id="silent", interval_s=10, intervals=3)])
    engine.observe("m1", {}, now=100)
    assert engine.tick(130) == []
    [raised] = engine.tick(131)
    assert (raised.meter_id, raised.state, raised.since, raised.threshold) == (
        "m1",
        "raised",
        100,
        30,
    )
    [cleared] = engine.observe("m1", {}, now=140)
    assert cleared.state == "cleared"


def test_named_meter_silent_from_start() -> None:
    """A named meter that never reports raises once the allowed silence has passed."""
    engine = RuleEngine([SilenceRule(id="s", meter_id="m9", interval_s=5, intervals=2)], start=0)
    [alert] = engine.tick(11)
    assert alert.meter_id == "m9"


def test_register_backwards() -> None:
    """CO-4: a cumulative register that goes down raises; growing again clears."""
    engine = RuleEngine([BackwardsRule(id="backwards")])
    engine.observe("m1", {"OBIS_1.8.0": 100.0, "OBIS_1.7.0": 3.0}, now=0)
    engine.observe("m1", {"OBIS_1.8.0": 101.0, "OBIS_1.7.0": 1.0}, now=10)  # power may fall
    [raised] = engine.observe("m1", {"OBIS_1.8.0": 99.0}, now=20)
    assert (raised.value, raised.threshold) == (99.0, 101.0)
    [cleared] = engine.observe("m1", {"OBIS_1.8.0": 99.5}, now=30)
    assert cleared.state == "cleared"


def test_physical_range_per_meter() -> None:
    """A value outside its physical range raises at once, only for the meter named."""
    rule = RangeRule(id="volt", meter_id="m1", property_id="OBIS_32.7.0", minimum=0, maximum=300)
    engine = RuleEngine([rule])
    assert engine.observe("m2", {"OBIS_32.7.0": 1000}, now=0) == []
    [alert] = engine.observe("m1", {"OBIS_32.7.0": 1000}, now=0)
    assert alert.to_dict()["ruleId"] == "volt"
    assert alert.to_dict()["since"] == "1970-01-01T00:00:00Z"
    assert set(alert.to_dict()) == {
        "ruleId",
        "meterId",
        "state",
        "value",
        "threshold",
        "since",
        "at",
        "message",
    }
