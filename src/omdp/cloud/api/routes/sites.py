"""``/v1/meterIndividuals/{id}/site``: the concentrator that may speak for a meter (CL-14, CO-3).

A meter's *site* is the concentrator (``concentratorId``) whose edge forwards its readings. The
ingest quarantines a reading of a meter forwarded by any other concentrator (with the reason),
and ``omdp broker config`` lets each concentrator read its own meters' topics and write
``concentrator/{its id}/smartMeterMessage/{its meters}/...`` only. Moving a meter is a ``PUT``
here: the ingest follows within ``ingest.site_refresh_s`` seconds, the broker at the next
``omdp broker config --reload-pid`` (a SIGHUP, no restart). ``POST /v1/adapterConfigurations``
and ``POST /v1/meterIndividuals?concentratorId=`` set it when the meter is created.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from omdp.cloud.api.deps import AnyCallerDep, RegistrarDep, RegistryDep, RegistryServiceDep
from omdp.cloud.api.errors import error_responses
from omdp.cloud.api.routes.common import id_path, registry_answers
from omdp.cloud.api.routes.households import visible_meter
from omdp.domain.identifiers import Identifier
from omdp.domain.reading import SpecModel

router = APIRouter(prefix="/v1", tags=["registry"])

MeterId = Annotated[str, id_path("meterIndividualId", "meter individual")]


class SiteIn(SpecModel):
    """Where a meter belongs."""

    concentrator_id: Identifier | None = Field(
        description="The concentrator that may forward the meter's readings; null: none."
    )


class SiteOut(SiteIn):
    """A meter and its site."""

    meter_individual_id: Identifier


@router.get(
    "/meterIndividuals/{meterIndividualId}/site",
    response_model=SiteOut,
    summary="Read a meter's site (the concentrator that may speak for it)",
    responses=error_responses(401, 403, 404, 422),
)
def get_site(principal: AnyCallerDep, store: RegistryDep, meter_id: MeterId) -> SiteOut:
    """The meter's concentrator (404 also for a meter the caller may not see)."""
    visible_meter(store, principal, meter_id)
    site = store.meter_site(meter_id)
    return SiteOut(meter_individual_id=meter_id, concentrator_id=site)


@router.put(
    "/meterIndividuals/{meterIndividualId}/site",
    response_model=SiteOut,
    summary="Move a meter to a site (CL-14, CO-3)",
    description=__doc__,
    responses=error_responses(401, 403, 404, 422),
)
def put_site(
    _: RegistrarDep, registry: RegistryServiceDep, meter_id: MeterId, body: SiteIn
) -> SiteOut:
    """Set the meter's concentrator; takes effect without restarting anything."""
    with registry_answers(missing="path.meterIndividualId"):
        registry.move_meter(meter_id, body.concentrator_id)
    return SiteOut(meter_individual_id=meter_id, concentrator_id=body.concentrator_id)
