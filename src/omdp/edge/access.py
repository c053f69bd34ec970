"""Who sees which live data at the edge (CL-6, CL-14, APP-5): tokens, households, viewers.

Every live route asks :class:`LiveAccess` for a :class:`Viewer` before anything is read; the
viewer filters meters, alerts and stream events by household, so that nothing of another
household leaves the process.

**Tokens.** A no-cloud edge accepts the tokens of its query API (its ``api`` group: the static
``api.tokens`` that ``omdp edge token`` makes, its embedded issuer, external issuers). An edge
that forwards to a cloud accepts its static ``api.tokens`` and the tokens of the issuers in
``api.auth.external``: the cloud's issuer with the audience ``omdp-edge`` is the one the app's
edge proxy signs for each caller (:func:`omdp.webapp.edge_proxy`).

**Rights.** An operator (``operate``) sees every meter. A household owner (a token with
``household_id`` and ``readings:read``) sees the meters of that household only. Anybody else,
a researcher above all, gets no live data (403): live values are single readings of one home,
which no pseudonym or minimum result size would protect.

**Households.** :class:`Households` maps meter ids to households: first the edge's
``meter_households`` setting, then the registry, read again every few seconds, so that a meter
moved to another household is shown to its new owner without a restart. The registry is the
edge's own store in no-cloud mode, and the cloud's ``/v1/meterIndividuals`` otherwise (the
``registry`` setting: a client of role ``concentrator``, which may read the registry and no
readings). A meter the edge cannot place is shown to operators only. What a reading itself
claims (``meterIndividual.householdId``) is never used: a device does not decide who sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from omdp.auth.jwt_auth import external_authenticators, require_secure_url
from omdp.auth.principal import Authenticator, ChainAuthenticator, Principal, Scope
from omdp.auth.static import StaticTokenAuthenticator
from omdp.edge.settings import EdgeRegistrySettings, EdgeSettings

if TYPE_CHECKING:
    from fastapi import FastAPI

    from omdp.cloud.storage.port import Registry

log = logging.getLogger(__name__)

STORE_REFRESH_S = 5.0
"""How often a no-cloud edge reads the households of its meters from its store."""

Loader = Callable[[], Awaitable[dict[str, str]]]
"""Reads ``{meter id: household id}`` from a registry."""


class Households:
    """Meter id -> household id: static entries first, then the registry's."""

    def __init__(self, static: Mapping[str, str] | None = None) -> None:
        """Start with the configured ``static`` entries."""
        self._static = dict(static or {})
        self._loaded: dict[str, str] = {}
        self.loaded_at: float | None = None

    def household_of(self, meter_id: str) -> str | None:
        """The household of ``meter_id``, or None when unknown."""
        return self._static.get(meter_id) or self._loaded.get(meter_id)

    def replace(self, loaded: Mapping[str, str]) -> None:
        """Take a fresh reading of the registry."""
        self._loaded = dict(loaded)
        self.loaded_at = time.time()

    async def keep_current(self, load: Loader, *, every_s: float, stop: asyncio.Event) -> None:
        """Read the registry now and every ``every_s`` seconds until ``stop``; a failed read
        keeps the last known mapping, is logged, and is retried sooner (1 s, doubling)."""
        failures = 0
        while not stop.is_set():
            try:
                self.replace(await load())
                if failures:
                    log.info("meter households read again from the registry")
                failures = 0
            except Exception as exc:  # the registry's outage never stops the edge
                if not failures:
                    log.warning("cannot read meter households from the registry: %s", exc)
                else:
                    log.debug("meter households still not read: %s", exc)
                failures += 1
            wait = min(every_s, 2.0 ** (failures - 1)) if failures else every_s
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


def store_loader(store: Registry) -> Loader:
    """Households of the meters in a (no-cloud) edge's own store."""

    def read() -> dict[str, str]:
        meters = store.list_meters()
        return {m.meter_individual_id: m.household_id for m in meters if m.household_id}

    async def load() -> dict[str, str]:
        return await asyncio.to_thread(read)

    return load


class CloudRegistry:
    """Reads meter households from the cloud's ``/v1/meterIndividuals`` as a client."""

    PAGE = 1000

    def __init__(self, settings: EdgeRegistrySettings) -> None:
        """Use the client of ``settings`` (client credentials at ``{url}/oauth/token``)."""
        self.url = settings.url.rstrip("/")
        require_secure_url(self.url)
        self.settings = settings
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=str(settings.ca_file)) if settings.ca_file else True
        )
        self._token: tuple[str, float] | None = None

    async def _bearer(self, http: httpx.AsyncClient) -> str:
        if self._token is not None and self._token[1] > time.monotonic():
            return self._token[0]
        answer = await http.post(
            f"{self.url}/oauth/token",
            data={"grant_type": "client_credentials", "scope": "registry:read"},
            auth=(self.settings.client_id, self.settings.client_secret.get_secret_value()),
        )
        answer.raise_for_status()
        body = answer.json()
        ttl = float(body.get("expires_in", 60))
        self._token = (str(body["access_token"]), time.monotonic() + max(ttl - 30, ttl / 2))
        return self._token[0]

    async def __call__(self) -> dict[str, str]:
        """Every registered meter's household."""
        found: dict[str, str] = {}
        async with httpx.AsyncClient(verify=self._verify, timeout=10) as http:
            headers = {"Authorization": f"Bearer {await self._bearer(http)}"}
            offset = 0
            while True:
                answer = await http.get(
                    f"{self.url}/v1/meterIndividuals",
                    params={"limit": self.PAGE, "offset": offset},
                    headers=headers,
                )
                if answer.status_code == 401:
                    self._token = None
                answer.raise_for_status()
                page: dict[str, Any] = answer.json()
                for meter in page["items"]:
                    if meter.get("householdId"):
                        found[meter["meterIndividualId"]] = meter["householdId"]
                offset += len(page["items"])
                if not page["items"] or offset >= int(page["total"]):
                    return found


def registry_loader(settings: EdgeSettings, store: Registry | None) -> tuple[Loader, float]:
    """Where this edge reads households from, and how often; a no-op loader when nowhere."""
    if store is not None:
        return store_loader(store), STORE_REFRESH_S
    if settings.registry is not None:
        return CloudRegistry(settings.registry), settings.registry.refresh_s

    async def nothing() -> dict[str, str]:
        return {}

    return nothing, 3600.0


class LiveDenied(Exception):
    """A live request refused: 401 (no valid token) or 403 (no right to live data)."""

    def __init__(self, status: int, message: str) -> None:
        """Keep the HTTP status and the reason."""
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class Viewer:
    """A caller entitled to live data, and which meters it sees."""

    principal: Principal
    households: Households

    @property
    def sees_all(self) -> bool:
        """Whether the caller sees every meter (an operator)."""
        return self.principal.operator

    def sees(self, meter_id: str) -> bool:
        """Whether the caller may see ``meter_id`` now (the registry's current answer)."""
        if self.principal.operator:
            return True
        household = self.principal.household_id
        return household is not None and self.households.household_of(meter_id) == household


class LiveAccess:
    """Turns a request's bearer token into a :class:`Viewer`, or refuses it."""

    def __init__(self, authenticator: Authenticator, households: Households) -> None:
        """Check tokens with ``authenticator``; place meters with ``households``."""
        self.authenticator = authenticator
        self.households = households

    async def viewer(self, authorization: str | None) -> Viewer:
        """The viewer of an ``Authorization`` header.

        Raises:
            LiveDenied: 401 without a valid bearer token, 403 for a caller that is neither an
                operator nor a household owner allowed to read.
        """
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            msg = "no bearer token: send Authorization: Bearer <token>"
            raise LiveDenied(401, msg)
        principal = await self.authenticator.authenticate(token.strip())
        if principal is None:
            msg = "unknown or expired token"
            raise LiveDenied(401, msg)
        if principal.operator:
            return Viewer(principal, self.households)
        if principal.household_id is None or not principal.has(Scope.READ):
            msg = "live data is shown to household owners (their own) and operators only"
            raise LiveDenied(403, msg)
        return Viewer(principal, self.households)


def edge_authenticator(settings: EdgeSettings, query_api: FastAPI | None = None) -> Authenticator:
    """The tokens the edge's live API accepts (see the module docstring)."""
    if query_api is not None:  # no-cloud: the very tokens of the stored data's API
        ctx = query_api.state.ctx
        found: Authenticator = ctx.authenticator
        return found
    auth = settings.api.auth
    chain: list[Authenticator] = []
    if auth.static_tokens:
        chain.append(StaticTokenAuthenticator(settings.api.tokens))
    chain.extend(external_authenticators(auth))
    return ChainAuthenticator(*chain)
