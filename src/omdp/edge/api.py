"""The edge's HTTP API for the app (APP-1, APP-4) and for operations.

- ``GET /v1/live``: every meter's latest reading, import/export power (kW) and today's energy;
  ``GET /v1/live/{meterId}``: one meter;
- ``GET /v1/alerts``: active alerts and the most recent changes; ``GET /v1/rules``: the
  configured alert rules (read-only: they live in the edge's settings);
- ``GET /v1/stream``: Server-Sent Events, ``event: reading`` and ``event: alert``, JSON data;
- ``GET /v1/status``: counters and state as JSON; ``GET /metrics``: the same for Prometheus;

The live routes (``/v1/live``, ``/v1/alerts``, ``/v1/rules``, ``/v1/stream``) need a bearer
token and show only what the caller's household may see (:mod:`omdp.edge.access`): 401 without
a valid token, 403 for a caller with no right to live data. Counters and health carry no
household data and stay open to the edge's (loopback by default) address.
- ``GET /healthz`` (the process answers), ``GET /readyz`` (running, local broker connected).

A no-cloud edge (``store`` set) also serves the cloud's own query API, mounted unchanged:
``POST /v1/meterReadings``, aggregates, the registry, with the cloud's tokens and error bodies.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from typing import Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException
from fastapi.responses import JSONResponse, Response, StreamingResponse
from prometheus_client import CONTENT_TYPE_LATEST

from omdp.edge.access import Households, LiveAccess, LiveDenied, Viewer, edge_authenticator
from omdp.edge.metrics import render
from omdp.edge.service import EdgeService
from omdp.edge.settings import EdgeRule


def rule_json(rule: EdgeRule) -> dict[str, Any]:
    """A configured alert rule as the API shows it: camelCase keys, unset fields left out."""
    return {
        re.sub(r"_(\w)", lambda m: m.group(1).upper(), key): value
        for key, value in rule.model_dump(exclude_none=True).items()
    }


def create_app(
    service: EdgeService, *, query_api: FastAPI | None = None, access: LiveAccess | None = None
) -> FastAPI:
    """The FastAPI application serving ``service``.

    Args:
        service: The edge.
        query_api: The cloud's REST API over the edge's store (no-cloud mode), made by
            :func:`omdp.cloud.api.create_app`; it answers every path the edge does not.
        access: Who sees which live data; default the edge's tokens (and the query API's) and
            its ``meter_households`` setting alone.
    """
    app = FastAPI(title="omdp edge", version="1", docs_url="/docs", redoc_url=None)
    live = APIRouter(prefix="/v1", tags=["live"])
    if access is None:
        households = Households(service.settings.meter_households)
        access = LiveAccess(edge_authenticator(service.settings, query_api), households)
    checker = access

    async def viewer(authorization: str | None = Header(default=None)) -> Viewer:
        try:
            return await checker.viewer(authorization)
        except LiveDenied as exc:
            headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
            raise HTTPException(exc.status, detail=str(exc), headers=headers) from None

    caller = Depends(viewer)

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        local_ok = service.local is None or service.local.connected
        ready = service.running and local_ok
        body = {"ready": ready, "running": service.running, "localConnected": local_ok}
        return JSONResponse(body, status_code=200 if ready else 503)

    @app.get("/metrics", tags=["ops"])
    async def metrics() -> Response:
        return Response(render(service.registry), media_type=CONTENT_TYPE_LATEST)

    @live.get("/status")
    async def status() -> dict[str, Any]:
        return service.status()

    @live.get("/live")
    async def live_all(who: Viewer = caller) -> dict[str, Any]:
        now = service.clock()
        meters = service.live.meters.values()
        items = [service.live.summary(m, now) for m in meters if who.sees(m.meter_id)]
        return {"items": items, "total": len(items)}

    @live.get("/live/{meter_id}")
    async def live_one(meter_id: str, who: Viewer = caller) -> dict[str, Any]:
        meter = service.live.meters.get(meter_id)
        if meter is None or not who.sees(meter_id):
            raise HTTPException(status_code=404, detail=f"no reading of meter {meter_id} yet")
        return service.live.summary(meter, service.clock())

    @live.get("/alerts")
    async def alerts(who: Viewer = caller) -> dict[str, Any]:
        active = [a.to_dict() for a in service.rules.active.values() if who.sees(a.meter_id)]
        recent = [a.to_dict() for a in reversed(service.rules.recent) if who.sees(a.meter_id)]
        return {"active": active, "recent": recent}

    @live.get("/rules")
    async def rules(who: Viewer = caller) -> dict[str, Any]:
        items = [
            rule_json(r)
            for r in service.settings.rules
            if r.meter_id is None or who.sees(r.meter_id)
        ]
        return {"items": items, "total": len(items)}

    @live.get("/stream")
    async def stream(who: Viewer = caller) -> StreamingResponse:
        return StreamingResponse(
            service.stream.frames(who.sees),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    app.include_router(live)
    if query_api is not None:
        mount_query_api(app, query_api)
    return app


def mount_query_api(app: FastAPI, query_api: FastAPI) -> None:
    """Mount ``query_api`` under the edge's routes, which win where both have a path.

    The query API keeps its own authentication, middleware and error handlers; ``/docs`` and
    ``/openapi.json`` describe both.
    """
    app.mount("/", query_api)

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = FastAPI.openapi(app)  # the edge's own routes; caches app.openapi_schema
        cloud = query_api.openapi()
        schema["paths"] = {**cloud.get("paths", {}), **schema.get("paths", {})}
        components = schema.setdefault("components", {})
        for key, value in cloud.get("components", {}).items():
            components[key] = {**value, **components.get(key, {})}
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


class HttpServer(uvicorn.Server):
    """uvicorn, leaving signal handling to the entry point (which stops the edge in order)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        """Install no signal handlers."""
        yield

    @property
    def port(self) -> int:
        """The port bound (useful with port 0)."""
        for server in self.servers:
            for sock in server.sockets:
                return int(sock.getsockname()[1])
        return 0


def http_server(app: FastAPI, host: str, port: int) -> HttpServer:
    """A uvicorn server for ``app``; run it with ``await server.serve()``."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,
    )
    return HttpServer(config)
