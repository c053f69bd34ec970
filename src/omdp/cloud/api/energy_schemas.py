"""Request and response bodies of the app's endpoints: energy, decimated series, tariffs.

These are this implementation's additions for the app (APP-1..APP-3); the specification's query
(``POST /v1/meterReadings``, CL-3/CL-4) is untouched by them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, model_validator

from omdp.cloud.model import Interval
from omdp.cloud.tariffs import MeterRole, Tariff
from omdp.domain.household import TimeZoneName
from omdp.domain.identifiers import Identifier
from omdp.domain.reading import SpecModel, Timestamp


class _Span(SpecModel):
    household_id: Identifier = Field(description="The household.")
    meter_ids: list[Identifier] | None = Field(
        default=None, min_length=1, max_length=1000, description="Only these of its meters."
    )
    start: Timestamp = Field(description="Inclusive start.")
    end: Timestamp = Field(description="Exclusive end.")

    @model_validator(mode="after")
    def _order(self) -> _Span:
        if self.end <= self.start:
            msg = "end must lie after start"
            raise ValueError(msg)
        return self


class EnergyRequest(_Span):
    """``POST /v1/energy``: a household's energy picture per bucket."""

    interval: Interval = Field(description="Bucket width: 15min, hour, day or month.")
    timezone: TimeZoneName | None = Field(
        default=None, description="Days and months are local to it; default the household's."
    )
    costs: bool = Field(default=False, description="Also the costs under the stored tariff.")


class SeriesRequest(_Span):
    """``POST /v1/series``: values decimated to a chart's pixels (min, max, mean per pixel)."""

    property_id: Identifier | None = Field(
        default=None, description="A property of the meters, e.g. OBIS_32.7.0."
    )
    quantity: Literal["power"] | None = Field(
        default=None,
        description="power: each electricity meter's import and export power, from OBIS_1.7.0 "
        "and OBIS_2.7.0, or the two signs of OBIS_16.7.0.",
    )
    points: int = Field(default=1000, ge=10, le=20_000, description="Pixels of the chart.")

    @model_validator(mode="after")
    def _what(self) -> SeriesRequest:
        if (self.property_id is None) == (self.quantity is None):
            msg = "give exactly one of propertyId and quantity"
            raise ValueError(msg)
        return self


class TariffOut(SpecModel):
    """A household's tariff (null when none is set)."""

    household_id: str
    tariff: Tariff | None


class PriceIn(SpecModel):
    """A price per kWh valid from ``t`` until the next one."""

    t: Timestamp
    price: float = Field(ge=-100, le=100)


class PricesIn(SpecModel):
    """``PUT /v1/households/{householdId}/prices`` as JSON (CSV: ``text/csv``)."""

    items: list[PriceIn] = Field(min_length=1, max_length=200_000)


class PricesOut(SpecModel):
    """Prices of a household in a span."""

    items: list[PriceIn]
    total: int


class PricesStored(SpecModel):
    """What an upload stored."""

    stored: int
    first: datetime
    last: datetime


class MeterRoleItem(SpecModel):
    """A meter and its role in the household's energy flow."""

    meter_id: Identifier
    role: MeterRole


class MeterRoles(SpecModel):
    """``GET/PUT /v1/households/{householdId}/meterRoles`` (unset: grid)."""

    items: list[MeterRoleItem] = Field(max_length=1000)
