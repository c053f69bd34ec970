"""The cloud's query request and response (CL-3, CL-4, CL-5).

``POST {host}/{optionalPath}/v1/meterReadings`` takes a :class:`ReadingsQuery` (every field
optional) and answers a :class:`ReadingsResponse`, whose fields are the specification's
(``linkToBulk``, ``page``: the number of the page returned, ``content``) with the types it gives
them. What we add lives in fields the specification does not define, marked "Extension" in
their descriptions: in the request ``resultForm`` (CL-5: the caller chooses JSON or a bulk link;
JSON is the default), ``meterIds`` and ``householdId``; in the response ``pageSize``,
``totalRows``, ``totalPages`` and ``resultForm`` (which form the server chose).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field, ValidationInfo, field_validator

from omdp.domain.identifiers import Identifier
from omdp.domain.reading import PropertyId, ReadingTime, SpecModel, StoredText

MAX_PAGE_SIZE = 10_000


class ResultForm(StrEnum):
    """How the caller wants the result (CL-5)."""

    JSON = "json"
    BULK = "bulk"


class PropertyFilter(SpecModel):
    """Keeps readings whose value of one property satisfies every condition given."""

    specific_property_name: PropertyId = Field(description="Operational property id.")
    numerical_value_greater_than: float | None = None
    numerical_value_less_than: float | None = None
    numerical_value_equal_to: float | None = None
    text_value_equal_to: StoredText | None = None


class ReadingsQuery(SpecModel):
    """The body of ``POST /v1/meterReadings`` (CL-3); every field is optional."""

    reading_time_start: ReadingTime | None = Field(
        default=None, description="Inclusive lower bound of readingTime."
    )
    reading_time_end: ReadingTime | None = Field(
        default=None, description="Exclusive upper bound of readingTime."
    )
    max_rows: int | None = Field(default=None, ge=1, description="Cap on the whole result.")
    page_number: int | None = Field(default=None, ge=0, description="Page, counted from 0.")
    page_size: int | None = Field(default=None, ge=1, le=MAX_PAGE_SIZE)
    operational_properties: list[PropertyFilter] | None = Field(default=None, max_length=64)
    result_form: ResultForm = Field(
        default=ResultForm.JSON,
        description="Extension (CL-5): json (default) or bulk, a link to a download.",
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

    property_name: str
    numerical_value: float | None = None
    text_value: str | None = None
    unit: str = Field(description="The value's unit; empty when it has none.")


class ResultReading(SpecModel):
    """One reading in a query result (CL-4)."""

    reading_time: ReadingTime
    meter_id: Identifier
    property_values: list[ResultPropertyValue]


class ReadingsResponse(SpecModel):
    """The answer of ``POST /v1/meterReadings`` (CL-4, CL-5)."""

    link_to_bulk: str | None = Field(
        default=None, description="A link to download the whole result (CL-5)."
    )
    page: int | None = Field(
        default=None, ge=0, description="The number of the page returned (from 0)."
    )
    content: list[ResultReading] | None = None
    page_size: int | None = Field(
        default=None, ge=1, description="Extension: readings per page of this result."
    )
    total_rows: int | None = Field(
        default=None, ge=0, description="Extension: readings in the whole result (after maxRows)."
    )
    total_pages: int | None = Field(
        default=None, ge=0, description="Extension: pages of the whole result."
    )
    result_form: ResultForm | None = Field(
        default=None, description="Extension (CL-5): json (content) or bulk (linkToBulk)."
    )
