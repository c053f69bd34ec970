"""A household's tariff, price series and meter roles, kept on the server (APP-3).

- ``GET/PUT/DELETE /v1/households/{householdId}/tariff``: flat, time-of-use or dynamic, with
  the monthly fee and the feed-in price (:class:`~omdp.cloud.tariffs.Tariff`);
- ``GET/PUT/DELETE /v1/households/{householdId}/prices``: the price series of a dynamic tariff,
  uploaded as JSON (``{"items": [{"t", "price"}]}``) or CSV (``text/csv``, ``start,price``);
- ``GET/PUT /v1/households/{householdId}/meterRoles``: grid, pv, battery or submeter per meter.

The household's owner reads and writes their own household's; operators every household's;
nobody else any (403), so that one household never sees or changes another's.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import ValidationError

from omdp.auth.principal import Principal
from omdp.cloud.api.deps import AnyCallerDep, ApiContext, CtxDep
from omdp.cloud.api.energy_schemas import (
    MeterRoleItem,
    MeterRoles,
    PriceIn,
    PricesIn,
    PricesOut,
    PricesStored,
    TariffOut,
)
from omdp.cloud.api.errors import Forbidden, Invalid, NotFound, error_responses
from omdp.cloud.api.routes.common import id_path
from omdp.cloud.tariffs import MeterRole, PriceError, PricePoint, Tariff, parse_price_csv
from omdp.domain.reading import MeterClass, Timestamp

router = APIRouter(prefix="/v1", tags=["tariffs"])

HouseholdId = Annotated[str, id_path("householdId", "household")]
ERRORS = error_responses(401, 403, 404, 422)
CSV_TYPES = ("text/csv", "text/plain", "application/csv")


def _entitled(ctx: ApiContext, principal: Principal, household_id: str) -> None:
    """Refuse everybody but the household's owner and operators; 404 for an unknown one."""
    if not principal.operator:
        if principal.household_id is None:
            msg = "a household's tariff is shown to its owner and to operators only"
            raise Forbidden(msg, loc="path.householdId", kind="privacy.household")
        if principal.household_id != household_id:
            msg = "a household owner may only see and change their own household"
            raise Forbidden(msg, loc="path.householdId", kind="privacy.other_household")
    if ctx.store.get_household(household_id) is None:
        msg = f"no household {household_id!r}"
        raise NotFound(msg, loc="path.householdId")


@router.get(
    "/households/{householdId}/tariff",
    response_model=TariffOut,
    summary="A household's tariff",
    responses=ERRORS,
)
def get_tariff(principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId) -> TariffOut:
    """The tariff, or ``tariff: null`` when none is set."""
    _entitled(ctx, principal, household_id)
    return TariffOut(household_id=household_id, tariff=ctx.store.get_tariff(household_id))


@router.put(
    "/households/{householdId}/tariff",
    response_model=TariffOut,
    summary="Set a household's tariff",
    responses=ERRORS,
)
def put_tariff(
    principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId, body: Tariff
) -> TariffOut:
    """Set (replace) the tariff: every device of the household then shows the same costs."""
    _entitled(ctx, principal, household_id)
    ctx.store.put_tariff(household_id, body)
    return TariffOut(household_id=household_id, tariff=body)


@router.delete(
    "/households/{householdId}/tariff",
    status_code=204,
    summary="Remove a household's tariff",
    responses=ERRORS,
)
def delete_tariff(principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId) -> None:
    """Remove the tariff (costs are no longer shown)."""
    _entitled(ctx, principal, household_id)
    ctx.store.delete_tariff(household_id)


def _points(request_type: str, raw: bytes) -> list[PricePoint]:
    if request_type in CSV_TYPES:
        try:
            return parse_price_csv(raw.decode("utf-8-sig"))
        except UnicodeDecodeError:
            msg = "the CSV file is not UTF-8 text"
            raise Invalid(msg) from None
        except PriceError as exc:
            raise Invalid(str(exc), loc="$" if not exc.line else f"$[{exc.line - 1}]") from None
    try:
        body = PricesIn.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        raise Invalid(first["msg"], loc=f"${where}") from None
    return sorted((PricePoint(p.t, p.price) for p in body.items), key=lambda p: p.t)


@router.put(
    "/households/{householdId}/prices",
    response_model=PricesStored,
    summary="Import a price series (JSON or CSV)",
    description=(
        "The prices per kWh of a dynamic tariff (e.g. day-ahead prices), each valid from its "
        'time until the next. JSON `{"items": [{"t": "2026-11-01T00:00:00+01:00", '
        '"price": 0.21}]}`, or `Content-Type: text/csv` with lines `start,price` (a header '
        "line is skipped; `;` and decimal commas are read too). Replaces the stored prices "
        "from the first to the last time given."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/PricesIn"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        }
    },
    responses=ERRORS,
)
async def put_prices(
    principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId, request: Request
) -> PricesStored:
    """Store the uploaded prices."""
    raw = await request.body()
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip()

    def store() -> PricesStored:
        _entitled(ctx, principal, household_id)
        points = _points(kind, raw)
        stored = ctx.store.put_prices(household_id, points)
        return PricesStored(stored=stored, first=points[0].t, last=points[-1].t)

    # async, to read the raw body (JSON or CSV); the store is called in a worker thread
    return await asyncio.to_thread(store)


@router.get(
    "/households/{householdId}/prices",
    response_model=PricesOut,
    summary="A household's price series in a span",
    responses=ERRORS,
)
def get_prices(
    principal: AnyCallerDep,
    ctx: CtxDep,
    household_id: HouseholdId,
    start: Annotated[Timestamp | None, Query(description="From (the price then in force).")] = None,
    end: Annotated[Timestamp | None, Query(description="Until (exclusive).")] = None,
) -> PricesOut:
    """The prices in ``[start, end)`` (all without a span)."""
    _entitled(ctx, principal, household_id)
    points = ctx.store.prices(household_id, start=start, end=end)
    return PricesOut(items=[PriceIn(t=p.t, price=p.price) for p in points], total=len(points))


@router.delete(
    "/households/{householdId}/prices",
    summary="Remove a household's price series",
    responses=ERRORS,
)
def delete_prices(principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId) -> Response:
    """Remove every price of the household."""
    _entitled(ctx, principal, household_id)
    deleted = ctx.store.delete_prices(household_id)
    return Response(orjson.dumps({"deleted": deleted}), media_type="application/json")


def _roles(ctx: ApiContext, household_id: str) -> MeterRoles:
    roles = ctx.store.meter_roles(household_id)
    items = [
        MeterRoleItem(
            meter_id=m.meter_individual_id, role=roles.get(m.meter_individual_id, MeterRole.GRID)
        )
        for m in ctx.store.list_meters(household_id=household_id)
        if m.physical_meter_type is None
        or m.physical_meter_type.physical_meter_class is MeterClass.ELECTRICITY
    ]
    return MeterRoles(items=items)


@router.get(
    "/households/{householdId}/meterRoles",
    response_model=MeterRoles,
    summary="The roles of a household's electricity meters",
    responses=ERRORS,
)
def get_meter_roles(principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId) -> MeterRoles:
    """grid (the default), pv, battery or submeter for each electricity meter."""
    _entitled(ctx, principal, household_id)
    return _roles(ctx, household_id)


@router.put(
    "/households/{householdId}/meterRoles",
    response_model=MeterRoles,
    summary="Set the roles of a household's electricity meters",
    responses=ERRORS,
)
def put_meter_roles(
    principal: AnyCallerDep, ctx: CtxDep, household_id: HouseholdId, body: MeterRoles
) -> MeterRoles:
    """Set roles; every meter named must belong to the household."""
    _entitled(ctx, principal, household_id)
    own = {m.meter_individual_id for m in ctx.store.list_meters(household_id=household_id)}
    for i, item in enumerate(body.items):
        if item.meter_id not in own:
            msg = f"meter {item.meter_id!r} is not one of this household's"
            raise Invalid(msg, loc=f"$.items[{i}].meterId")
    ctx.store.set_meter_roles({i.meter_id: MeterRole(i.role) for i in body.items})
    return _roles(ctx, household_id)
