"""Settings of the REST API, and :class:`ApiServerSettings`: what an API app is built from."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from omdp.auth.settings import ApiTokenGrant, AuthSettings
from omdp.security.settings import HttpsSettings


class AdapterBrokerSettings(BaseModel):
    """The broker written into created adapter configuration files (CL-10)."""

    host: str = Field(default="127.0.0.1", min_length=1, max_length=253)
    port: int = Field(default=1883, ge=1, le=65535)
    protocol: Literal["5", "3.1.1"] = "5"
    tls: bool = False
    ca_file: str | None = Field(
        default=None,
        max_length=1024,
        description="The CA file on the adapter's device that verifies the broker (with tls).",
    )


class ApiSettings(BaseModel):
    """The cloud's REST API (CL-3..CL-13)."""

    model_config = ConfigDict(extra="forbid")

    tokens: dict[str, ApiTokenGrant] = Field(
        default_factory=dict,
        description="Static bearer tokens: SHA-256 hex of the token -> the caller it stands for.",
    )
    bulk_secret: SecretStr | None = Field(
        default=None, description="Key of bulk links (AEAD); random per process when unset."
    )
    pseudonym_key: SecretStr | None = Field(
        default=None,
        description="HMAC key of meter pseudonyms; random per process (unstable) when unset.",
    )
    bulk_link_ttl_s: int = Field(default=3600, ge=10, le=7 * 86400)
    json_max_rows: int = Field(
        default=10_000, ge=1, description="Above this many rows an unpaged query answers bulk."
    )
    min_result_rows: int = Field(default=20, ge=1, description="CL-8: smaller results refused.")
    parquet_row_group: int = Field(default=100_000, ge=1000, le=10_000_000)
    credentials_file: Path = Field(
        default=Path("data/device-credentials.json"),
        description="Password hashes of devices created by /v1/adapterConfigurations.",
    )
    adapter_broker: AdapterBrokerSettings = AdapterBrokerSettings()
    auth: AuthSettings = AuthSettings()
    metrics_public: bool = Field(
        default=False,
        description="Serve /metrics without a token (default: an operator's token is needed).",
    )


class ApiServerSettings(BaseModel):
    """The REST API as served: its ``api`` group, its address, path prefix and TLS.

    :func:`~omdp.cloud.api.app.create_app` builds an app from these. The cloud's settings are
    one; a no-cloud edge builds its own from its settings, validated like any other.
    """

    api: ApiSettings = ApiSettings()
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    path_prefix: str = ""
    tls: HttpsSettings = HttpsSettings()
