"""The topic contract (AD-6, CO-1, CO-3, CL-2, CM-2): every MQTT topic is built and parsed here.

- An adapter publishes on ``smartMeterMessage/{smartMeterId}/{specificTopic}``.
- A concentrator republishes on
  ``concentrator/{concentratorId}/smartMeterMessage/{smartMeterId}/{specificTopic}``.
- The concentrator subscribes to ``smartMeterMessage/#``, the cloud to ``concentrator/#``
  (the specification writes ``*``; MQTT's multi-level wildcard is ``#``).
- A concentrator publishes its local alerts (APP-4, CO-4) on
  ``concentrator/{concentratorId}/alerts/{ruleId}/{smartMeterId}``: a JSON object with
  ``ruleId``, ``meterId``, ``state`` (``raised`` or ``cleared``), ``value``, ``threshold``,
  ``since``, ``at`` and ``message``. These topics are under ``concentrator/#`` too: a cloud
  subscriber tells them from readings with :func:`is_alert_topic`.

The cloud ingest publishes end-to-end receipts (:mod:`omdp.receipts`) on
``omdp/receipts/{concentratorId}``, outside the ``concentrator/#`` tree it consumes, so that it
never receives its own receipts; only that concentrator may read them (the broker's ACL).

Ids are single topic levels: never empty, never containing ``/``, ``+`` or ``#`` (nor NUL),
so that a subscriber can rely on the level structure without knowing any id (CM-2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from omdp.errors import TopicError

ADAPTER_ROOT: Final = "smartMeterMessage"
CONCENTRATOR_ROOT: Final = "concentrator"
ALERTS: Final = "alerts"
"""The level under a concentrator's root on which it publishes alerts."""
READINGS: Final = "readings"
"""The specific topic on which adapters publish MeterReadings."""

ADAPTER_FILTER: Final = f"{ADAPTER_ROOT}/#"
"""What a concentrator subscribes to (CO-1)."""

CLOUD_FILTER: Final = f"{CONCENTRATOR_ROOT}/#"
"""What the cloud ingest subscribes to (CL-2)."""

RECEIPTS_ROOT: Final = "omdp/receipts"
"""Where the cloud ingest publishes receipts: ``omdp/receipts/{concentratorId}``."""

_FORBIDDEN = frozenset("/+#\x00")
MAX_LEVEL_BYTES: Final = 256


def check_level(value: str, what: str) -> str:
    """Return ``value`` if it can be one topic level, else raise :class:`TopicError`."""
    if not value:
        msg = f"{what} must not be empty"
        raise TopicError(msg)
    bad = _FORBIDDEN.intersection(value)
    if bad:
        shown = ", ".join(repr(c) for c in sorted(bad))
        msg = f"{what} {value!r} must not contain {shown}: it is one MQTT topic level"
        raise TopicError(msg)
    if len(value.encode()) > MAX_LEVEL_BYTES:
        msg = f"{what} is longer than {MAX_LEVEL_BYTES} bytes"
        raise TopicError(msg)
    return value


def _check_specific(specific: str) -> str:
    # the specific topic may have several levels, each a valid level
    for level in specific.split("/"):
        check_level(level, "specificTopic level")
    return specific


@dataclass(frozen=True, slots=True)
class MeterTopic:
    """A parsed topic: which meter, through which concentrator (if any), about what."""

    smart_meter_id: str
    specific_topic: str
    concentrator_id: str | None = None

    def adapter_topic(self) -> str:
        """The adapter-side topic of this message."""
        return adapter_topic(self.smart_meter_id, self.specific_topic)


def adapter_topic(smart_meter_id: str, specific_topic: str = READINGS) -> str:
    """``smartMeterMessage/{smartMeterId}/{specificTopic}`` (AD-6)."""
    meter = check_level(smart_meter_id, "smartMeterId")
    return f"{ADAPTER_ROOT}/{meter}/{_check_specific(specific_topic)}"


def concentrator_topic(
    concentrator_id: str, smart_meter_id: str, specific_topic: str = READINGS
) -> str:
    """``concentrator/{concentratorId}/smartMeterMessage/{smartMeterId}/{specificTopic}`` (CO-3)."""
    conc = check_level(concentrator_id, "concentratorId")
    return f"{CONCENTRATOR_ROOT}/{conc}/{adapter_topic(smart_meter_id, specific_topic)}"


def concentrator_prefix(concentrator_id: str) -> str:
    """The root under which one concentrator publishes, with a trailing slash."""
    return f"{CONCENTRATOR_ROOT}/{check_level(concentrator_id, 'concentratorId')}/"


def _parse_adapter_levels(levels: list[str], topic: str) -> tuple[str, str]:
    if len(levels) < 3 or levels[0] != ADAPTER_ROOT:
        msg = f"topic {topic!r} is not smartMeterMessage/{{smartMeterId}}/{{specificTopic}}"
        raise TopicError(msg)
    meter = check_level(levels[1], "smartMeterId")
    specific = _check_specific("/".join(levels[2:]))
    return meter, specific


def parse_adapter_topic(topic: str) -> MeterTopic:
    """Parse ``smartMeterMessage/{smartMeterId}/{specificTopic}``."""
    meter, specific = _parse_adapter_levels(topic.split("/"), topic)
    return MeterTopic(smart_meter_id=meter, specific_topic=specific)


def parse_concentrator_topic(topic: str) -> MeterTopic:
    """Parse ``concentrator/{concentratorId}/smartMeterMessage/{smartMeterId}/{specificTopic}``."""
    levels = topic.split("/")
    if len(levels) < 5 or levels[0] != CONCENTRATOR_ROOT:
        msg = (
            f"topic {topic!r} is not concentrator/{{concentratorId}}/smartMeterMessage/"
            "{smartMeterId}/{specificTopic}"
        )
        raise TopicError(msg)
    conc = check_level(levels[1], "concentratorId")
    meter, specific = _parse_adapter_levels(levels[2:], topic)
    return MeterTopic(smart_meter_id=meter, specific_topic=specific, concentrator_id=conc)


def forward_topic(concentrator_id: str, adapter_side_topic: str) -> str:
    """The cloud-side topic on which a concentrator republishes an adapter's message (CO-3)."""
    parsed = parse_adapter_topic(adapter_side_topic)
    return concentrator_topic(concentrator_id, parsed.smart_meter_id, parsed.specific_topic)


@dataclass(frozen=True, slots=True)
class AlertTopic:
    """A parsed alert topic: which concentrator, which rule, which meter."""

    concentrator_id: str
    rule_id: str
    smart_meter_id: str


def alert_topic(concentrator_id: str, rule_id: str, smart_meter_id: str) -> str:
    """``concentrator/{concentratorId}/alerts/{ruleId}/{smartMeterId}`` (APP-4, CO-4)."""
    rule = check_level(rule_id, "ruleId")
    meter = check_level(smart_meter_id, "smartMeterId")
    return f"{concentrator_prefix(concentrator_id)}{ALERTS}/{rule}/{meter}"


def alert_filter(concentrator_id: str | None = None) -> str:
    """Filter for the alerts of one concentrator, or of all (``concentrator/+/alerts/#``)."""
    conc = "+" if concentrator_id is None else check_level(concentrator_id, "concentratorId")
    return f"{CONCENTRATOR_ROOT}/{conc}/{ALERTS}/#"


def is_alert_topic(topic: str) -> bool:
    """Tell whether ``topic`` is a concentrator's alert topic (not a forwarded reading)."""
    levels = topic.split("/")
    return len(levels) == 5 and levels[0] == CONCENTRATOR_ROOT and levels[2] == ALERTS


def parse_alert_topic(topic: str) -> AlertTopic:
    """Parse ``concentrator/{concentratorId}/alerts/{ruleId}/{smartMeterId}``."""
    if not is_alert_topic(topic):
        msg = f"topic {topic!r} is not concentrator/{{concentratorId}}/alerts/{{ruleId}}/{{meter}}"
        raise TopicError(msg)
    _, conc, _, rule, meter = topic.split("/")
    return AlertTopic(
        concentrator_id=check_level(conc, "concentratorId"),
        rule_id=check_level(rule, "ruleId"),
        smart_meter_id=check_level(meter, "smartMeterId"),
    )


def receipt_topic(concentrator_id: str) -> str:
    """``omdp/receipts/{concentratorId}``: the cloud's receipts for one concentrator."""
    return f"{RECEIPTS_ROOT}/{check_level(concentrator_id, 'concentratorId')}"


def concentrator_of(topic: str) -> str | None:
    """The concentrator id of a ``concentrator/{concentratorId}/...`` topic, else None."""
    root, _, rest = topic.partition("/")
    if root != CONCENTRATOR_ROOT:
        return None
    concentrator = rest.partition("/")[0]
    return concentrator or None
