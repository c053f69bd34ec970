"""Settings of each process: a YAML file, overridden by environment variables.

Each component has one settings model with its own prefix (``OMDP_EDGE_``, ``OMDP_CLOUD_``);
nested groups are reached with ``__``: ``OMDP_CLOUD_DB__URL=postgresql://...`` overrides
``db: {url: ...}`` of the file. Secrets are :class:`~pydantic.SecretStr` and never printed.
:func:`load_settings` is called once, by the entry point, and the result passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from omdp.domain.identifiers import Identifier
from omdp.domain.validation import problems_of
from omdp.errors import ConfigError


class MqttSettings(BaseModel):
    """A connection to an MQTT broker."""

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = None
    keepalive: int = Field(default=60, ge=5, le=3600)


class DatabaseSettings(BaseModel):
    """Where the cloud (or a no-cloud edge) stores readings."""

    url: str = Field(
        default="sqlite:///data/omdp.sqlite3",
        description="sqlite:///PATH or postgresql://user@host:port/db",
    )
    pool_size: int = Field(default=5, ge=1, le=100)


class ComponentSettings(BaseSettings):
    """Base of every component's settings: YAML file first, environment overrides it."""

    model_config = SettingsConfigDict(env_nested_delimiter="__", extra="forbid")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        yaml_file = settings_cls.model_config.get("yaml_file")
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if yaml_file:
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=yaml_file))
        return tuple(sources)


class EdgeSettings(ComponentSettings):
    """The concentrator / IoT edge."""

    model_config = SettingsConfigDict(env_prefix="OMDP_EDGE_")

    concentrator_id: Identifier = "edge-1"
    local: MqttSettings = MqttSettings()
    cloud: MqttSettings = MqttSettings()
    outbox_path: Path = Path("data/edge-outbox.sqlite3")
    outbox_max_messages: int = Field(default=1_000_000, ge=1)
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8081, ge=0, le=65535)


class CloudSettings(ComponentSettings):
    """The cloud: ingest and API."""

    model_config = SettingsConfigDict(env_prefix="OMDP_CLOUD_")

    mqtt: MqttSettings = MqttSettings()
    db: DatabaseSettings = DatabaseSettings()
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)
    path_prefix: str = ""
    catalog_files: list[Path] = Field(default_factory=list)


S = TypeVar("S", bound=ComponentSettings)


def load_settings(cls: type[S], path: str | Path | None = None, **overrides: Any) -> S:
    """Load ``cls`` from the YAML file at ``path`` (optional) and the environment.

    Raises:
        ConfigError: naming the file, the setting and the reason.
    """
    source = str(path) if path is not None else "environment"
    if path is not None and not Path(path).is_file():
        msg = f"{path}: configuration file not found"
        raise ConfigError(msg)
    bound = type(cls.__name__, (cls,), {"model_config": {**cls.model_config, "yaml_file": path}})
    try:
        return bound(**overrides)  # type: ignore[no-any-return]
    except ValidationError as exc:
        details = "; ".join(f"{p.removeprefix('$.')}: {r}" for p, r in problems_of(exc))
        msg = f"{source}: invalid settings: {details}"
        raise ConfigError(msg) from None
    except (ValueError, yaml.YAMLError) as exc:  # malformed YAML
        msg = f"{source}: cannot read settings: {exc}"
        raise ConfigError(msg) from None
