"""The edge's YAML: rules, timezone and alert topics (APP-4, CO-4)."""

from __future__ import annotations

from pathlib import Path

import pytest

from omdp.edge.settings import EdgeSettings, SilenceRule, ThresholdRule
from omdp.errors import ConfigError, TopicError
from omdp.settings import load_settings
from omdp.topics import alert_filter, alert_topic, is_alert_topic, parse_alert_topic


def test_rules_and_timezone_from_yaml(tmp_path: Path) -> None:
    """APP-4: rules are configured in the edge YAML, told apart by kind."""
    file = tmp_path / "edge.yaml"
    file.write_text(
        "timezone: Europe/Brussels\n"
        "rules:\n"
        "  - {id: high, kind: threshold, property_id: OBIS_1.7.0, above: 5, duration_s: 60}\n"
        "  - {id: quiet, kind: silence, interval_s: 10, intervals: 3}\n"
    )
    settings = load_settings(EdgeSettings, file)
    assert settings.timezone == "Europe/Brussels"
    assert isinstance(settings.rules[0], ThresholdRule)
    assert isinstance(settings.rules[1], SilenceRule)


@pytest.mark.parametrize(
    "text",
    [
        "timezone: Mars/Olympus\n",
        "rules: [{id: x, kind: threshold, property_id: OBIS_1.7.0}]\n",
        "rules: [{id: x, kind: nonsense}]\n",
    ],
)
def test_bad_edge_settings_are_refused(tmp_path: Path, text: str) -> None:
    """A wrong timezone, a threshold without bound, an unknown kind: clear ConfigError."""
    file = tmp_path / "edge.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError):
        load_settings(EdgeSettings, file)


def test_alert_topic_roundtrip() -> None:
    """CO-4: concentrator/{concentratorId}/alerts/{ruleId}/{smartMeterId}, built and parsed."""
    topic = alert_topic("e1", "high", "m1")
    assert topic == "concentrator/e1/alerts/high/m1"
    assert is_alert_topic(topic)
    assert not is_alert_topic("concentrator/e1/smartMeterMessage/m1/readings")
    parsed = parse_alert_topic(topic)
    assert (parsed.concentrator_id, parsed.rule_id, parsed.smart_meter_id) == ("e1", "high", "m1")
    assert alert_filter() == "concentrator/+/alerts/#"
    with pytest.raises(TopicError):
        alert_topic("e1", "a/b", "m1")
