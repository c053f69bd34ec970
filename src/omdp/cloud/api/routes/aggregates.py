"""``POST /v1/aggregates`` (our extension): rollups of one property over time buckets.

The same privacy rules as queries (CL-8): owners and operators name meters or a household and
see real ids; other callers name meters by pseudonym, see pseudonyms, and are refused results
built from fewer than 20 readings.
"""

from __future__ import annotations

import asyncio
from typing import Any

import orjson
from fastapi import APIRouter, Response

from omdp.cloud.api.auth import Principal
from omdp.cloud.api.checks import require_properties
from omdp.cloud.api.deps import ApiContext, CtxDep, ReaderDep
from omdp.cloud.api.errors import Invalid, error_responses
from omdp.cloud.api.privacy import require_enough_rows, select_meters
from omdp.cloud.api.schemas import AggregateOut, AggregatesRequest, ItemList
from omdp.cloud.model import ALL_FUNCTIONS, AggregateFunction, Interval

router = APIRouter(prefix="/v1", tags=["aggregates"])

#: Most buckets (meters x buckets) one request may ask for.
MAX_BUCKETS = 200_000
_WIDTH_S = {Interval.QUARTER_HOUR: 900, Interval.HOUR: 3600, Interval.DAY: 86400}


def _run(ctx: ApiContext, principal: Principal, body: AggregatesRequest) -> bytes:
    store = ctx.store
    require_properties(store, [("$.propertyId", body.property_id)])
    scope = select_meters(
        store,
        principal,
        ctx.pseudonymise,
        meter_ids=body.meter_ids,
        household_id=body.household_id,
    )
    meters = scope.meter_ids if scope.meter_ids is not None else ()
    width = _WIDTH_S.get(body.interval, 28 * 86400)
    buckets = (body.end - body.start).total_seconds() / width * max(len(meters), 1)
    if buckets > MAX_BUCKETS:
        msg = f"{int(buckets)} buckets asked for, at most {MAX_BUCKETS}: shorten the span"
        raise Invalid(msg, loc="$.end")
    wanted = set(body.functions or ALL_FUNCTIONS)
    rows = store.aggregates(
        property_id=body.property_id,
        interval=body.interval,
        start=body.start,
        end=body.end,
        meter_ids=list(meters),
        functions={*wanted, AggregateFunction.COUNT},
        timezone=body.timezone or _household_zone(ctx, body.household_id),
        combine=body.combine,
    )
    require_enough_rows(sum(r.count or 0 for r in rows), ctx.settings.api.min_result_rows, scope)
    rename = None if scope.entitled else ctx.pseudonymise
    # Rows straight to JSON (the shape of AggregateOut, nulls left out): a year of quarter-hours
    # is 35,000 rows, and a pydantic object per row cost seconds. meterId is null when combined.
    names = [f.value for f in AggregateFunction if f in wanted]
    items: list[dict[str, Any]] = []
    for r in rows:
        meter = r.meter_id if rename is None or r.meter_id is None else rename(r.meter_id)
        item: dict[str, Any] = {"meterId": meter, "start": r.start, "end": r.end}
        for name in names:
            value = getattr(r, name)
            if value is not None:
                item[name] = value
        items.append(item)
    return orjson.dumps({"items": items, "total": len(items)}, option=orjson.OPT_UTC_Z)


def _household_zone(ctx: ApiContext, household_id: str | None) -> str | None:
    if household_id is None:
        return None
    household = ctx.store.get_household(household_id)
    return None if household is None else household.timezone


@router.post(
    "/aggregates",
    response_model=ItemList[AggregateOut],
    response_model_exclude_none=True,
    summary="Aggregates of one property per time bucket",
    description=(
        "Buckets (15min, hour, day, month; days and months local to `timezone`, default the "
        "household's, else UTC) of `propertyId` in [`start`, `end`) for `meterIds` or every meter "
        "of `householdId`, one row per meter and bucket, or one per bucket with `combine`. "
        "`functions` picks min, max, mean, last, count and consumption (cumulative registers "
        "only); all when absent. Privacy as for `/v1/meterReadings`. Needs `readings:read`."
    ),
    responses=error_responses(401, 403, 404, 422),
)
async def aggregates(body: AggregatesRequest, principal: ReaderDep, ctx: CtxDep) -> Response:
    """Serve rollups from the store."""
    content = await asyncio.to_thread(_run, ctx, principal, body)
    return Response(content, media_type="application/json")
