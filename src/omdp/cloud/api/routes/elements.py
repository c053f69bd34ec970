"""``/v1/physicalMeterElements``, ``/v1/operationalProperties``: shared registry (DM-4, DM-5).

These describe products and properties, not people: any authenticated caller may read them;
changes need ``registry:write``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from omdp.catalog import PropertyKind
from omdp.cloud.api.checks import reject_nul
from omdp.cloud.api.deps import AnyCallerDep, RegistrarDep, RegistryDep, RegistryServiceDep
from omdp.cloud.api.errors import NotFound, error_responses
from omdp.cloud.api.routes.common import (
    Limit,
    Offset,
    id_path,
    registry_answers,
    same_id,
    window,
)
from omdp.cloud.api.schemas import ItemList, PropertyIn
from omdp.domain.reading import MeterClass, OperationalPropertyDefinition, PhysicalMeterElement

router = APIRouter(prefix="/v1", tags=["registry"])

ElementId = Annotated[str, id_path("physicalElementId", "physical meter element")]
PropertyId = Annotated[str, id_path("propertyId", "operational property")]
ERRORS = error_responses(401, 403, 404, 422)
WRITE_ERRORS = error_responses(401, 403, 404, 409, 422)


@router.get(
    "/physicalMeterElements",
    response_model=ItemList[PhysicalMeterElement],
    response_model_exclude_none=True,
    summary="List physical meter elements",
    responses=ERRORS,
)
def list_elements(
    _: AnyCallerDep,
    store: RegistryDep,
    meter_class: Annotated[
        MeterClass | None, Query(alias="physicalMeterClass", description="Only this class.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """Elements by id, optionally of one meter class."""
    found = store.list_elements()
    if meter_class is not None:
        found = [e for e in found if e.physical_meter_class is meter_class]
    return window(found, limit, offset)


@router.get(
    "/physicalMeterElements/{physicalElementId}",
    response_model=PhysicalMeterElement,
    response_model_exclude_none=True,
    summary="Read a physical meter element",
    responses=ERRORS,
)
def get_element(_: AnyCallerDep, store: RegistryDep, element_id: ElementId) -> PhysicalMeterElement:
    """One element with the properties it provides."""
    found = store.get_element(element_id)
    if found is None:
        msg = f"no physical meter element {element_id!r}"
        raise NotFound(msg, loc="path.physicalElementId")
    return found


@router.post(
    "/physicalMeterElements",
    response_model=PhysicalMeterElement,
    response_model_exclude_none=True,
    status_code=201,
    summary="Create a physical meter element",
    responses=WRITE_ERRORS,
)
def create_element(
    _: RegistrarDep, registry: RegistryServiceDep, body: PhysicalMeterElement
) -> PhysicalMeterElement:
    """Create an element; 409 when its id is taken."""
    reject_nul(body)

    with registry_answers(taken="$.physicalElementId"):
        return registry.create_element(body)


@router.put(
    "/physicalMeterElements/{physicalElementId}",
    response_model=PhysicalMeterElement,
    response_model_exclude_none=True,
    summary="Update a physical meter element",
    responses=WRITE_ERRORS,
)
def update_element(
    _: RegistrarDep, registry: RegistryServiceDep, element_id: ElementId, body: PhysicalMeterElement
) -> PhysicalMeterElement:
    """Replace an existing element."""
    same_id(element_id, body.physical_element_id, "physicalElementId")
    reject_nul(body)

    with registry_answers(missing="path.physicalElementId"):
        return registry.update_element(body)


@router.get(
    "/operationalProperties",
    response_model=ItemList[OperationalPropertyDefinition],
    response_model_exclude_none=True,
    summary="List operational properties",
    responses=ERRORS,
)
def list_properties(
    _: AnyCallerDep,
    store: RegistryDep,
    prefix: Annotated[
        str | None, Query(max_length=128, description="Ids starting with this, e.g. OBIS_1.")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> dict[str, object]:
    """Property definitions by id (the seeded catalogue and deployment-level ones)."""
    found = store.list_properties()
    if prefix:
        found = [p for p in found if p.property_id.startswith(prefix)]
    return window(found, limit, offset)


@router.get(
    "/operationalProperties/{propertyId}",
    response_model=OperationalPropertyDefinition,
    response_model_exclude_none=True,
    summary="Read an operational property",
    responses=ERRORS,
)
def get_property(
    _: AnyCallerDep, store: RegistryDep, property_id: PropertyId
) -> OperationalPropertyDefinition:
    """One property definition."""
    found = store.get_property(property_id)
    if found is None:
        msg = f"no operational property {property_id!r}"
        raise NotFound(msg, loc="path.propertyId")
    return found


def _definition(body: PropertyIn) -> OperationalPropertyDefinition:
    return OperationalPropertyDefinition(
        property_id=body.property_id,
        property_description=body.property_description,
        allowed_units=body.allowed_units,
    )


@router.post(
    "/operationalProperties",
    response_model=OperationalPropertyDefinition,
    response_model_exclude_none=True,
    status_code=201,
    summary="Create an operational property",
    responses=WRITE_ERRORS,
)
def create_property(
    _: RegistrarDep, registry: RegistryServiceDep, body: PropertyIn
) -> OperationalPropertyDefinition:
    """Add a deployment-level property (DM-4); 409 when its id is taken."""
    reject_nul(body)

    with registry_answers(taken="$.propertyId"):
        return registry.create_property(_definition(body), PropertyKind(body.kind))


@router.put(
    "/operationalProperties/{propertyId}",
    response_model=OperationalPropertyDefinition,
    response_model_exclude_none=True,
    summary="Update an operational property",
    responses=WRITE_ERRORS,
)
def update_property(
    _: RegistrarDep, registry: RegistryServiceDep, property_id: PropertyId, body: PropertyIn
) -> OperationalPropertyDefinition:
    """Replace an existing property definition."""
    same_id(property_id, body.property_id, "propertyId")
    reject_nul(body)

    with registry_answers(missing="path.propertyId"):
        return registry.update_property(_definition(body), PropertyKind(body.kind))
