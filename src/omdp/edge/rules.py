"""Local alert rules (APP-4, CO-4): pure functions over readings and time.

Each rule kind is a step function ``(rule, state, observation, now) -> (state, alert | None)``
over a frozen :class:`RuleState`; :class:`RuleEngine` only keeps the states, one per rule and
meter, and calls the functions. Time is passed in (``now``, Unix seconds), never read, so that
tests drive the rules with a fake clock.

Kinds (configured in the edge YAML, see :mod:`omdp.edge.settings`):

- ``threshold``: a property above ``above`` or below ``below`` for at least ``duration_s``;
- ``silence``: a meter silent for longer than ``intervals`` x ``interval_s``;
- ``register_backwards``: a cumulative register (``OBIS_x.8.y``) whose value goes down;
- ``physical_range``: a value outside ``[minimum, maximum]``.

An alert is raised once when its condition starts to hold and cleared once when it ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

from omdp.edge.settings import BackwardsRule, EdgeRule, RangeRule, SilenceRule, ThresholdRule

State = Literal["raised", "cleared"]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class Alert:
    """A change of an alert's state, as published and shown to the app."""

    rule_id: str
    meter_id: str
    state: State
    value: float | None
    threshold: float | None
    since: float
    at: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The alert as JSON-ready camelCase fields (times in RFC 3339, UTC)."""
        return {
            "ruleId": self.rule_id,
            "meterId": self.meter_id,
            "state": self.state,
            "value": self.value,
            "threshold": self.threshold,
            "since": _iso(self.since),
            "at": _iso(self.at),
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class RuleState:
    """What one rule remembers about one meter."""

    active: bool = False
    since: float | None = None
    """When the condition started to hold (raised or pending a duration)."""
    value: float | None = None
    """The last value that counted for the condition."""
    last_seen: float | None = None
    registers: tuple[tuple[str, float], ...] = ()
    """Last value of each cumulative register (register_backwards)."""


Step = tuple[RuleState, Alert | None]


def _alert(
    rule: EdgeRule, meter: str, state: State, *, rs: RuleState, at: float, text: str
) -> Alert:
    threshold = _threshold_of(rule)
    message = rule.message or text
    since = rs.since if rs.since is not None else at
    return Alert(rule.id, meter, state, rs.value, threshold, since, at, message)


def _threshold_of(rule: EdgeRule) -> float | None:
    if isinstance(rule, ThresholdRule):
        return rule.above if rule.above is not None else rule.below
    if isinstance(rule, RangeRule):
        return rule.maximum if rule.maximum is not None else rule.minimum
    if isinstance(rule, SilenceRule):
        return rule.interval_s * rule.intervals
    return None


def _cleared(rule: EdgeRule, meter: str, state: RuleState, value: float | None, now: float) -> Step:
    if not state.active:
        return replace(state, since=None, value=value), None
    done = replace(state, value=value)
    alert = _alert(rule, meter, "cleared", rs=done, at=now, text=f"{rule.id}: back to normal")
    return RuleState(last_seen=state.last_seen, registers=state.registers, value=value), alert


def threshold_step(
    rule: ThresholdRule, meter: str, state: RuleState, value: float, now: float
) -> Step:
    """A new value of the rule's property."""
    high = rule.above is not None and value > rule.above
    low = rule.below is not None and value < rule.below
    if not (high or low):
        return _cleared(rule, meter, state, value, now)
    state = replace(state, value=value, since=state.since if state.since is not None else now)
    return threshold_tick(rule, meter, state, now)


def threshold_tick(rule: ThresholdRule, meter: str, state: RuleState, now: float) -> Step:
    """Time passes: raise once the condition has held for ``duration_s``."""
    if state.active or state.since is None or now - state.since < rule.duration_s:
        return state, None
    word = f"above {rule.above}" if rule.above is not None else f"below {rule.below}"
    text = f"{rule.property_id} {word} for {now - state.since:.0f} s (value {state.value})"
    raised = replace(state, active=True)
    return raised, _alert(rule, meter, "raised", rs=raised, at=now, text=text)


def range_step(rule: RangeRule, meter: str, state: RuleState, value: float, now: float) -> Step:
    """A new value: raise when outside the physical range, clear when back inside."""
    low = rule.minimum is not None and value < rule.minimum
    high = rule.maximum is not None and value > rule.maximum
    if not (low or high):
        return _cleared(rule, meter, state, value, now)
    if state.active:
        return replace(state, value=value), None
    raised = replace(state, active=True, since=now, value=value)
    text = f"{rule.property_id} = {value} outside [{rule.minimum}, {rule.maximum}]"
    return raised, _alert(rule, meter, "raised", rs=raised, at=now, text=text)


def is_cumulative(property_id: str) -> bool:
    """Whether a property id names a cumulative register (OBIS value group C.8.x)."""
    groups = property_id.removeprefix("OBIS_").split(".")
    return property_id.startswith("OBIS_") and len(groups) == 3 and groups[1] == "8"


def backwards_step(
    rule: BackwardsRule, meter: str, state: RuleState, values: Mapping[str, float], now: float
) -> Step:
    """A new reading: raise when a cumulative register is below its previous value."""
    wanted = {rule.property_id} if rule.property_id else {p for p in values if is_cumulative(p)}
    before = dict(state.registers)
    after = dict(before)
    went_back: tuple[str, float, float] | None = None
    for prop in sorted(wanted & values.keys()):
        value = values[prop]
        previous = before.get(prop)
        if previous is not None and value < previous:
            went_back = went_back or (prop, value, previous)
        after[prop] = value
    registers = tuple(sorted(after.items()))
    if went_back is None:
        return _cleared(rule, meter, replace(state, registers=registers), state.value, now)
    prop, value, previous = went_back
    raised = replace(state, active=True, since=state.since or now, value=value, registers=registers)
    if state.active:
        return raised, None
    text = f"{prop} went backwards from {previous} to {value}"
    alert = _alert(rule, meter, "raised", rs=raised, at=now, text=text)
    return raised, replace(alert, threshold=previous)


def silence_seen(rule: SilenceRule, meter: str, state: RuleState, now: float) -> Step:
    """The meter sent something: clear a silence alert."""
    step, alert = _cleared(rule, meter, replace(state, last_seen=now), None, now)
    return replace(step, last_seen=now), alert


def silence_tick(rule: SilenceRule, meter: str, state: RuleState, now: float) -> Step:
    """Time passes: raise when the meter has been silent for longer than allowed."""
    if state.active or state.last_seen is None:
        return state, None
    silent = now - state.last_seen
    if silent <= rule.interval_s * rule.intervals:
        return state, None
    raised = replace(state, active=True, since=state.last_seen, value=round(silent, 3))
    text = f"meter {meter} silent for {silent:.0f} s ({rule.intervals} intervals)"
    return raised, _alert(rule, meter, "raised", rs=raised, at=now, text=text)


class RuleEngine:
    """Keeps one :class:`RuleState` per rule and meter and applies the step functions."""

    def __init__(self, rules: Iterable[EdgeRule], *, recent: int = 200, start: float = 0.0) -> None:
        self.rules = tuple(rules)
        self._states: dict[tuple[str, str], RuleState] = {}
        self.recent: deque[Alert] = deque(maxlen=recent)
        self.active: dict[tuple[str, str], Alert] = {}
        for rule in self.rules:  # a named meter is watched for silence from the start
            if isinstance(rule, SilenceRule) and rule.meter_id:
                self._states[(rule.id, rule.meter_id)] = RuleState(last_seen=start)

    def _record(self, alert: Alert | None, out: list[Alert]) -> None:
        if alert is None:
            return
        key = (alert.rule_id, alert.meter_id)
        if alert.state == "raised":
            self.active[key] = alert
        else:
            self.active.pop(key, None)
        self.recent.append(alert)
        out.append(alert)

    def observe(self, meter: str, values: Mapping[str, float], now: float) -> list[Alert]:
        """Apply a reading (its numerical values by property id) of ``meter`` at ``now``."""
        out: list[Alert] = []
        for rule in self.rules:
            if rule.meter_id is not None and rule.meter_id != meter:
                continue
            key = (rule.id, meter)
            state = self._states.get(key, RuleState())
            alert: Alert | None = None
            if isinstance(rule, SilenceRule):
                state, alert = silence_seen(rule, meter, state, now)
            elif isinstance(rule, BackwardsRule):
                state, alert = backwards_step(rule, meter, state, values, now)
            elif rule.property_id in values:
                value = values[rule.property_id]
                if isinstance(rule, ThresholdRule):
                    state, alert = threshold_step(rule, meter, state, value, now)
                else:
                    state, alert = range_step(rule, meter, state, value, now)
            self._states[key] = state
            self._record(alert, out)
        return out

    def tick(self, now: float) -> list[Alert]:
        """Let time pass: silences and threshold durations may raise."""
        out: list[Alert] = []
        by_id = {rule.id: rule for rule in self.rules}
        for (rule_id, meter), before in list(self._states.items()):
            rule = by_id[rule_id]
            state, alert = before, None
            if isinstance(rule, SilenceRule):
                state, alert = silence_tick(rule, meter, before, now)
            elif isinstance(rule, ThresholdRule):
                state, alert = threshold_tick(rule, meter, before, now)
            self._states[(rule_id, meter)] = state
            self._record(alert, out)
        return out
