"""The security parts of the API (CL-6, CL-7, CL-14, APP-5), built from its settings.

:func:`create_app <omdp.cloud.api.app.create_app>` builds an app in one pass from these parts:
the :func:`authenticator` (the static tokens of the settings, if ``auth.static_tokens``, then the
embedded issuer's JWTs and those of each external OpenID Connect issuer), the embedded
:func:`issuer <build_issuer>` whose routes it includes under the path prefix, and the
request-body size limit. The paths here are also those of ``omdp security``.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from omdp.auth.jwt_auth import JwtAuthenticator, LocalKeys, external_authenticators
from omdp.auth.principal import Authenticator, ChainAuthenticator
from omdp.cloud.api.settings import ApiServerSettings
from omdp.security.issuer import Issuer
from omdp.security.keys import Keyring
from omdp.security.limits import LoginGuard
from omdp.security.protect import load_signing_key
from omdp.security.users import UserStore


def users_path(settings: ApiServerSettings) -> Path:
    """Where the users, clients and tokens live (default: beside the credentials file)."""
    auth = settings.api.auth
    return auth.users_db or settings.api.credentials_file.parent / "users.sqlite3"


def keys_path(settings: ApiServerSettings) -> Path:
    """Where the issuer's signing keys live (default: beside the credentials file)."""
    auth = settings.api.auth
    return auth.keys_dir or settings.api.credentials_file.parent / "issuer-keys"


def issuer_url(settings: ApiServerSettings) -> str:
    """The ``iss`` of the embedded issuer: configured, or the API's own URL."""
    if settings.api.auth.issuer_url:
        return settings.api.auth.issuer_url.rstrip("/")
    scheme = "https" if settings.tls.enabled else "http"
    host = settings.http_host if settings.http_host not in ("0.0.0.0", "::", "") else "localhost"  # noqa: S104
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{settings.http_port}{settings.path_prefix.rstrip('/')}"


def build_issuer(settings: ApiServerSettings, users: UserStore | None = None) -> Issuer:
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


def authenticator(
    settings: ApiServerSettings, static: Authenticator, issuer: Issuer | None
) -> Authenticator:
    """The API's tokens: ``static`` (if ``auth.static_tokens``), ``issuer``'s, external ones.

    A token the embedded issuer revoked (or of an account it disabled) is refused whoever
    signed it.
    """
    auth = settings.api.auth
    chain: list[Authenticator] = [static] if auth.static_tokens else []
    revoked = None
    if issuer is not None:
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
    chain.extend(external_authenticators(auth, revoked=revoked))
    return ChainAuthenticator(*chain)


def config_signing_key(settings: ApiServerSettings) -> Ed25519PrivateKey:
    """The cloud's Ed25519 key that signs issued adapter configuration files (AD-5).

    Kept beside the issuer's keys as ``config-signing.pem`` (mode 600), created on first use.
    The route that issues a file calls ``sign_document(data, config_signing_key(settings))``.
    """
    return load_signing_key(keys_path(settings) / "config-signing.pem", create=True)
