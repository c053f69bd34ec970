"""``/v1/households`` and ``/v1/meterIndividuals``: the personal part of the registry (DM-6).

Operators and holders of ``registry:write`` see and change every entry; a household owner sees
their own household and meters; other callers see none of them (CL-9, CL-13).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omdp.auth.principal import Principal, Scope
from omdp.cloud.api.checks import reject_nul
from omdp.cloud.api.deps import AnyCallerDep, RegistrarDep, RegistryDep, RegistryServiceDep
from omdp.cloud.api.errors import Forbidden, NotFound, error_responses
from omdp.cloud.api.routes.common import (
    Limit,
    Offset,
    id_path,
    registry_answers,
    same_id,
    window,
)
from omdp.cloud.api.schemas import ItemList
from omdp.cloud.storage.port import Registry
from omdp.domain.household import Household
from omdp.domain.identifiers import IDENTIFIER_PATTERN
from omdp.domain.reading import MeterIndividual

router = APIRouter(prefix="/v1", tags=["registry"])

HouseholdId = Annotated[str, id_path("householdId", "household")]
MeterId = Annotated[str, id_path("meterIndividualId", "meter individual")]
ERRORS = error_responses(401, 403, 404, 422)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


def _sees_all(principal: Principal) -> bool:
    return principal.has(Scope.REGISTRY_WRITE) or principal.has(Scope.REGISTRY_READ)


def _visible_household(principal: Principal, household_id: str | None) -> bool:
    return _sees_all(principal) or (
        principal.household_id is not None and principal.household_id == household_id
    )


def _guard_listing(principal: Principal) -> None:
    if not _sees_all(principal) and principal.household_id is None:
        msg = "households and meters are shown only to their owner and to operators (CL-9)"
        raise Forbidden(msg, kind="privacy.registry")


@router.get(
    "/households",
    response_model=ItemList[Household],
    response_model_exclude_none=True,
    summary="List households",
    responses=ERRORS,
)
def list_households(
    principal: AnyCallerDep, store: RegistryDep, limit: Limit = 100, offset: Offset = 0
) -> dict[str, object]:
    """Households by id: all for operators, the own one for an owner."""
    _guard_listing(principal)
    found = store.list_households()
    mine = [h for h in found if _visible_household(principal, h.household_id)]
    return window(mine, limit, offset)


def _household(store: Registry, principal: Principal, household_id: str) -> Household:
    found = None
    if _visible_household(principal, household_id):
        found = store.get_household(household_id)
    if found is None:
        msg = f"no household {household_id!r}"
        raise NotFound(msg, loc="path.householdId")
    return found


@router.get(
    "/households/{householdId}",
    response_model=Household,
    response_model_exclude_none=True,
    summary="Read a household",
    responses=ERRORS,
)
def get_household(
    principal: AnyCallerDep, store: RegistryDep, household_id: HouseholdId
) -> Household:
    """One household (404 also for one the caller may not see)."""
    return _household(store, principal, household_id)


@router.post(
    "/households",
    response_model=Household,
    response_model_exclude_none=True,
    status_code=201,
    summary="Create a household",
    responses=WRITE_ERRORS,
)
def create_household(_: RegistrarDep, registry: RegistryServiceDep, body: Household) -> Household:
    """Create a household; 409 when its id is taken. Needs ``registry:write``."""
    reject_nul(body)

    with registry_answers(taken="$.householdId"):
        return registry.create_household(body)


@router.put(
    "/households/{householdId}",
    response_model=Household,
    response_model_exclude_none=True,
    summary="Update a household",
    responses=WRITE_ERRORS,
)
def update_household(
    _: RegistrarDep, registry: RegistryServiceDep, household_id: HouseholdId, body: Household
) -> Household:
    """Replace an existing household. Needs ``registry:write``."""
    same_id(household_id, body.household_id, "householdId")
    reject_nul(body)

    with registry_answers(missing="path.householdId"):
        return registry.update_household(body)


@router.get(
    "/meterIndividuals",
    response_model=ItemList[MeterIndividual],
    response_model_exclude_none=True,
    summary="List meter individuals",
    responses=ERRORS,
)
def list_meters(  # noqa: PLR0917 - FastAPI passes parameters by name
    principal: AnyCallerDep,
    store: RegistryDep,
    household_id: Annotated[
        str | None,
        Query(alias="householdId", pattern=IDENTIFIER_PATTERN, description="Of this household."),
    ] = None,
    element_id: Annotated[
        str | None,
        Query(
            alias="physicalElementId",
            pattern=IDENTIFIER_PATTERN,
            description="Instances of this physical meter element.",
        ),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """Meters by id, filtered by household and element."""
    _guard_listing(principal)
    if not _sees_all(principal):
        if household_id not in (None, principal.household_id):
            return window([], limit, offset)
        household_id = principal.household_id
    found = store.list_meters(household_id=household_id)
    if element_id is not None:
        found = [
            m
            for m in found
            if m.physical_meter_type is not None
            and m.physical_meter_type.physical_element_id == element_id
        ]
    return window(found, limit, offset)


@router.get(
    "/meterIndividuals/{meterIndividualId}",
    response_model=MeterIndividual,
    response_model_exclude_none=True,
    summary="Read a meter individual",
    responses=ERRORS,
)
def get_meter(principal: AnyCallerDep, store: RegistryDep, meter_id: MeterId) -> MeterIndividual:
    """One meter with its element (404 also for one the caller may not see)."""
    return visible_meter(store, principal, meter_id)


def visible_meter(store: Registry, principal: Principal, meter_id: str) -> MeterIndividual:
    """The meter, if the caller may see it.

    Raises:
        NotFound: no such meter, or one of a household the caller may not see.
    """
    found = store.get_meter(meter_id)
    if found is None or not _visible_household(principal, found.household_id):
        msg = f"no meter individual {meter_id!r}"
        raise NotFound(msg, loc="path.meterIndividualId")
    return found


@router.post(
    "/meterIndividuals",
    response_model=MeterIndividual,
    response_model_exclude_none=True,
    status_code=201,
    summary="Create a meter individual",
    responses=WRITE_ERRORS,
)
def create_meter(
    _: RegistrarDep,
    registry: RegistryServiceDep,
    body: MeterIndividual,
    concentrator_id: Annotated[
        str | None,
        Query(
            alias="concentratorId",
            pattern=IDENTIFIER_PATTERN,
            description="The meter's site: the concentrator that may forward its readings.",
        ),
    ] = None,
) -> MeterIndividual:
    """Create a meter of an existing household; an embedded element is stored too."""
    reject_nul(body)

    with registry_answers(taken="$.meterIndividualId"):
        return registry.create_meter(body, concentrator_id=concentrator_id)


@router.put(
    "/meterIndividuals/{meterIndividualId}",
    response_model=MeterIndividual,
    response_model_exclude_none=True,
    summary="Update a meter individual",
    responses=WRITE_ERRORS,
)
def update_meter(
    _: RegistrarDep, registry: RegistryServiceDep, meter_id: MeterId, body: MeterIndividual
) -> MeterIndividual:
    """Replace an existing meter. Needs ``registry:write``."""
    same_id(meter_id, body.meter_individual_id, "meterIndividualId")
    reject_nul(body)

    with registry_answers(missing="path.meterIndividualId"):
        return registry.update_meter(body)
