"""``GET /v1/meterHealth``: each meter's health from its sequence numbers (gap detection).

An adapter numbers its meter's expected readings (``sequenceNumber`` goes on across restarts
and skips the readings it missed, see :mod:`omdp.adapter.service`), so a number missing in the
store is a reading that was never taken or was lost on the way. For every meter this answers,
over the last ``hours``: readings stored, the newest reading time, missing numbers, restarts of
the numbering, and whether the meter was silent. ``omdp status`` reports meters with gaps.

Operators (and registry writers) see every meter, also those not in the registry; a household's
owner sees the meters of their household.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Protocol

from fastapi import APIRouter, Query
from pydantic import Field

from omdp.auth.principal import Principal, Scope
from omdp.cloud.api.deps import AnyCallerDep, CtxDep
from omdp.cloud.api.errors import Forbidden, error_responses
from omdp.cloud.model import MeterHealth
from omdp.cloud.storage.port import ReadingQuery, Registry
from omdp.domain.reading import SpecModel

router = APIRouter(prefix="/v1", tags=["registry"])


class MeterHealthItem(SpecModel):
    """One meter's health over the window."""

    meter_id: str
    household_id: str | None = None
    registered: bool = Field(description="Whether the registry knows the meter.")
    readings: int = Field(ge=0, description="Readings in the window.")
    last_reading_time: datetime | None = None
    missing_readings: int = Field(ge=0, description="Sequence numbers skipped: readings lost.")
    restarts: int = Field(ge=0, description="Times the numbering went back.")
    first_sequence_number: int | None = None
    last_sequence_number: int | None = None
    silent: bool = Field(description="No reading in the window.")
    healthy: bool = Field(description="Not silent, nothing missing.")


class MeterHealthList(SpecModel):
    """The health of every meter the caller may see."""

    since: datetime
    items: list[MeterHealthItem]
    total: int = Field(ge=0)


class _HealthSource(Registry, ReadingQuery, Protocol):
    """The meters (registry) and their readings' sequence numbers (reading query)."""


def _items(store: _HealthSource, principal: Principal, since: datetime) -> list[MeterHealthItem]:
    sees_all = principal.has(Scope.REGISTRY_WRITE)
    if not sees_all and principal.household_id is None:
        msg = "meter health is shown only to a household's owner and to operators (CL-9)"
        raise Forbidden(msg, kind="privacy.registry")
    meters = store.list_meters(household_id=None if sees_all else principal.household_id)
    households = {m.meter_individual_id: m.household_id for m in meters}
    found: dict[str, MeterHealth] = {
        h.meter_id: h
        for h in store.meter_health(since=since, meter_ids=None if sees_all else list(households))
    }
    items = []
    for meter_id in sorted(set(households) | set(found)):
        h = found.get(meter_id)
        items.append(
            MeterHealthItem(
                meter_id=meter_id,
                household_id=households.get(meter_id),
                registered=meter_id in households,
                readings=h.readings if h else 0,
                last_reading_time=h.last_reading if h else None,
                missing_readings=h.missing if h else 0,
                restarts=h.restarts if h else 0,
                first_sequence_number=h.first_sequence if h else None,
                last_sequence_number=h.last_sequence if h else None,
                silent=h is None,
                healthy=h is not None and h.missing == 0,
            )
        )
    return items


@router.get(
    "/meterHealth",
    response_model=MeterHealthList,
    response_model_exclude_none=True,
    summary="Each meter's health: readings, gaps in its sequence numbers, silence",
    responses=error_responses(401, 403, 422),
)
def meter_health(
    principal: AnyCallerDep,
    ctx: CtxDep,
    hours: Annotated[
        float, Query(gt=0, le=24 * 366, description="The window: the last this many hours.")
    ] = 24.0,
) -> MeterHealthList:
    """Gap detection from sequence numbers over the last ``hours``."""
    since = datetime.now(UTC) - timedelta(hours=hours)
    items = _items(ctx.store, principal, since)
    return MeterHealthList(since=since, items=items, total=len(items))
