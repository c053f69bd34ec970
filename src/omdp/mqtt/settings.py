"""The settings of a connection to an MQTT broker, owned by the MQTT client."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr


class MqttSettings(BaseModel):
    """A connection to an MQTT broker."""

    host: str = "127.0.0.1"
    protocol: Literal["5", "3.1.1"] = Field(
        default="5",
        description="MQTT version; 3.1.1 for brokers without MQTT 5 (e.g. amqtt): no shared "
        "subscriptions then.",
    )
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = None
    keepalive: int = Field(default=60, ge=5, le=3600)
