"""The MeterReading message and its parts (DM-1..DM-6), as the specification names them.

Field names are the specification's camelCase JSON names. We are liberal in what we accept and
exact in what we send (docs/requirements.md, "Reading the data model"): whatever the published
schema allows is accepted, and only what it forbids, or what the requirements say MUST be there
(a timezone on every time, a value on every property value, an id on every property, one of the
four meter classes), is refused. So there are no length limits of our own on the texts (the
message size limit bounds them), an empty ``unit`` is no unit, any JSON number is a number
(``1e3``, ``-0``, integers beyond 2^53 become the nearest double), a property id is any
non-empty text, and a ``sequenceNumber``, which the schema does not define, is kept only when it
is a counter (an integer from 0 to 2^63-1) and ignored otherwise. The published material's
defects are read tolerantly: the spellings ``physicalMeter`` and ``propertyName`` are accepted on
input, and output always uses the model's ``physicalMeterType`` and ``propertyDescription``.

The few limits that remain are the platform's, each with its reason: times from the year 1 to
9998 (what the stores can represent, with room for the rollups' arithmetic), numbers within the
range of a double, property ids of at most 512 characters (they are keys of the stores' indexes)
and no NUL character in a stored text (PostgreSQL cannot keep one).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidatorFunctionWrapHandler,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from omdp.domain.identifiers import Identifier

#: A reading's times lie in these bounds: what the stores represent (``datetime`` from the year
#: 1 to 9999, in UTC whatever the offset), with room for the rollups' bucket arithmetic.
EARLIEST: Final = datetime(1, 1, 2, tzinfo=UTC)
LATEST: Final = datetime(9999, 1, 1, tzinfo=UTC)

#: The bounds of times in our own requests (aggregates): spans a person asks for.
EARLIEST_QUERY: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_QUERY: Final = datetime(2200, 1, 1, tzinfo=UTC)

NOT_RFC3339 = "rfc3339"
"""Error type of a time that is not RFC 3339 text."""

_TIME_TEXT = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d")


def _time_text(value: Any) -> Any:
    """Refuse what pydantic would read as a time but the schema's ``datetime`` is not: numbers
    and digit strings (Unix times). Only on the pydantic path; msgspec reads RFC 3339 alone.
    Python code passes datetimes, which are times already."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or _TIME_TEXT.match(value) is None:
        msg = "not an RFC 3339 time, e.g. 2024-01-01T00:00:00Z"
        raise PydanticCustomError(NOT_RFC3339, msg)
    return value


ReadingTime = Annotated[
    AwareDatetime, Field(ge=EARLIEST, lt=LATEST), BeforeValidator(_time_text)
]
"""An RFC 3339 time that MUST carry a timezone offset (DM-1), from the year 1 to 9998."""

Timestamp = Annotated[AwareDatetime, Field(ge=EARLIEST_QUERY, lt=LATEST_QUERY)]
"""A time with a timezone offset from 1970 to 2199, for the spans our own requests name."""

MISSING_VALUE = "missing_value"
"""Error type of a property value without numericalValue and textValue (DM-3)."""

NO_NUL = r"^[^\x00]*$"
"""Texts the stores keep: anything but the NUL character (PostgreSQL cannot store it)."""

StoredText = Annotated[str, StringConstraints(pattern=NO_NUL)]
"""A text of any length that is stored: everything but NUL."""

PropertyId = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=NO_NUL)]
"""An operational property's id: any non-empty text (the schema says only ``string``), at most
512 characters because the stores index it (PostgreSQL's index entries hold about 2,700 bytes)."""

ShortText = Annotated[str, Field(max_length=256)]
"""A name in our own requests (not in the specification's messages)."""

Unit = str
"""A unit as the sender wrote it; an empty unit is no unit (DM-3)."""


class MeterClass(StrEnum):
    """The four classes of physical meter (DM-5)."""

    ELECTRICITY = "ELECTRICITY"
    GAS = "GAS"
    WATER = "WATER"
    HEAT = "HEAT"


class SpecModel(BaseModel):
    """Base of the specification's messages: camelCase names, immutable, unknown fields ignored."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
        extra="ignore",
        allow_inf_nan=False,
        ser_json_inf_nan="null",
    )


class OperationalPropertyDefinition(SpecModel):
    """What a value means, so that meters of different makers are comparable (DM-4)."""

    property_id: PropertyId = Field(description="Catalogue id, e.g. OBIS_1.8.0.")
    property_description: str | None = Field(
        default=None,
        validation_alias=AliasChoices("propertyDescription", "propertyName"),
        serialization_alias="propertyDescription",
        description="Human description; the defective spelling propertyName is accepted.",
    )
    allowed_units: list[str] | None = None


class PropertyValue(SpecModel):
    """One value of one operational property in a reading (DM-3)."""

    unit: StoredText | None = Field(
        default=None, description="The value's unit; empty or absent means no unit."
    )
    date: ReadingTime | None = Field(default=None, description="When this value was measured.")
    numerical_value: float | None = Field(default=None, strict=True)
    """Present unless textValue is; MeterReading checks that one of them is (DM-3)."""
    text_value: StoredText | None = None
    operational_property_definition: OperationalPropertyDefinition

    @property
    def property_id(self) -> str:
        """The id of the operational property this value belongs to."""
        return self.operational_property_definition.property_id


class PhysicalMeterElement(SpecModel):
    """One product generation of one maker (DM-5)."""

    physical_element_id: Identifier
    physical_element_name: str | None = None
    physical_element_description: str | None = None
    physical_element_version_id: str | None = None
    physical_element_is_virtual: bool = False
    physical_meter_class: MeterClass
    physical_meter_operational_properties: list[OperationalPropertyDefinition] = Field(
        default_factory=list, description="The operational properties this meter provides."
    )


class MeterIndividual(SpecModel):
    """One physical device, one serial number, in one household (DM-6)."""

    meter_individual_id: Identifier
    meter_individual_name: str | None = None
    meter_individual_description: str | None = None
    household_id: Identifier | None = None
    physical_meter_type: PhysicalMeterElement | None = Field(
        default=None,
        validation_alias=AliasChoices("physicalMeterType", "physicalMeter"),
        serialization_alias="physicalMeterType",
        description="The element this meter is an instance of; physicalMeter is accepted.",
    )


class MeterReading(SpecModel):
    """One reading of one meter at one time (DM-1, DM-2, DM-3)."""

    meter_reading_identifier: Identifier = Field(
        description="Opaque id, generated once per reading and kept on re-sends (UUID advised)."
    )
    reading_time: ReadingTime
    sequence_number: int | None = Field(
        default=None,
        ge=0,
        lt=2**63,
        description="A counter the examples carry; kept when it is one, ignored otherwise.",
    )
    fault_code: StoredText | None = Field(
        default=None, description="Set when the reading may not be correct (DM-2)."
    )
    property_values: list[PropertyValue] = Field(default_factory=list)
    meter_individual: MeterIndividual | None = None

    @field_validator("sequence_number", mode="wrap")
    @classmethod
    def _counter_or_nothing(cls, value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        # The schema does not define sequenceNumber: what is not a counter is not refused.
        try:
            return handler(value)
        except ValidationError:
            return None

    @field_validator("property_values", mode="after")
    @classmethod
    def _values_present(cls, values: list[PropertyValue]) -> list[PropertyValue]:
        # One check per reading rather than a validator per value: a Python call per value
        # would cost more than the rest of validation (see `omdp bench validation`).
        for index, value in enumerate(values):
            if value.numerical_value is None and value.text_value is None:
                raise PydanticCustomError(
                    MISSING_VALUE,
                    "a property value MUST have numericalValue or textValue (DM-3)",
                    {"index": index},
                )
            if value.unit == "":
                values[index] = value.model_copy(update={"unit": None})
        return values

    @property
    def meter_id(self) -> str | None:
        """The meter individual's id, when the reading names it."""
        return None if self.meter_individual is None else self.meter_individual.meter_individual_id

    def to_json(self) -> bytes:
        """Serialise in the model's spelling, without absent optional fields."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()
