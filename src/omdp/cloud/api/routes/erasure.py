"""Erasure on request (CL-13): a household or a meter and everything stored about it.

Allowed to operators, and to a household owner holding ``readings:delete`` for their own
household and its meters. The answer is the audit record, which keeps no data.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from omdp.auth.principal import Principal, Scope
from omdp.cloud.api.deps import AnyCallerDep, ErasureServiceDep
from omdp.cloud.api.errors import Forbidden, error_responses
from omdp.cloud.api.routes.common import id_path, registry_answers
from omdp.cloud.api.schemas import ErasureOut
from omdp.cloud.model import ErasureRecord

router = APIRouter(prefix="/v1", tags=["erasure"])

ERRORS = error_responses(401, 403, 404, 422)


def _out(record: ErasureRecord) -> ErasureOut:
    return ErasureOut(
        record_id=record.record_id,
        actor=record.actor,
        subject_kind=record.subject_kind,
        subject_id=record.subject_id,
        at=record.at,
        rows=dict(record.rows),
        total_rows=record.total_rows,
    )


def _may_erase(principal: Principal, household_id: str | None) -> None:
    owner = principal.household_id is not None and principal.household_id == household_id
    if principal.operator or (owner and principal.has(Scope.DELETE)):
        return
    msg = "erasure needs the scope operate, or readings:delete as the household's owner"
    raise Forbidden(msg, kind="auth.missing_scope")


@router.delete(
    "/households/{householdId}",
    response_model=ErasureOut,
    summary="Erase a household and all its data (CL-13)",
    responses=ERRORS,
)
def erase_household(
    principal: AnyCallerDep,
    erasure: ErasureServiceDep,
    household_id: Annotated[str, id_path("householdId", "household")],
) -> ErasureOut:
    """Erase the household, its meters, their readings and rollups; return the audit record."""
    _may_erase(principal, household_id)

    with registry_answers(missing="path.householdId"):
        return _out(erasure.erase_household(household_id, actor=principal.subject))


@router.delete(
    "/meterIndividuals/{meterIndividualId}",
    response_model=ErasureOut,
    summary="Erase a meter and all its data (CL-13)",
    responses=ERRORS,
)
def erase_meter(
    principal: AnyCallerDep,
    erasure: ErasureServiceDep,
    meter_id: Annotated[str, id_path("meterIndividualId", "meter individual")],
) -> ErasureOut:
    """Erase the meter, its readings and rollups; return the audit record."""
    with registry_answers(missing="path.meterIndividualId"):
        record = erasure.erase_meter(
            meter_id,
            actor=principal.subject,
            authorise=lambda household_id: _may_erase(principal, household_id),
        )
    return _out(record)
