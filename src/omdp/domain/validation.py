"""Parsing MeterReadings from bytes, with every problem named by its JSON path.

:func:`parse_reading` is the one way from wire bytes to a :class:`MeterReading`. It validates
straight from JSON with pydantic-core (faster than decoding to a dict first) and turns
pydantic's errors into ``(json_path, reason)`` pairs. :func:`unit_issues` finds values whose unit
is not among the property's allowed units: such readings are kept and flagged, not rejected
(SPEC.md §8).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from omdp.domain.identifiers import IDENTIFIER_RULE
from omdp.domain.reading import MISSING_VALUE, MeterReading
from omdp.domain.units import units_equal
from omdp.errors import ValidationFailure

if TYPE_CHECKING:
    from omdp.catalog import Catalog


def json_path(loc: Sequence[int | str]) -> str:
    """Render a pydantic error location as a JSON path: ``$.propertyValues[0].unit``."""
    parts = ["$"]
    for item in loc:
        parts.append(f"[{item}]" if isinstance(item, int) else f".{item}")
    return "".join(parts)


def _reason(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "missing":
        return "field required"
    if kind == "timezone_aware":
        return "time MUST include a timezone offset (RFC 3339), e.g. 2024-01-01T00:00:00+01:00"
    if kind == "json_invalid":
        return f"not valid JSON: {error['ctx'].get('error', '')}" if "ctx" in error else "not JSON"
    if kind == "string_pattern_mismatch":
        return f"not a valid identifier ({IDENTIFIER_RULE})"
    msg = error["msg"]
    return msg.removeprefix("Value error, ")


def _loc(error: ErrorDetails) -> tuple[int | str, ...]:
    if error["type"] == MISSING_VALUE and "ctx" in error:
        return (*error["loc"], error["ctx"]["index"])
    return error["loc"]


def problems_of(exc: ValidationError) -> list[tuple[str, str]]:
    """The ``(json_path, reason)`` pairs of a pydantic validation error."""
    return [(json_path(_loc(e)), _reason(e)) for e in exc.errors(include_url=False)]


def parse_reading(data: bytes | str, *, source: str = "message") -> MeterReading:
    """Parse and validate one MeterReading from JSON.

    Raises:
        ValidationFailure: with the JSON path and reason of each problem.
    """
    try:
        return MeterReading.model_validate_json(data)
    except ValidationError as exc:
        raise ValidationFailure(source, problems_of(exc)) from None


@dataclass(frozen=True, slots=True)
class UnitIssue:
    """A property value whose unit is not one the property allows (kept, flagged)."""

    path: str
    property_id: str
    unit: str | None
    allowed: tuple[str, ...]

    def __str__(self) -> str:
        allowed = ", ".join(self.allowed)
        return (
            f"{self.path}: unit {self.unit!r} is not among the allowed units ({allowed}) "
            f"of {self.property_id}; kept and flagged as a unit mismatch"
        )


def unit_issues(reading: MeterReading, catalog: Catalog | None = None) -> list[UnitIssue]:
    """Values whose unit is outside the allowed units of the catalogue or of the message.

    The catalogue's allowed units win where it knows the property; otherwise the units the
    message itself lists are used. A property without allowed units accepts any unit.
    """
    issues = []
    for index, value in enumerate(reading.property_values):
        definition = value.operational_property_definition
        known = catalog.get(definition.property_id) if catalog is not None else None
        allowed = tuple(known.allowed_units if known else definition.allowed_units or ())
        if not allowed:
            continue
        if value.unit is None or not any(units_equal(value.unit, u) for u in allowed):
            path = f"$.propertyValues[{index}].unit"
            issues.append(UnitIssue(path, definition.property_id, value.unit, allowed))
    return issues
