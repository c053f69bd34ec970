"""``/healthz`` (the process runs), ``/readyz`` (the store answers) and ``/metrics``."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from omdp.cloud.api.deps import CtxDep
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
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
async def metrics(request: Request) -> Response:
    """Request counts and latencies by route."""
    registry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
