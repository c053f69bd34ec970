"""Who calls the API: a :class:`Principal` resolved from the bearer token by an authenticator.

Authentication proper (OAuth2 / OpenID Connect, CL-6) is a later issue; it plugs in another
:class:`Authenticator`. The default, :class:`StaticTokenAuthenticator`, knows tokens from the
settings by their SHA-256 and compares them in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from omdp.config import ApiTokenGrant


class Scope(StrEnum):
    """The rights a caller may hold."""

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


class StaticTokenAuthenticator:
    """Tokens configured in the settings as ``sha256(token) -> grant``."""

    def __init__(self, grants: Mapping[str, ApiTokenGrant]) -> None:
        """Keep the grants, keyed by the lower-case hex digest of their token."""
        self._grants = tuple(
            (
                bytes.fromhex(digest),
                Principal(
                    subject=g.subject,
                    scopes=frozenset(Scope(s) for s in g.scopes),
                    household_id=g.household_id,
                ),
            )
            for digest, g in grants.items()
        )

    async def authenticate(self, token: str) -> Principal | None:
        """Compare the token's digest with every configured one, in constant time."""
        digest = hashlib.sha256(token.encode()).digest()
        found: Principal | None = None
        for known, principal in self._grants:
            if hmac.compare_digest(known, digest):
                found = principal
        return found
