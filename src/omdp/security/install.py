"""Wiring the security of the API: :func:`install_auth` (CL-6, CL-7, CL-14, APP-5).

``create_app`` (or an entry point) calls it once on a fresh app::

    app = create_app(settings, store)
    install_auth(app, settings)

It keeps the app's authenticator (the static tokens of the settings, if ``auth.static_tokens``)
and chains after it a :class:`~omdp.security.jwt_auth.JwtAuthenticator` for the embedded issuer
(whose routes it includes under the path prefix) and one for each external OpenID Connect issuer;
it also installs the request-body size limit.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from omdp.config import AuthSettings, CloudSettings
from omdp.security.issuer import Issuer, issuer_router
from omdp.security.keys import Keyring
from omdp.security.limits import BodySizeLimit, LoginGuard
from omdp.security.protect import load_signing_key
from omdp.security.users import UserStore

if TYPE_CHECKING:
    from omdp.cloud.api.auth import Authenticator
    from omdp.cloud.api.deps import ApiContext


def users_path(settings: CloudSettings) -> Path:
    """Where the users, clients and tokens live (default: beside the credentials file)."""
    auth = settings.api.auth
    return auth.users_db or settings.api.credentials_file.parent / "users.sqlite3"


def keys_path(settings: CloudSettings) -> Path:
    """Where the issuer's signing keys live (default: beside the credentials file)."""
    auth = settings.api.auth
    return auth.keys_dir or settings.api.credentials_file.parent / "issuer-keys"


def issuer_url(settings: CloudSettings) -> str:
    """The ``iss`` of the embedded issuer: configured, or the API's own URL."""
    if settings.api.auth.issuer_url:
        return settings.api.auth.issuer_url.rstrip("/")
    scheme = "https" if settings.tls.enabled else "http"
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "localhost"  # noqa: S104
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{settings.http_port}{settings.path_prefix.rstrip('/')}"


def build_issuer(settings: CloudSettings, users: UserStore | None = None) -> Issuer:
    """The embedded issuer of ``settings`` (keys created on first use)."""
    auth = settings.api.auth
    return Issuer(
        url=issuer_url(settings),
        audience=auth.audience,
        keyring=Keyring(keys_path(settings)),
        users=users or UserStore(users_path(settings)),
        ttl_s=auth.token_ttl_s,
        guard=LoginGuard(
            per_address=auth.token_rate_per_minute,
            failures=auth.login_failures,
            window_s=auth.login_failure_window_s,
            slowdown_per_minute=auth.login_slowdown_failures_per_minute,
            slowdown_s=auth.login_slowdown_s,
        ),
        refresh_ttl_s=auth.refresh_ttl_s,
    )


def install_auth(
    app: FastAPI, settings: CloudSettings, *, users: UserStore | None = None
) -> Authenticator:
    """Install token issuing and checking and the body size limit on ``app``.

    Args:
        app: An app made by :func:`~omdp.cloud.api.app.create_app` (its ``state.ctx`` is set).
        settings: The cloud's settings (``api.auth``, ``tls``, ``path_prefix``).
        users: The user store; default ``api.auth.users_db``.

    Returns:
        The authenticator now used by the app.
    """
    # omdp.cloud.api imports this module (create_app calls install_auth): import it late
    from omdp.security.jwt_auth import (  # noqa: PLC0415
        ChainAuthenticator,
        JwtAuthenticator,
        LocalKeys,
    )

    if getattr(app.state, "auth_installed", None) is not None:
        installed: Authenticator = app.state.auth_installed
        return installed  # create_app installed it already
    auth = settings.api.auth
    ctx: ApiContext = app.state.ctx
    chain: list[Authenticator] = [ctx.authenticator] if auth.static_tokens else []
    revoked = None
    if auth.issuer_enabled:
        issuer = build_issuer(settings, users)
        app.include_router(issuer_router(issuer), prefix=settings.path_prefix.rstrip("/"))
        revoked = issuer.users.refuses
        chain.append(
            JwtAuthenticator(
                issuer=issuer.url,
                audience=issuer.audience,
                keys=LocalKeys(issuer.keyring),
                algorithms=("ES256",),
                leeway_s=5,
                revoked=revoked,
            )
        )
        app.state.issuer = issuer
    chain.extend(external_authenticators(auth, revoked=revoked))
    authenticator = ChainAuthenticator(*chain)
    app.state.ctx = dataclasses.replace(ctx, authenticator=authenticator)
    app.add_middleware(BodySizeLimit, max_bytes=auth.max_body_bytes)
    app.state.auth_installed = authenticator
    return authenticator


def external_authenticators(
    auth: AuthSettings, *, revoked: Callable[[Mapping[str, Any]], bool] | None = None
) -> list[Authenticator]:
    """One JWT authenticator for each external OpenID Connect issuer of ``auth``."""
    from omdp.security.jwt_auth import JwtAuthenticator, RemoteJwks  # noqa: PLC0415

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


def config_signing_key(settings: CloudSettings) -> Ed25519PrivateKey:
    """The cloud's Ed25519 key that signs issued adapter configuration files (AD-5).

    Kept beside the issuer's keys as ``config-signing.pem`` (mode 600), created on first use.
    The route that issues a file calls ``sign_document(data, config_signing_key(settings))``.
    """
    return load_signing_key(keys_path(settings) / "config-signing.pem", create=True)
