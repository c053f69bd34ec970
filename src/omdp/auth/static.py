"""Static bearer tokens of the settings, known by their SHA-256 (``api.tokens``)."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from omdp.auth.principal import Principal
from omdp.auth.settings import ApiTokenGrant


class StaticTokenAuthenticator:
    """Tokens configured in the settings as ``sha256(token) -> grant``."""

    def __init__(self, grants: Mapping[str, ApiTokenGrant]) -> None:
        """Keep the grants, keyed by the lower-case hex digest of their token."""
        self._grants = tuple(
            (
                bytes.fromhex(digest),
                Principal(
                    subject=g.subject,
                    scopes=frozenset(g.scopes),
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
