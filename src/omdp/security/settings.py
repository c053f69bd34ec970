"""Settings of the security parts that a process composes into its own (TLS of HTTP)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class HttpsSettings(BaseModel):
    """TLS of the cloud's HTTP interface (CL-7): HTTPS on http_port, a redirect on plain HTTP."""

    model_config = ConfigDict(extra="forbid")

    cert_file: Path | None = Field(default=None, description="Server certificate (PEM).")
    key_file: Path | None = Field(default=None, description="Its private key (PEM, mode 600).")
    client_ca_file: Path | None = Field(default=None, description="CA of client certificates.")
    redirect_port: int | None = Field(
        default=None, ge=0, le=65535, description="Plain-HTTP port answering 308 to HTTPS."
    )

    @property
    def enabled(self) -> bool:
        """Whether a certificate and key are configured."""
        return self.cert_file is not None and self.key_file is not None
