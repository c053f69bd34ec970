"""Settings of who may call the APIs: static tokens, the embedded issuer, external issuers."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from omdp.auth.principal import Scope
from omdp.domain.identifiers import Identifier


class ApiTokenGrant(BaseModel):
    """Who a static bearer token stands for; the key of the mapping is its SHA-256 (hex)."""

    model_config = ConfigDict(extra="forbid")

    subject: str = Field(min_length=1, max_length=256, description="Caller name, for audits.")
    scopes: list[Scope] = Field(default_factory=list)
    household_id: Identifier | None = Field(
        default=None, description="Set for a household owner: the data they are entitled to."
    )


JwtAlgorithm = Literal["RS256", "ES256", "EdDSA"]
"""An asymmetric JWS algorithm accepted on access tokens (CL-6); never ``none`` or HMAC."""
_ALL_JWT_ALGORITHMS: tuple[JwtAlgorithm, ...] = ("RS256", "ES256", "EdDSA")


class OidcIssuerSettings(BaseModel):
    """An external OpenID Connect issuer whose JWT access tokens the API accepts (CL-6)."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1, description="The issuer URL, exactly as in the iss claim.")
    audience: str = Field(min_length=1, description="The aud this API expects.")
    discovery_url: str | None = Field(
        default=None, description="Default: {issuer}/.well-known/openid-configuration."
    )
    algorithms: list[JwtAlgorithm] = Field(default_factory=lambda: list(_ALL_JWT_ALGORITHMS))
    ca_file: Path | None = Field(default=None, description="CA bundle to verify the issuer.")
    leeway_s: int = Field(default=30, ge=0, le=300)
    refetch_interval_s: float = Field(
        default=30.0, ge=0, le=3600, description="Least time between JWKS fetches."
    )


class AuthSettings(BaseModel):
    """Tokens of users and services (CL-6, CL-14): the embedded issuer and external ones."""

    model_config = ConfigDict(extra="forbid")

    static_tokens: bool = Field(default=True, description="Also accept api.tokens.")
    issuer_enabled: bool = Field(default=True, description="Run the embedded token issuer.")
    issuer_url: str | None = Field(
        default=None, description="iss of the embedded issuer; default from host, port, prefix."
    )
    audience: str = Field(default="omdp-api", min_length=1)
    users_db: Path | None = Field(
        default=None, description="Users, clients, tokens; default beside credentials_file."
    )
    keys_dir: Path | None = Field(
        default=None, description="Signing keys of the issuer; default beside credentials_file."
    )
    token_ttl_s: int = Field(default=900, ge=30, le=86400)
    refresh_ttl_s: int = Field(
        default=7 * 86400,
        ge=60,
        le=366 * 86400,
        description="Life of a refresh token; each refresh starts a new one (the app's session).",
    )
    token_rate_per_minute: int = Field(
        default=20, ge=1, le=10_000, description="Token requests per client address and minute."
    )
    login_failures: int = Field(
        default=5,
        ge=1,
        le=1000,
        description="Failed logins of one account from one address before that pair waits.",
    )
    login_failure_window_s: int = Field(default=900, ge=10, le=86400)
    login_slowdown_failures_per_minute: int = Field(
        default=100,
        ge=1,
        description="Failed logins a minute (all accounts) above which every login is slowed.",
    )
    login_slowdown_s: float = Field(default=1.0, ge=0, le=30)
    external: list[OidcIssuerSettings] = Field(default_factory=list)
    edge_audience: str = Field(
        default="omdp-edge",
        min_length=1,
        description="aud of the short-lived tokens the app's edge proxy sends the edge for its "
        "caller; the edge trusts this issuer for this audience (api.auth.external).",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, le=1024 * 1024 * 1024)
