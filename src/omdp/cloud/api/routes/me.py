"""``/v1/me``: who the bearer token stands for.

The app shows an operator's views (registry, every household) or a household's own, and used
to find out which by probing a write it could not make; any valid token may now ask.
"""

from __future__ import annotations

from fastapi import APIRouter

from omdp.cloud.api.deps import PrincipalDep
from omdp.cloud.api.errors import error_responses
from omdp.cloud.api.schemas import CallerOut

router = APIRouter(prefix="/v1", tags=["auth"])


@router.get(
    "/me",
    response_model=CallerOut,
    response_model_exclude_none=True,
    summary="Who this token stands for",
    responses=error_responses(401),
)
async def me(principal: PrincipalDep) -> CallerOut:
    """The caller's subject, scopes and household; 401 without a valid token."""
    return CallerOut(
        subject=principal.subject,
        scopes=sorted(s.value for s in principal.scopes),
        household_id=principal.household_id,
        operator=principal.operator,
    )
