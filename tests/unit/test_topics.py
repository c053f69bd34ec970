"""The topic contract: AD-6, CO-1, CO-3, CL-2, CM-2."""

from __future__ import annotations

import pytest

from omdp import topics
from omdp.errors import TopicError


def test_ad6_adapter_topic() -> None:
    """AD-6: adapters publish on smartMeterMessage/{smartMeterId}/{specificTopic}."""
    assert topics.adapter_topic("m-1") == "smartMeterMessage/m-1/readings"
    parsed = topics.parse_adapter_topic("smartMeterMessage/m-1/status/battery")
    assert (parsed.smart_meter_id, parsed.specific_topic) == ("m-1", "status/battery")


def test_co3_concentrator_topic_round_trip() -> None:
    """CO-3: concentrator/{concentratorId}/smartMeterMessage/{smartMeterId}/{specificTopic}."""
    topic = topics.forward_topic("edge-9", "smartMeterMessage/m-1/readings")
    assert topic == "concentrator/edge-9/smartMeterMessage/m-1/readings"
    parsed = topics.parse_concentrator_topic(topic)
    assert parsed == topics.MeterTopic("m-1", "readings", "edge-9")
    assert parsed.adapter_topic() == "smartMeterMessage/m-1/readings"


def test_co1_cl2_cm2_filters_need_no_ids() -> None:
    """CO-1, CL-2, CM-2: subscribers use # filters, never ids (the spec's * is not MQTT)."""
    assert topics.ADAPTER_FILTER == "smartMeterMessage/#"
    assert topics.CLOUD_FILTER == "concentrator/#"


@pytest.mark.parametrize("bad", ["", "a/b", "a+", "#", "x\x00y"])
def test_ad6_ids_that_break_topic_levels_are_refused(bad: str) -> None:
    """AD-6, CM-2: an id with /, +, # or NUL, or an empty id, would break the level structure."""
    with pytest.raises(TopicError, match="smartMeterId"):
        topics.adapter_topic(bad)
    with pytest.raises(TopicError, match="concentratorId"):
        topics.concentrator_topic(bad, "m")


@pytest.mark.parametrize(
    "topic",
    [
        "smartMeterMessage/m1",
        "smartMeterMessage//readings",
        "other/m1/readings",
        "smartMeterMessage/m1/readings/",
        "concentrator/e1/smartMeterMessage/m1",
        "concentrator//smartMeterMessage/m1/readings",
        "concentrator/e1/other/m1/readings",
    ],
)
def test_co3_malformed_topics_are_refused(topic: str) -> None:
    """CO-3: a topic that does not follow the contract is an error, not a guess."""
    parse = (
        topics.parse_concentrator_topic
        if topic.startswith("concentrator")
        else topics.parse_adapter_topic
    )
    with pytest.raises(TopicError):
        parse(topic)
