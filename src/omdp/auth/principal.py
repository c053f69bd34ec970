"""Who calls an API: a :class:`Principal` resolved from the bearer token by an authenticator.

Authenticators: static tokens of the settings (:class:`~omdp.auth.static.StaticTokenAuthenticator`),
JWT access tokens of an issuer (:class:`~omdp.auth.jwt_auth.JwtAuthenticator`), and a
:class:`ChainAuthenticator` asking several in turn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Scope(StrEnum):
    """The rights a caller may hold (CL-6, CL-11)."""

    READ = "readings:read"
    DELETE = "readings:delete"
    REGISTRY_READ = "registry:read"
    REGISTRY_WRITE = "registry:write"
    OPERATE = "operate"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    Attributes:
        subject: Who it is (logged in audits, e.g. erasure records).
        scopes: What it may do.
        household_id: Set for a household owner: the one household whose data it is entitled to.
    """

    subject: str
    scopes: frozenset[Scope]
    household_id: str | None = None

    @property
    def operator(self) -> bool:
        """Whether the caller operates the platform (entitled to every household's data)."""
        return Scope.OPERATE in self.scopes

    def has(self, scope: Scope) -> bool:
        """Whether the caller holds ``scope`` (``operate`` holds every scope)."""
        return scope in self.scopes or self.operator


class Authenticator(Protocol):
    """Resolves a bearer token to a principal."""

    async def authenticate(self, token: str) -> Principal | None:
        """The principal ``token`` stands for, or None for an unknown token."""
        ...


def hash_token(token: str) -> str:
    """The SHA-256 (hex) of a token: how the settings name static tokens."""
    return hashlib.sha256(token.encode()).hexdigest()


class ChainAuthenticator:
    """Asks each authenticator in turn; the first principal wins."""

    def __init__(self, *authenticators: Authenticator) -> None:
        """Keep ``authenticators`` in order."""
        self.authenticators = authenticators

    async def authenticate(self, token: str) -> Principal | None:
        """The first principal any authenticator gives."""
        for authenticator in self.authenticators:
            principal = await authenticator.authenticate(token)
            if principal is not None:
                return principal
        return None
