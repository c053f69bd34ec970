"""Parsing MeterReadings from bytes, with every problem named by its JSON path.

:func:`parse_reading` is the one way from wire bytes to a :class:`MeterReading`. It validates
straight from JSON with pydantic-core (faster than decoding to a dict first) and turns
pydantic's errors into ``(json_path, reason)`` pairs. :func:`unit_issues` finds values whose unit
is not among the property's allowed units: such readings are kept and flagged, not rejected
(docs/requirements.md, DM-3).

A leap second (``23:59:60``, which RFC 3339 allows and Python's datetime cannot hold) is read as
``23:59:59.999999``: only when validation fails, the times with a leap second are rewritten and
the message validated once more.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from omdp.domain.identifiers import IDENTIFIER_RULE
from omdp.domain.reading import MISSING_VALUE, NO_NUL, MeterReading
from omdp.domain.units import units_equal
from omdp.errors import ValidationFailure


class AllowedUnits(Protocol):
    """What :func:`unit_issues` reads of a catalogue entry."""

    @property
    def allowed_units(self) -> Sequence[str]:
        """The units a property's values may have (empty: any)."""
        ...


class UnitCatalog(Protocol):
    """The catalogue as :func:`unit_issues` uses it (:class:`omdp.catalog.Catalog` is one)."""

    def get(self, prop_id: str, /) -> AllowedUnits | None:
        """The entry of the property ``prop_id``, or None when unknown."""
        ...


_LEAP_SECOND = re.compile(rb'("\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:)60(?:\.\d+)?(?=[Zz+-][^"]*")')
"""A leap second in an RFC 3339 time inside a JSON string."""


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
        if error.get("ctx", {}).get("pattern") == NO_NUL:
            return "text contains the NUL character, which the stores cannot keep"
        return f"not a valid identifier ({IDENTIFIER_RULE})"
    if kind == "finite_number":
        return (
            "not a finite number: NaN, infinities and numbers beyond the range of a double "
            "(about 1.8e308) cannot be stored"
        )
    if kind == "string_too_short" and error["loc"][-1] == "propertyId":
        return "an operational property MUST have an id (DM-4)"
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
        failure = ValidationFailure(source, problems_of(exc))
    raw = data.encode() if isinstance(data, str) else data
    leapless = _LEAP_SECOND.sub(rb"\g<1>59.999999", raw)
    if leapless != raw:
        try:
            return MeterReading.model_validate_json(leapless)
        except ValidationError:
            pass  # the first reasons name the original bytes
    raise failure


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


def unit_issues(reading: MeterReading, catalog: UnitCatalog | None = None) -> list[UnitIssue]:
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
