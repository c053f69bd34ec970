"""``/healthz`` (the process runs), ``/readyz`` (the store answers) and ``/metrics``.

``/metrics`` shows the API's traffic by route: an operator's matter. It needs a token with
``operate`` (401 without a token, 403 with another one), unless ``api.metrics_public`` is set
for a scraper that cannot send one (keep the port then off the public network).
"""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from omdp.cloud.api.deps import CtxDep, principal_of
from omdp.cloud.api.errors import Forbidden
from omdp.cloud.api.schemas import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", response_model=Health, summary="Liveness")
async def healthz() -> Health:
    """The process serves requests."""
    return Health(status="ok")


@router.get(
    "/readyz",
    response_model=Health,
    summary="Readiness",
    responses={503: {"model": Health, "description": "The store does not answer."}},
)
async def readyz(ctx: CtxDep) -> Response | Health:
    """The store answers a trivial query."""
    try:
        await asyncio.wait_for(asyncio.to_thread(ctx.store.count_quarantine), timeout=5)
    except Exception:
        return JSONResponse({"status": "store unavailable"}, status_code=503)
    return Health(status="ok")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text format."},
        401: {"description": "No valid bearer token."},
        403: {"description": "Not an operator."},
    },
)
async def metrics(request: Request, ctx: CtxDep) -> Response:
    """Request counts and latencies by route (an operator's token, see the module)."""
    if not ctx.settings.api.metrics_public:
        principal = await principal_of(ctx, request.headers.get("authorization"))
        if not principal.operator:
            msg = "metrics are shown to operators (scope operate)"
            raise Forbidden(msg, loc="header.Authorization", kind="auth.missing_scope")
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
