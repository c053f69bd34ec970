"""``POST /v1/aggregates`` (our extension): rollups of one property over time buckets; and the
app's compact endpoints ``POST /v1/energy`` (a household's energy picture, the one every view
of the app shows: :mod:`omdp.cloud.energy`) and ``POST /v1/series`` (values decimated to a
chart's pixels: :mod:`omdp.cloud.storage.series`), both columns, gzip-compressed when accepted.

The same privacy rules as queries (CL-8): owners and operators name meters or a household and
see real ids; other callers name meters by pseudonym, see pseudonyms, and are refused results
built from fewer than 20 readings. Energy and series are the household's: for its owner and
operators only. A household without meters has empty aggregates, not an error.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Request, Response

from omdp.auth.principal import Principal
from omdp.cloud.api.checks import require_properties
from omdp.cloud.api.compact import compact_response
from omdp.cloud.api.deps import ApiContext, CtxDep, ReaderDep
from omdp.cloud.api.energy_schemas import EnergyRequest, SeriesRequest
from omdp.cloud.api.errors import Forbidden, Invalid, NotFound, error_responses
from omdp.cloud.api.privacy import require_enough_rows, select_meters
from omdp.cloud.api.schemas import AggregateOut, AggregatesRequest, ItemList
from omdp.cloud.energy import household_energy
from omdp.cloud.model import ALL_FUNCTIONS, AggregateFunction
from omdp.cloud.services.aggregates import WIDTH_S, AggregatesService, TooManyBuckets
from omdp.cloud.storage.energy import Part
from omdp.cloud.tariffs import PricePoint
from omdp.domain.household import Household
from omdp.domain.reading import MeterClass, MeterIndividual

router = APIRouter(prefix="/v1", tags=["aggregates"])


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
    if not meters and body.household_id is not None:
        # a household without meters has no data: an empty answer, not an error
        return orjson.dumps({"items": [], "total": 0})
    wanted = set(body.functions or ALL_FUNCTIONS)
    try:
        rows = AggregatesService(store).buckets(
            property_id=body.property_id,
            interval=body.interval,
            start=body.start,
            end=body.end,
            meter_ids=meters,
            household_id=body.household_id,
            functions=wanted,
            timezone=body.timezone,
            combine=body.combine,
        )
    except TooManyBuckets as exc:
        raise Invalid(str(exc), loc="$.end") from exc
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
def aggregates(body: AggregatesRequest, principal: ReaderDep, ctx: CtxDep) -> Response:
    """Serve rollups from the store."""
    content = _run(ctx, principal, body)
    return Response(content, media_type="application/json")


# -- the app's compact endpoints --------------------------------------------------------------

POWER: dict[str, tuple[tuple[str, Part], ...]] = {
    "import": (("OBIS_1.7.0", "all"), ("OBIS_16.7.0", "positive")),
    "export": (("OBIS_2.7.0", "all"), ("OBIS_16.7.0", "negative")),
}
"""A meter's import and export power: its own register, else a sign of the net power."""
MAX_ENERGY_BUCKETS = 100_000


def _household_scope(
    ctx: ApiContext, principal: Principal, household_id: str, meter_ids: list[str] | None
) -> tuple[Household, list[MeterIndividual]]:
    """The household and its meters a request covers: for its owner and operators only."""
    scope = select_meters(
        ctx.store, principal, ctx.pseudonymise, meter_ids=meter_ids, household_id=household_id
    )
    if not scope.entitled:
        msg = "energy and series are shown to the household's owner and operators only"
        raise Forbidden(msg, loc="$.householdId", kind="privacy.household")
    household = ctx.store.get_household(household_id)
    if household is None:
        msg = f"no household {household_id!r}"
        raise NotFound(msg, loc="$.householdId")
    wanted = set(scope.meter_ids or ())
    meters = [
        m
        for m in ctx.store.list_meters(household_id=household_id)
        if m.meter_individual_id in wanted
    ]
    return household, meters


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _energy(ctx: ApiContext, principal: Principal, body: EnergyRequest) -> dict[str, Any]:
    household, meters = _household_scope(ctx, principal, body.household_id, body.meter_ids)
    zone = _zone(body.timezone or household.timezone)
    width = WIDTH_S.get(body.interval, 28 * 86400)
    if (body.end - body.start).total_seconds() / width > MAX_ENERGY_BUCKETS:
        msg = f"more than {MAX_ENERGY_BUCKETS} buckets asked for: shorten the span"
        raise Invalid(msg, loc="$.end")
    store = ctx.store
    tariff = store.get_tariff(household.household_id) if body.costs else None
    prices: list[PricePoint] = []
    if tariff is not None and tariff.kind == "dynamic":
        prices = store.prices(household.household_id, start=body.start, end=body.end)
    return household_energy(
        store,
        meters=meters,
        roles=store.meter_roles(household.household_id),
        interval=body.interval,
        start=body.start,
        end=body.end,
        zone=zone,
        tariff=tariff,
        prices=prices,
    )


@router.post(
    "/energy",
    summary="A household's energy, water, gas and heat per bucket, and its costs",
    description=(
        "Per bucket (15min, hour, day, month; local to the household's timezone) of [`start`, "
        "`end`): grid import and export, PV production, battery charge and discharge, the "
        "house's consumption and self-consumption (kWh), water and gas (m3) and heat (kWh), "
        "each measured from whatever the meter has: the total register (x.8.0), else the sum "
        "of its tariff registers (x.8.1..x.8.9), else the integral of its power. Energy "
        "across a gap is spread over the gap and marked `estimated`. Columns: `t` holds the "
        "buckets' starts (Unix seconds), `series.<name>.values` one value per bucket (null: "
        "no data). With `costs`, the costs under the household's tariff. gzip-compressed when "
        "accepted. For the household's owner and operators."
    ),
    responses=error_responses(401, 403, 404, 422),
)
def energy(body: EnergyRequest, principal: ReaderDep, ctx: CtxDep, request: Request) -> Response:
    """The energy picture of :mod:`omdp.cloud.energy`."""
    doc = _energy(ctx, principal, body)
    return compact_response(request, doc)


def _series(ctx: ApiContext, principal: Principal, body: SeriesRequest) -> dict[str, Any]:
    _, meters = _household_scope(ctx, principal, body.household_id, body.meter_ids)
    wanted: list[tuple[str, str, tuple[tuple[str, Part], ...]]] = []
    for m in meters:
        element = m.physical_meter_type
        if body.property_id is not None:
            wanted.append((m.meter_individual_id, body.property_id, ((body.property_id, "all"),)))
        elif element is None or element.physical_meter_class is MeterClass.ELECTRICITY:
            wanted += [(m.meter_individual_id, d, c) for d, c in POWER.items()]
    items = []
    for meter, label, candidates in wanted:
        found = ctx.store.series(
            meter, candidates, start=body.start, end=body.end, points=body.points
        )
        if found is None:
            continue
        prop, part, data = found
        item: dict[str, Any] = {
            "meterId": meter,
            "label": label,
            "propertyId": prop,
            "part": part,
            "resolution": data.resolution,
            "step": data.step_s,
            "t": data.t,
            "mean": data.mean,
        }
        if data.min is not None:
            item["min"], item["max"] = data.min, data.max
        items.append(item)
    return {"start": body.start, "end": body.end, "points": body.points, "items": items}


@router.post(
    "/series",
    summary="Values decimated to a chart's width (min, max, mean per pixel)",
    description=(
        "`propertyId` of each meter of the household, or `quantity: power` (each electricity "
        "meter's import and export power), in [`start`, `end`), decimated to `points` pixels: "
        "per pixel the min, max and mean, so that peaks survive; the values themselves "
        "(`resolution: raw`) when there are at most two per pixel. A gap is a null. Columns, "
        "gzip-compressed when accepted. For the household's owner and operators."
    ),
    responses=error_responses(401, 403, 404, 422),
)
def series(body: SeriesRequest, principal: ReaderDep, ctx: CtxDep, request: Request) -> Response:
    """Decimated series of :mod:`omdp.cloud.storage.series`."""
    doc = _series(ctx, principal, body)
    return compact_response(request, doc)
