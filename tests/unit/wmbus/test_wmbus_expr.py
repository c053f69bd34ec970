"""Driver expressions: arithmetic over earlier fields, parsed once, anything else refused (AD-2)."""

from __future__ import annotations

import pytest

from omdp.decoders.wmbus.drivers.expr import Expression


def test_arithmetic_conditions_and_functions() -> None:
    known = frozenset({"lo", "hi", "day"})
    e = Expression("(lo if day <= 15 else lo + hi) * 0.1", known)
    assert e.evaluate({"lo": 5, "hi": 7, "day": 3}) == pytest.approx(0.5)
    assert e.evaluate({"lo": 5, "hi": 7, "day": 20}) == pytest.approx(1.2)
    assert Expression("max(lo, hi) << 2 | 1", known).evaluate({"lo": 1, "hi": 2}) == 9
    assert Expression("1 < day < 10 and not lo", known).evaluate({"lo": 0, "day": 5}) == 1
    assert Expression("round(lo * 10 / 3) / 10", known).evaluate({"lo": 21533}) == 7177.7
    assert Expression("round(lo / 3, 2)", known).evaluate({"lo": 10}) == 3.33


def test_a_missing_value_makes_the_result_missing() -> None:
    assert Expression("lo + hi", frozenset({"lo", "hi"})).evaluate({"lo": 1}) is None
    assert Expression("lo / hi", frozenset({"lo", "hi"})).evaluate({"lo": 1, "hi": 0}) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os')", "only min, max, abs and round"),
        ("lo.real", "Attribute is not allowed"),
        ("unknown + 1", "'unknown' is not a field before it"),
        ("'text'", "only numbers"),
        ("lo +", "invalid syntax"),
        ("[lo]", "List is not allowed"),
    ],
)
def test_anything_but_arithmetic_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        Expression(text, frozenset({"lo"}))
