"""The MeterReading message and its parts (DM-1..DM-6), as the specification names them.

Field names are the specification's camelCase JSON names. Input is validated strictly where the
specification says MUST (timezone on every time, a value on every property value, the meter
class) and tolerantly where the published material is defective (SPEC.md §8): the spellings
``physicalMeter`` and ``propertyName`` are accepted on input, and output always uses the model's
``physicalMeterType`` and ``propertyDescription``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Final

from pydantic import (
    AliasChoices,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from omdp.domain.identifiers import Identifier

#: Times outside these bounds are refused: they are clock faults, not readings.
EARLIEST: Final = datetime(1970, 1, 1, tzinfo=UTC)
LATEST: Final = datetime(2200, 1, 1, tzinfo=UTC)


Timestamp = Annotated[AwareDatetime, Field(ge=EARLIEST, lt=LATEST)]
"""An RFC 3339 time that MUST carry a timezone offset (DM-1), from 1970 to 2199."""

MISSING_VALUE = "missing_value"
"""Error type of a property value without numericalValue and textValue (DM-3)."""

ShortText = Annotated[str, Field(max_length=256)]
Unit = Annotated[str, Field(min_length=1, max_length=32)]


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

    property_id: Identifier = Field(description="Catalogue id, e.g. OBIS_1.8.0.")
    property_description: ShortText | None = Field(
        default=None,
        validation_alias=AliasChoices("propertyDescription", "propertyName"),
        serialization_alias="propertyDescription",
        description="Human description; the defective spelling propertyName is accepted.",
    )
    allowed_units: list[Unit] | None = Field(default=None, max_length=16)


class PropertyValue(SpecModel):
    """One value of one operational property in a reading (DM-3)."""

    unit: Unit | None = None
    date: Timestamp | None = Field(default=None, description="When this value was measured.")
    numerical_value: float | None = Field(default=None, strict=True)
    """Present unless textValue is; MeterReading checks that one of them is (DM-3)."""
    text_value: Annotated[str, Field(max_length=4096)] | None = None
    operational_property_definition: OperationalPropertyDefinition

    @property
    def property_id(self) -> str:
        """The id of the operational property this value belongs to."""
        return self.operational_property_definition.property_id


class PhysicalMeterElement(SpecModel):
    """One product generation of one maker (DM-5)."""

    physical_element_id: Identifier
    physical_element_name: ShortText | None = None
    physical_element_description: Annotated[str, Field(max_length=4096)] | None = None
    physical_element_version_id: ShortText | None = None
    physical_element_is_virtual: bool = False
    physical_meter_class: MeterClass
    physical_meter_operational_properties: list[OperationalPropertyDefinition] = Field(
        default_factory=list,
        max_length=1024,
        description="The operational properties this meter provides.",
    )


class MeterIndividual(SpecModel):
    """One physical device, one serial number, in one household (DM-6)."""

    meter_individual_id: Identifier
    meter_individual_name: ShortText | None = None
    meter_individual_description: Annotated[str, Field(max_length=4096)] | None = None
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
    reading_time: Timestamp
    sequence_number: int | None = Field(default=None, ge=0, lt=2**63)
    fault_code: ShortText | None = Field(
        default=None, description="Set when the reading may not be correct (DM-2)."
    )
    property_values: list[PropertyValue] = Field(default_factory=list, max_length=1024)
    meter_individual: MeterIndividual | None = None

    @field_validator("property_values", mode="after")
    @classmethod
    def _values_present(cls, values: list[PropertyValue]) -> list[PropertyValue]:
        # One check per reading rather than a validator per value: a Python call per value
        # would cost more than the rest of validation (see `omdp bench validation`).
        for value in values:
            if value.numerical_value is None and value.text_value is None:
                raise PydanticCustomError(
                    MISSING_VALUE,
                    "a property value MUST have numericalValue or textValue (DM-3)",
                    {"index": values.index(value)},
                )
        return values

    @property
    def meter_id(self) -> str | None:
        """The meter individual's id, when the reading names it."""
        return None if self.meter_individual is None else self.meter_individual.meter_individual_id

    def to_json(self) -> bytes:
        """Serialise in the model's spelling, without absent optional fields."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()
