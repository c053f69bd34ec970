"""What the routes get injected: the context of the app, the store and the caller."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from omdp.auth.principal import Authenticator, Principal, Scope
from omdp.cloud.api.bulk import LinkSigner
from omdp.cloud.api.credentials import CredentialStore
from omdp.cloud.api.errors import Forbidden, Unauthenticated
from omdp.cloud.api.privacy import Pseudonymiser
from omdp.cloud.api.settings import ApiServerSettings
from omdp.cloud.services.erasure import ErasureService
from omdp.cloud.services.registry import RegistryService
from omdp.cloud.storage.port import ReadingStore, Registry


@dataclass(frozen=True, slots=True)
class ApiContext:
    """Everything a request may need, built once by :func:`~omdp.cloud.api.app.create_app`."""

    settings: ApiServerSettings
    store: ReadingStore
    authenticator: Authenticator
    signer: LinkSigner
    pseudonymise: Pseudonymiser
    credentials: CredentialStore


def _context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.ctx
    return ctx


CtxDep = Annotated[ApiContext, Depends(_context)]


def _store(ctx: CtxDep) -> ReadingStore:
    return ctx.store


StoreDep = Annotated[ReadingStore, Depends(_store)]


def _registry_role(ctx: CtxDep) -> Registry:
    return ctx.store


RegistryDep = Annotated[Registry, Depends(_registry_role)]
"""The store's registry role, for routes that only read the registry."""


def _registry(ctx: CtxDep) -> RegistryService:
    return RegistryService(ctx.store)


def _erasure(ctx: CtxDep) -> ErasureService:
    return ErasureService(ctx.store, forget=ctx.credentials.remove)


RegistryServiceDep = Annotated[RegistryService, Depends(_registry)]
"""Registry creates and updates, each in one transaction."""
ErasureServiceDep = Annotated[ErasureService, Depends(_erasure)]
"""Erasures with their audit records and the erased meters' broker credentials."""

_bearer = HTTPBearer(auto_error=False, description="A bearer token (CL-6).")


async def _principal(
    ctx: CtxDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None:
        msg = "no bearer token: send Authorization: Bearer <token>"
        raise Unauthenticated(msg, loc="header.Authorization")
    principal = await ctx.authenticator.authenticate(credentials.credentials)
    if principal is None:
        msg = "unknown or expired token"
        raise Unauthenticated(msg, loc="header.Authorization")
    return principal


async def principal_of(ctx: ApiContext, authorization: str | None) -> Principal:
    """The caller of an ``Authorization`` header (for routes outside the dependency system).

    Raises:
        Unauthenticated: no bearer token, or an unknown one.
    """
    scheme, _, token = (authorization or "").partition(" ")
    bearer = HTTPAuthorizationCredentials(scheme=scheme, credentials=token.strip())
    return await _principal(ctx, bearer if scheme.lower() == "bearer" and token else None)


PrincipalDep = Annotated[Principal, Depends(_principal)]


def require(*scopes: Scope) -> Callable[[Principal], Principal]:
    """A dependency giving the caller if it holds one of ``scopes`` (403 otherwise)."""

    def check(principal: PrincipalDep) -> Principal:
        if not any(principal.has(s) for s in scopes):
            names = " or ".join(s.value for s in scopes)
            msg = f"this needs the scope {names}"
            raise Forbidden(msg, loc="header.Authorization", kind="auth.missing_scope")
        return principal

    return check


ReaderDep = Annotated[Principal, Depends(require(Scope.READ))]
DeleterDep = Annotated[Principal, Depends(require(Scope.DELETE))]
RegistrarDep = Annotated[Principal, Depends(require(Scope.REGISTRY_WRITE))]
AnyCallerDep = Annotated[
    Principal,
    Depends(require(Scope.READ, Scope.REGISTRY_READ, Scope.REGISTRY_WRITE, Scope.DELETE)),
]
