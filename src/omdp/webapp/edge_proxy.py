"""The app's same-origin proxy to the edge's live API (APP-1, APP-4, APP-5, CL-6).

``GET {base}/v1/{live,live/<id>,alerts,rules,stream}`` relays the edge's answer for one caller:

1. the caller presents a cloud token (``Authorization: Bearer``; the app reads the stream with
   ``fetch``, which sends headers, so a token never travels in a URL); 401 without one, 403
   without ``readings:read``;
2. the proxy passes the caller's identity to the edge: a token of the cloud's issuer for that
   caller alone (subject, scopes, household), valid 60 s, audience ``api.auth.edge_audience``
   (``omdp-edge``), which the edge trusts through ``api.auth.external``. Without an embedded
   issuer the caller's own token is passed on;
3. the edge filters by the caller's household (:mod:`omdp.edge.access`), so every caller gets
   its own upstream request and stream: nothing is fetched once and fanned out.

A stream stays open only while its caller's token stays valid: it is checked again every
:data:`RECHECK_S` seconds, so that a revoked token or a removed user stops receiving within
seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from omdp.auth.principal import Principal, Scope

log = logging.getLogger(__name__)

DELEGATION_TTL_S = 60
"""Life of the token the proxy signs for a caller's request to the edge."""
RECHECK_S = 5.0
"""How often a proxied stream checks that its caller's token is still valid."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks the proxy: their token, and who it stands for (None without cloud auth)."""

    token: str | None
    principal: Principal | None


def _bearer(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _caller(app: FastAPI, request: Request) -> Caller:
    """The caller, refused 401 without a valid cloud token and 403 without readings:read."""
    token = _bearer(request)
    ctx = getattr(app.state, "ctx", None)
    if ctx is None:  # an app without the cloud API: the edge alone decides
        return Caller(token, None)
    principal = await ctx.authenticator.authenticate(token) if token else None
    if principal is None:
        raise HTTPException(
            status_code=401, detail="no valid bearer token", headers={"WWW-Authenticate": "Bearer"}
        )

    if not principal.has(Scope.READ):
        raise HTTPException(status_code=403, detail="needs readings:read")
    return Caller(token, principal)


class Delegation:
    """Signs (and caches for half their life) the tokens that carry callers to the edge."""

    def __init__(self, app: FastAPI) -> None:
        """Sign with ``app``'s embedded issuer, when it has one."""
        self.app = app
        self._cache: dict[tuple[str, str | None, tuple[str, ...]], tuple[str, float]] = {}

    def headers(self, caller: Caller) -> dict[str, str]:
        """The ``Authorization`` header of the caller's request to the edge."""
        token = self._token(caller)
        return {"Authorization": f"Bearer {token}"} if token else {}

    def _token(self, caller: Caller) -> str | None:
        issuer = getattr(self.app.state, "issuer", None)
        who = caller.principal
        if issuer is None or who is None:
            return caller.token
        scopes = tuple(sorted(s.value for s in who.scopes))
        key = (who.subject, who.household_id, scopes)
        now = time.monotonic()
        cached = self._cache.get(key)
        if cached is not None and cached[1] > now:
            return cached[0]
        if len(self._cache) > 10_000:
            self._cache.clear()
        text, _claims = issuer.sign(
            subject=who.subject,
            scopes=scopes,
            household=who.household_id,
            ttl_s=DELEGATION_TTL_S,
            audience=self.app.state.ctx.settings.api.auth.edge_audience,
            client_id="omdp-app-proxy",
        )
        self._cache[key] = (text, now + DELEGATION_TTL_S / 2)
        return str(text)


async def _revoked(app: FastAPI, caller: Caller) -> None:
    """Return once the caller's token is no longer valid (never without cloud auth)."""
    ctx = getattr(app.state, "ctx", None)
    if ctx is None or caller.token is None:
        await asyncio.Event().wait()
        return
    while True:
        await asyncio.sleep(RECHECK_S)
        if await ctx.authenticator.authenticate(caller.token) is None:
            log.info("edge stream closed: the caller's token is no longer valid")
            return


def mount_edge_proxy(app: FastAPI, base: str, edge: str) -> None:
    """GET-only proxy of the edge's live API under ``base`` (see the module docstring)."""
    timeout = httpx.Timeout(5.0, read=None)
    delegation = Delegation(app)

    async def relay(request: Request, path: str) -> Response:
        caller = await _caller(app, request)
        async with httpx.AsyncClient(timeout=5.0) as client:
            try:
                answer = await client.get(f"{edge}{path}", headers=delegation.headers(caller))
            except httpx.HTTPError as exc:
                log.warning("edge %s unreachable: %s", edge, exc)
                raise HTTPException(status_code=502, detail="the edge is unreachable") from exc
        return Response(
            answer.content,
            status_code=answer.status_code,
            media_type=answer.headers.get("content-type", "application/json"),
            headers={"Cache-Control": "no-store"},
        )

    @app.get(f"{base}/v1/live", include_in_schema=False)
    async def live(request: Request) -> Response:
        return await relay(request, "/v1/live")

    @app.get(base + "/v1/live/{meter_id}", include_in_schema=False)
    async def live_one(request: Request, meter_id: str) -> Response:
        return await relay(request, "/v1/live/" + quote(meter_id, safe=""))

    @app.get(f"{base}/v1/alerts", include_in_schema=False)
    async def alerts(request: Request) -> Response:
        return await relay(request, "/v1/alerts")

    @app.get(f"{base}/v1/rules", include_in_schema=False)
    async def rules(request: Request) -> Response:
        return await relay(request, "/v1/rules")

    @app.get(f"{base}/v1/stream", include_in_schema=False)
    async def stream(request: Request) -> Response:
        caller = await _caller(app, request)
        # Connect upstream before answering, so that the browser's "open" means subscribed.
        client = httpx.AsyncClient(timeout=timeout)
        try:
            upstream = client.build_request(
                "GET", f"{edge}/v1/stream", headers=delegation.headers(caller)
            )
            answer = await client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            await client.aclose()
            log.warning("edge %s unreachable: %s", edge, exc)
            raise HTTPException(status_code=502, detail="the edge is unreachable") from exc
        if answer.status_code != 200:
            body = await answer.aread()
            await answer.aclose()
            await client.aclose()
            media = answer.headers.get("content-type", "application/json")
            return Response(body, status_code=answer.status_code, media_type=media)

        async def frames() -> AsyncIterator[bytes]:
            revoked = asyncio.create_task(_revoked(app, caller))
            chunks = answer.aiter_raw().__aiter__()
            try:
                while True:
                    following = asyncio.ensure_future(chunks.__anext__())
                    await asyncio.wait({following, revoked}, return_when=asyncio.FIRST_COMPLETED)
                    if not following.done():  # the token went: end the stream
                        following.cancel()
                        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
                            await following
                        return
                    try:
                        yield following.result()
                    except StopAsyncIteration:
                        return
            except httpx.HTTPError as exc:  # the app reconnects
                log.warning("edge stream %s ended: %s", edge, exc)
            finally:
                revoked.cancel()
                await answer.aclose()
                await client.aclose()

        return StreamingResponse(
            frames(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
