"""An API as an OAuth 2.0 resource server (CL-6, CL-14): JWT bearer tokens to principals.

:class:`JwtAuthenticator` accepts a token only if its signature verifies with a published key of
its issuer under an allowed asymmetric algorithm that fits the key (RS256 and an RSA key, ES256
and a P-256 key, EdDSA and an Ed25519 key), and ``iss``, ``aud``, ``exp`` and ``nbf`` hold.
``alg: none`` and every HMAC algorithm are refused before any key is looked at, so a public key
can never be used as an HMAC secret. Keys come from a :class:`KeySource`: the embedded issuer's
keyring (:class:`LocalKeys`) or an OpenID Connect provider's JWKS (:class:`RemoteJwks`, fetched
with httpx, cached, refetched on an unknown ``kid`` at most every ``refetch_interval_s``).

Claims: ``scope`` (space-separated) gives the :class:`~omdp.auth.principal.Scope` set (unknown
scopes such as ``openid`` are ignored); ``household_id`` makes the caller a household owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from omdp.auth.principal import Authenticator, Principal, Scope
from omdp.auth.settings import AuthSettings
from omdp.errors import ConfigError
from omdp.security.keys import Keyring

log = logging.getLogger(__name__)

ALLOWED = ("RS256", "ES256", "EdDSA")
_SCOPES = {s.value: s for s in Scope}


class KeySource(Protocol):
    """Where the verification keys of one issuer come from."""

    async def get(self, kid: str | None) -> Any | None:
        """The public key ``kid`` (a cryptography key object), or None when unknown."""
        ...


def _fits(alg: str, key: object) -> bool:
    if alg == "RS256":
        return isinstance(key, rsa.RSAPublicKey) and key.key_size >= 2048
    if alg == "ES256":
        return isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    if alg == "EdDSA":
        return isinstance(key, ed25519.Ed25519PublicKey)
    return False


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    """The caller a verified token stands for."""
    raw = claims.get("scope", "")
    names = raw.split() if isinstance(raw, str) else [str(s) for s in raw or ()]
    household = claims.get("household_id")
    return Principal(
        subject=str(claims.get("sub", "")),
        scopes=frozenset(_SCOPES[n] for n in names if n in _SCOPES),
        household_id=str(household) if household else None,
    )


class JwtAuthenticator:
    """Verifies JWT access tokens of one issuer for one audience."""

    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        keys: KeySource,
        algorithms: Sequence[str] = ALLOWED,
        leeway_s: float = 30,
        revoked: Callable[[Mapping[str, Any]], bool] | None = None,
    ) -> None:
        """Trust ``issuer``'s keys from ``keys``; ``revoked(claims)`` refuses a verified token
        (deny-list, account generation), asked on every request."""
        bad = set(algorithms) - set(ALLOWED)
        if bad:
            msg = f"algorithms {sorted(bad)} are not allowed; use {', '.join(ALLOWED)}"
            raise ConfigError(msg)
        self.issuer = issuer
        self.audience = audience
        self.keys = keys
        self.algorithms = tuple(algorithms)
        self.leeway_s = leeway_s
        self.revoked = revoked

    def __repr__(self) -> str:
        """Issuer and audience."""
        return f"JwtAuthenticator(issuer={self.issuer!r}, audience={self.audience!r})"

    async def authenticate(self, token: str) -> Principal | None:
        """The principal of a valid token of this issuer, else None."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        if unverified.get("iss") != self.issuer:
            return None
        alg = header.get("alg")
        if alg not in self.algorithms:
            log.debug("token refused: algorithm %r not allowed", alg)
            return None
        key = await self.keys.get(header.get("kid"))
        if key is None or not _fits(alg, key):
            log.debug("token refused: no key of %s fits kid %r", self.issuer, header.get("kid"))
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            log.debug("token refused: %s", type(exc).__name__)
            return None
        if self.revoked is not None and await asyncio.to_thread(self.revoked, claims):
            log.debug("token refused: revoked")
            return None
        return principal_from_claims(claims)


class LocalKeys:
    """The embedded issuer's own keyring."""

    def __init__(self, keyring: Keyring) -> None:
        """Read keys from ``keyring``."""
        self.keyring = keyring

    async def get(self, kid: str | None) -> Any | None:
        """The public key ``kid``; an unknown one reloads the keyring (rotation elsewhere)."""
        key = self.keyring.find(kid)
        return key.private.public_key() if key is not None else None


def require_secure_url(url: str) -> None:
    """Refuse a plain-HTTP URL unless it points at the loopback interface (tests, sidecars)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    loopback = host == "localhost"
    with contextlib.suppress(ValueError):
        loopback = loopback or ipaddress.ip_address(host).is_loopback
    if parts.scheme != "http" or not loopback:
        msg = f"{url}: an issuer must be reached over https (CL-7)"
        raise ConfigError(msg)


class RemoteJwks:
    """An OpenID Connect provider's JWKS, found through its discovery document and cached."""

    def __init__(
        self,
        issuer: str,
        *,
        discovery_url: str | None = None,
        ca_file: str | None = None,
        refetch_interval_s: float = 30.0,
        timeout_s: float = 5.0,
    ) -> None:
        """Fetch lazily from ``discovery_url`` (default: the issuer's well-known document)."""
        self.issuer = issuer
        self.discovery_url = discovery_url or (
            issuer.rstrip("/") + "/.well-known/openid-configuration"
        )
        require_secure_url(self.discovery_url)
        self._verify: ssl.SSLContext | bool = (
            ssl.create_default_context(cafile=ca_file) if ca_file else True
        )
        self.refetch_interval_s = refetch_interval_s
        self.timeout_s = timeout_s
        self._keys: dict[str | None, Any] = {}
        self._fetched_at: float | None = None
        self._lock = asyncio.Lock()
        self.fetches = 0

    async def _fetch(self) -> None:
        async with httpx.AsyncClient(verify=self._verify, timeout=self.timeout_s) as http:
            discovery = (await http.get(self.discovery_url)).raise_for_status().json()
            if discovery.get("issuer") != self.issuer:
                msg = f"{self.discovery_url}: names issuer {discovery.get('issuer')!r}"
                raise ConfigError(msg)
            jwks_uri = str(discovery["jwks_uri"])
            require_secure_url(jwks_uri)
            jwks = (await http.get(jwks_uri)).raise_for_status().json()
        keys: dict[str | None, Any] = {}
        for entry in jwks.get("keys", []):
            if entry.get("use", "sig") != "sig":
                continue
            try:
                keys[entry.get("kid")] = jwt.PyJWK(entry).key
            except jwt.PyJWTError:
                log.warning("skipping an unusable key %r of %s", entry.get("kid"), self.issuer)
        self._keys = keys
        self.fetches += 1

    async def get(self, kid: str | None) -> Any | None:
        """The key ``kid``; refetches the JWKS on an unknown kid, rate-limited."""
        if kid in self._keys:
            return self._keys[kid]
        async with self._lock:
            now = time.monotonic()
            if kid not in self._keys and (
                self._fetched_at is None or now - self._fetched_at >= self.refetch_interval_s
            ):
                self._fetched_at = now
                try:
                    await self._fetch()
                except (httpx.HTTPError, ValueError, KeyError, ConfigError) as exc:
                    log.warning("cannot fetch the keys of %s: %s", self.issuer, exc)
            if kid is None and len(self._keys) == 1:
                return next(iter(self._keys.values()))
            return self._keys.get(kid)


def external_authenticators(
    auth: AuthSettings, *, revoked: Callable[[Mapping[str, Any]], bool] | None = None
) -> list[Authenticator]:
    """One JWT authenticator for each external OpenID Connect issuer of ``auth``."""
    return [
        JwtAuthenticator(
            issuer=external.issuer,
            audience=external.audience,
            keys=RemoteJwks(
                external.issuer,
                discovery_url=external.discovery_url,
                ca_file=str(external.ca_file) if external.ca_file else None,
                refetch_interval_s=external.refetch_interval_s,
            ),
            algorithms=external.algorithms,
            leeway_s=external.leeway_s,
            revoked=revoked,
        )
        for external in auth.external
    ]
