"""Request and response bodies of the API that are not the specification's own messages.

The specification's messages (ReadingsQuery, ReadingsResponse, Household, ...) live in
:mod:`omdp.domain`; storage rows (:mod:`omdp.cloud.model`) never leave the API as they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, Field, model_validator

from omdp.catalog import PropertyKind
from omdp.cloud.model import AggregateFunction, Interval
from omdp.domain.adapter_file import (
    AdapterConfigFile,
    BrokerConnection,
    MeterConnection,
    PropertyMapping,
    StaticValue,
)
from omdp.domain.household import TimeZoneName
from omdp.domain.identifiers import Identifier
from omdp.domain.reading import OperationalPropertyDefinition, ShortText, SpecModel, Timestamp

T = TypeVar("T")


class ItemList(SpecModel, Generic[T]):
    """One page of a list and the size of the whole list."""

    items: list[T]
    total: int = Field(ge=0, description="Items in the whole list (all pages).")


class PropertyIn(OperationalPropertyDefinition):
    """An operational property definition with how its values behave over time (DM-4)."""

    kind: PropertyKind = Field(
        default=PropertyKind.INSTANTANEOUS,
        description="cumulative registers get consumption in aggregates; others mean/min/max.",
    )


class AggregatesRequest(SpecModel):
    """``POST /v1/aggregates``: buckets of one property for meters or one household."""

    meter_ids: list[Identifier] | None = Field(
        default=None,
        min_length=1,
        max_length=1000,
        description="Meters (pseudonyms for those who see pseudonyms).",
    )
    household_id: Identifier | None = Field(
        default=None, description="Or every meter of this household."
    )
    property_id: Identifier = Field(description="The operational property, e.g. OBIS_1.8.0.")
    interval: Interval = Field(description="Bucket width: 15min, hour, day or month.")
    start: Timestamp = Field(description="Inclusive start of the first bucket.")
    end: Timestamp = Field(description="Exclusive end of the span.")
    functions: list[AggregateFunction] | None = Field(
        default=None, max_length=6, description="What to compute; all when absent."
    )
    timezone: TimeZoneName | None = Field(
        default=None,
        description="Days and months are local to it; default the household's, else UTC.",
    )
    combine: bool = Field(default=False, description="One row per bucket over all meters.")

    @model_validator(mode="after")
    def _subject(self) -> AggregatesRequest:
        if (self.meter_ids is None) == (self.household_id is None):
            msg = "give exactly one of meterIds and householdId"
            raise ValueError(msg)
        if self.end <= self.start:
            msg = "end must lie after start"
            raise ValueError(msg)
        return self


class AggregateOut(SpecModel):
    """One bucket of one meter (``meterId`` null when combined)."""

    meter_id: str | None
    start: datetime
    end: datetime
    count: int | None = None
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    last: float | None = None
    consumption: float | None = Field(
        default=None, description="Difference of a cumulative register over the bucket."
    )


class AdapterConfigRequest(SpecModel):
    """``POST /v1/adapterConfigurations``: a new meter individual and its adapter's file (CL-10)."""

    physical_element_id: Identifier = Field(description="An existing physical meter element.")
    household_id: Identifier = Field(description="The household the new meter belongs to.")
    concentrator_id: Identifier | None = Field(
        default=None,
        description="The meter's site: the concentrator whose edge forwards its readings.",
    )
    meter_individual_name: ShortText | None = None
    meter_individual_description: Annotated[str, Field(max_length=4096)] | None = None
    mapping_overrides: list[PropertyMapping] = Field(
        default_factory=list,
        max_length=1024,
        description="Mappings replacing the default of the same 'to', or added to them.",
    )
    static_values: list[StaticValue] = Field(
        default_factory=list, max_length=256, description="Facts sent with every reading (AD-3)."
    )
    meter: MeterConnection | None = Field(default=None, description="How to reach the meter.")
    broker: BrokerConnection | None = Field(
        default=None, description="Broker to publish to; the server's configured one when absent."
    )


class IssuedCloudAuth(BaseModel):
    """The device's credentials as issued: the password is answered here, once."""

    username: str
    password: str = Field(description="A random password, shown only in this answer.")


class IssuedAdapterConfigFile(AdapterConfigFile):
    """The adapter file as the cloud answers it (CL-10).

    In a file the adapter reads, ``CloudAuth`` secrets are write-only; in this one answer the
    password is the point, so the response schema says so (a client generated from the
    OpenAPI document must not reject it).
    """

    cloud_auth: IssuedCloudAuth = Field(alias="CloudAuth")  # type: ignore[assignment]


class ErasureOut(SpecModel):
    """The audit record of an erasure (CL-13): who, what, when, how many rows; never the data."""

    record_id: int | None
    actor: str
    subject_kind: str
    subject_id: str
    at: datetime
    rows: dict[str, int]
    total_rows: int


class CallerOut(SpecModel):
    """Who a bearer token stands for, so that a client can adapt to its rights (CL-6)."""

    subject: str = Field(description="The caller's name, as audits record it.")
    scopes: list[str] = Field(description="What the caller may do (operate holds every scope).")
    household_id: Identifier | None = Field(
        default=None, description="Set for a household owner: the household whose data it sees."
    )
    operator: bool = Field(description="Whether the caller operates the platform.")


class Health(BaseModel):
    """Liveness or readiness."""

    status: str = Field(examples=["ok"])
