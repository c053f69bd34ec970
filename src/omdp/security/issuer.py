"""The embedded OAuth 2.0 / OpenID Connect token issuer (CL-6, CL-14, APP-5).

Endpoints, under the API's path prefix:

- ``POST /oauth/token`` (``application/x-www-form-urlencoded``, RFC 6749): the
  ``client_credentials`` grant for services (client authentication by HTTP Basic or
  ``client_id``/``client_secret`` in the form) and the ``password`` grant for users
  (``username``, ``password``); optional ``scope`` narrows the role's scopes. Answers
  ``{access_token, token_type: "Bearer", expires_in, scope}``, for the password grant also a
  ``refresh_token``; the ``refresh_token`` grant (``refresh_token``) trades it for a new access
  token and a new refresh token (rotation: each refresh token is good once); errors are RFC 6749's
  ``{error, error_description}`` (400, 401), 429 with ``Retry-After`` from the
  :class:`~omdp.security.limits.LoginGuard`: above ``token_rate_per_minute`` attempts from one
  address, or after repeated failures of one account from one address (never from elsewhere).
- ``GET /.well-known/openid-configuration`` and ``GET /oauth/jwks``: discovery and public keys.

Access tokens are ES256 JWTs: ``iss``, ``sub``, ``aud``, ``iat``, ``nbf``, ``exp``, ``jti``,
``scope`` (space-separated), ``role``, ``client_id``, ``gen`` (the account's generation: see
:mod:`omdp.security.users`) and, for an owner, ``household_id``.

Refresh tokens (APP-5: an open app keeps working for days without asking for the password
again) are JWTs of the same key for another audience (``<audience>/refresh``, ``typ``
``rt+jwt``), so that no API accepts one as an access token; they live ``refresh_ttl_s``
(default 7 days) from their issue, and each refresh starts a new one, so that a session ends
after that long without use. A used refresh token goes on the deny-list of the user store; so
does one whose user was removed; one issued before the account's generation changed (a new
password, a reset) is refused: the session then really ends.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, unquote

import jwt
import orjson
from fastapi import APIRouter, Request, Response

from omdp.security.keys import ALGORITHM, Keyring
from omdp.security.limits import LoginGuard
from omdp.security.users import Account, Kind, UserStore

_FORM = "application/x-www-form-urlencoded"
RATE_LIMITED = "rate_limited"
INVALID_CLIENT = "invalid_client"
INVALID_REQUEST = "invalid_request"
INVALID_GRANT = "invalid_grant"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
INVALID_SCOPE = "invalid_scope"
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class OAuthError(Exception):
    """An RFC 6749 error answer."""

    def __init__(
        self, error: str, description: str, *, status: int = 400, retry_after: int = 60
    ) -> None:
        """Keep the error code, its description, the HTTP status (and a 429's wait)."""
        super().__init__(description)
        self.error, self.description, self.status = error, description, status
        self.retry_after = retry_after


class Issuer:
    """Signs access tokens for accounts of a :class:`~omdp.security.users.UserStore`."""

    def __init__(
        self,
        *,
        url: str,
        audience: str,
        keyring: Keyring,
        users: UserStore,
        ttl_s: int = 900,
        rate_per_minute: int = 20,
        guard: LoginGuard | None = None,
        refresh_ttl_s: int = 7 * 86400,
    ) -> None:
        """An issuer named ``url`` (the ``iss`` of its tokens) for ``audience``; ``guard``
        slows password guessing (default: ``rate_per_minute`` a minute per address)."""
        self.url = url.rstrip("/")
        self.audience = audience
        self.keyring = keyring
        self.users = users
        self.ttl_s = ttl_s
        self.guard = guard or LoginGuard(per_address=rate_per_minute)
        self.refresh_ttl_s = refresh_ttl_s

    def __repr__(self) -> str:
        """Its name."""
        return f"Issuer({self.url!r})"

    def sign(
        self,
        *,
        subject: str,
        scopes: tuple[str, ...],
        household: str | None = None,
        role: str | None = None,
        client_id: str | None = None,
        ttl_s: int | None = None,
        jti: str | None = None,
        audience: str | None = None,
        generation: int | None = None,
        refresh: bool = False,
    ) -> tuple[str, dict[str, Any]]:
        """A signed access token (or with ``refresh`` a refresh token) and its claims (for
        ``audience``, default the API's); an account's token carries its ``generation``
        (claim ``gen``)."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url,
            "sub": subject,
            "aud": self.refresh_audience if refresh else (audience or self.audience),
            "iat": now,
            "nbf": now,
            "exp": now + (ttl_s or self.ttl_s),
            "jti": jti or secrets.token_hex(16),  # hex: never read as a command-line option
            "scope": " ".join(scopes),
        }
        if role:
            claims["role"] = role
        if client_id:
            claims["client_id"] = client_id
        if household:
            claims["household_id"] = household
        if generation is not None:
            claims["gen"] = generation
        key = self.keyring.active
        typ = "rt+jwt" if refresh else "at+jwt"
        token = jwt.encode(
            claims, key.private, algorithm=ALGORITHM, headers={"kid": key.kid, "typ": typ}
        )
        return token, claims

    @property
    def refresh_audience(self) -> str:
        """The audience of refresh tokens: none of the API's, so never an access token."""
        return f"{self.audience}/refresh"

    def _redeem(self, token: str | None) -> tuple[Account, tuple[str, ...]]:
        """The account and scopes of a valid, unused refresh token, which is used up.

        Raises:
            OAuthError: ``invalid_grant`` for a bad, expired, used or orphaned token.
        """
        if not token:
            msg = "refresh_token is required"
            raise OAuthError(INVALID_REQUEST, msg)
        try:
            key = self.keyring.find(jwt.get_unverified_header(token).get("kid"))
            if key is None:
                msg = "the refresh token's key is unknown"
                raise OAuthError(INVALID_GRANT, msg)
            claims = jwt.decode(
                token,
                key.private.public_key(),
                algorithms=[ALGORITHM],
                audience=self.refresh_audience,
                issuer=self.url,
                options={"require": ["exp", "iss", "aud", "sub", "jti"]},
            )
        except jwt.ExpiredSignatureError:
            msg = "the session has expired: log in again"
            raise OAuthError(INVALID_GRANT, msg) from None
        except jwt.PyJWTError:
            msg = "not a valid refresh token"
            raise OAuthError(INVALID_GRANT, msg) from None
        if self.users.is_revoked(claims["jti"]):
            msg = "the refresh token was used already or revoked: log in again"
            raise OAuthError(INVALID_GRANT, msg)
        self.users.revoke(claims["jti"], expires=float(claims["exp"]))
        account = next((a for a in self.users.accounts() if a.name == claims["sub"]), None)
        if account is None:
            msg = "the account no longer exists"
            raise OAuthError(INVALID_GRANT, msg)
        if claims.get("gen") != self.users.generation(account.name):
            msg = "the password was changed or the sessions were ended: log in again"
            raise OAuthError(INVALID_GRANT, msg)
        scopes = tuple(s for s in str(claims.get("scope", "")).split() if s in account.scopes)
        return account, scopes or account.scopes

    def discovery(self) -> dict[str, Any]:
        """The OpenID Connect discovery document."""
        return {
            "issuer": self.url,
            "token_endpoint": f"{self.url}/oauth/token",
            "jwks_uri": f"{self.url}/oauth/jwks",
            "grant_types_supported": ["client_credentials", "password", "refresh_token"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": ["token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "scopes_supported": [
                "readings:read",
                "readings:delete",
                "registry:read",
                "registry:write",
                "operate",
            ],
        }

    async def _admit(self, name: str, ip: str) -> None:
        """Wait out the guard's pace, or raise its 429 for this (account, address)."""
        wait = self.guard.admit(name, ip)
        if wait:
            msg = f"too many token requests; retry after {int(wait) + 1} s"
            raise OAuthError(RATE_LIMITED, msg, status=429, retry_after=int(wait) + 1)
        pace = self.guard.pace()
        if pace:
            await asyncio.sleep(pace)

    async def _check(self, name: str, secret: str, ip: str, kind: Kind) -> Account | None:
        """The account if the secret is right, after the guard's admission and pace."""
        await self._admit(name, ip)
        account = await asyncio.to_thread(self.users.check, name, secret, kind=kind)
        if account is None:
            self.guard.failed(name, ip)
        else:
            self.guard.succeeded(name, ip)
        return account

    async def grant(
        self, form: dict[str, str], authorization: str | None, ip: str
    ) -> dict[str, Any]:
        """Answer a token request (the form already parsed)."""
        grant_type = form.get("grant_type")
        if grant_type == "client_credentials":
            client_id, secret = _client_credentials(form, authorization)
            account = await self._check(client_id, secret, ip, "client")
            if account is None:
                msg = "unknown client or wrong secret"
                raise OAuthError(INVALID_CLIENT, msg, status=401)
        elif grant_type == "password":
            username, password = form.get("username"), form.get("password")
            if not username or password is None:
                msg = "username and password are required"
                raise OAuthError(INVALID_REQUEST, msg)
            account = await self._check(username, password, ip, "user")
            if account is None:
                msg = "unknown user or wrong password"
                raise OAuthError(INVALID_GRANT, msg)
        elif grant_type == "refresh_token":
            await self._admit("(refresh)", ip)
            redeemed, granted = await asyncio.to_thread(self._redeem, form.get("refresh_token"))
            account = redeemed
            form = {**form, "scope": form.get("scope") or " ".join(granted)}
        else:
            msg = "grant_type must be client_credentials, password or refresh_token"
            raise OAuthError(UNSUPPORTED_GRANT_TYPE, msg)
        scopes = _narrow(account, form.get("scope"))
        identity: dict[str, Any] = {
            "subject": account.name,
            "scopes": scopes,
            "household": account.household_id,
            "role": account.role,
            "client_id": account.name if account.kind == "client" else form.get("client_id"),
            "generation": await asyncio.to_thread(self.users.generation, account.name),
        }
        token, claims = self.sign(**identity)
        answer = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": claims["exp"] - claims["iat"],
            "scope": claims["scope"],
        }
        if grant_type in ("password", "refresh_token"):
            refresh, _ = self.sign(**identity, ttl_s=self.refresh_ttl_s, refresh=True)
            answer["refresh_token"] = refresh
        return answer


def _client_credentials(form: dict[str, str], authorization: str | None) -> tuple[str, str]:
    if authorization and authorization[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(authorization[6:], validate=True).decode()
            client_id, _, secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            msg = "malformed Basic credentials"
            raise OAuthError(INVALID_CLIENT, msg, status=401) from None
        return unquote(client_id), unquote(secret)
    posted_id, posted_secret = form.get("client_id"), form.get("client_secret")
    if not posted_id or posted_secret is None:
        msg = "client authentication is required"
        raise OAuthError(INVALID_CLIENT, msg, status=401)
    return posted_id, posted_secret


def _narrow(account: Account, requested: str | None) -> tuple[str, ...]:
    if not requested:
        return account.scopes
    wanted = tuple(dict.fromkeys(requested.split()))
    extra = [s for s in wanted if s not in account.scopes]
    if extra:
        msg = f"scope {' '.join(extra)} is not granted to {account.name}"
        raise OAuthError(INVALID_SCOPE, msg)
    return wanted


def _parse_form(body: bytes) -> dict[str, str]:
    try:
        parsed = parse_qs(body.decode(), strict_parsing=False, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        msg = "malformed form body"
        raise OAuthError(INVALID_REQUEST, msg) from None
    if any(len(v) > 1 for v in parsed.values()):
        msg = "a parameter is repeated"
        raise OAuthError(INVALID_REQUEST, msg)
    return {k: v[0] for k, v in parsed.items()}


def _json(
    data: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        orjson.dumps(data),
        status_code=status,
        media_type="application/json",
        headers={**_NO_STORE, **(headers or {})},
    )


_ERR = {"application/json": {"schema": {"type": "object", "required": ["error"]}}}
_TOKEN_DOC: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            _FORM: {
                "schema": {
                    "type": "object",
                    "required": ["grant_type"],
                    "properties": {
                        "grant_type": {
                            "type": "string",
                            "enum": ["client_credentials", "password", "refresh_token"],
                        },
                        "client_id": {"type": "string"},
                        "client_secret": {"type": "string"},
                        "username": {"type": "string"},
                        "password": {"type": "string"},
                        "refresh_token": {"type": "string"},
                        "scope": {"type": "string"},
                    },
                }
            }
        },
    }
}


def issuer_router(issuer: Issuer) -> APIRouter:
    """The issuer's endpoints, to include under the API's path prefix."""
    router = APIRouter(tags=["auth"])

    @router.post(
        "/oauth/token",
        summary="Get an access token (OAuth 2.0 client credentials, password or refresh grant)",
        openapi_extra=_TOKEN_DOC,
        responses={
            200: {"description": "An access token.", "content": {"application/json": {}}},
            400: {"description": "RFC 6749 error.", "content": _ERR},
            401: {"description": "Client authentication failed.", "content": _ERR},
            413: {"description": "Body too large.", "content": {"application/json": {}}},
            429: {"description": "Too many attempts.", "content": _ERR},
        },
    )
    async def token(request: Request) -> Response:
        """Answer a token request."""
        ip = request.client.host if request.client else "?"
        try:
            if request.headers.get("content-type", "").split(";")[0].strip() != _FORM:
                msg = f"the body must be {_FORM}"
                raise OAuthError(INVALID_REQUEST, msg)
            form = _parse_form(await request.body())
            answer = await issuer.grant(form, request.headers.get("authorization"), ip)
        except OAuthError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.status == 429 else {}
            if exc.error == INVALID_CLIENT:
                headers["WWW-Authenticate"] = 'Basic realm="omdp"'
            body = {"error": exc.error, "error_description": exc.description}
            return _json(body, exc.status, headers)
        return _json(answer)

    @router.get("/.well-known/openid-configuration", summary="OpenID Connect discovery")
    async def discovery() -> dict[str, Any]:
        """The discovery document."""
        return issuer.discovery()

    @router.get("/oauth/jwks", summary="The issuer's public keys (JWK Set)")
    async def jwks() -> dict[str, Any]:
        """The JWK Set."""
        return issuer.keyring.jwks()

    return router
