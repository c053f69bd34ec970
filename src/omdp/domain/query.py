"""The cloud's query request and response (CL-3, CL-4, CL-5).

``POST {host}/{optionalPath}/v1/meterReadings`` takes a :class:`ReadingsQuery` (every field
optional) and answers a :class:`ReadingsResponse`. ``resultForm`` is our extension of CL-5: the
caller chooses JSON or a bulk link; JSON is the default.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from omdp.domain.identifiers import Identifier
from omdp.domain.reading import SpecModel, Timestamp, Unit

MAX_PAGE_SIZE = 10_000


class ResultForm(StrEnum):
    """How the caller wants the result (CL-5)."""

    JSON = "json"
    BULK = "bulk"


class PropertyFilter(SpecModel):
    """Keeps readings whose value of one property satisfies every condition given."""

    specific_property_name: Identifier = Field(description="Operational property id.")
    numerical_value_greater_than: float | None = None
    numerical_value_less_than: float | None = None
    numerical_value_equal_to: float | None = None
    text_value_equal_to: Annotated[str, Field(max_length=4096)] | None = None


class ReadingsQuery(SpecModel):
    """The body of ``POST /v1/meterReadings`` (CL-3); every field is optional."""

    reading_time_start: Timestamp | None = Field(
        default=None, description="Inclusive lower bound of readingTime."
    )
    reading_time_end: Timestamp | None = Field(
        default=None, description="Exclusive upper bound of readingTime."
    )
    max_rows: int | None = Field(default=None, ge=1, description="Cap on the whole result.")
    page_number: int | None = Field(default=None, ge=0, description="Page, counted from 0.")
    page_size: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    operational_properties: list[PropertyFilter] | None = Field(default=None, max_length=64)
    result_form: ResultForm = Field(
        default=ResultForm.JSON, description="json (default) or bulk: a link to a download."
    )
    meter_ids: list[Identifier] | None = Field(
        default=None,
        max_length=1000,
        description=(
            "Extension: only these meters (pseudonyms for callers who see pseudonyms). "
            "All meters the caller may see when absent."
        ),
    )
    household_id: Identifier | None = Field(
        default=None, description="Extension: only the meters of this household."
    )

    @field_validator("reading_time_end", mode="after")
    @classmethod
    def _span(cls, end: datetime | None, info: ValidationInfo) -> datetime | None:
        # A field validator (not a model one) so that the error names readingTimeEnd.
        start = info.data.get("reading_time_start")
        if start is not None and end is not None and end < start:
            msg = "readingTimeEnd must not lie before readingTimeStart"
            raise ValueError(msg)
        return end


class ResultPropertyValue(SpecModel):
    """One property value in a query result (CL-4)."""

    property_name: Identifier
    numerical_value: float | None = None
    text_value: str | None = None
    unit: Unit | None = None


class ResultReading(SpecModel):
    """One reading in a query result (CL-4)."""

    reading_time: Timestamp
    meter_id: Identifier
    property_values: list[ResultPropertyValue]


class Page(SpecModel):
    """Where this page lies in the whole result."""

    page_number: int = Field(ge=0)
    page_size: int = Field(ge=1)
    total_rows: int = Field(ge=0, description="Rows in the whole result (after maxRows).")
    total_pages: int = Field(ge=0)


class ReadingsResponse(SpecModel):
    """The answer of ``POST /v1/meterReadings`` (CL-4)."""

    link_to_bulk: str | None = None
    page: Page | None = None
    content: list[ResultReading] | None = None
