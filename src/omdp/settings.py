"""How each process reads its settings: a YAML file, overridden by environment variables.

Each package owns the settings of its part (:class:`omdp.mqtt.settings.MqttSettings`,
:class:`omdp.auth.settings.AuthSettings`, ...); a process's settings model composes them under
its own prefix (``OMDP_EDGE_``, ``OMDP_CLOUD_``) on :class:`ComponentSettings`. Nested groups are
reached with ``__``: ``OMDP_CLOUD_DB__URL=postgresql://...`` overrides ``db: {url: ...}`` of the
file. Secrets are :class:`~pydantic.SecretStr` and never printed. :func:`load_settings` is
called once, by the command line, and the result passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)

from omdp.domain.validation import problems_of
from omdp.errors import ConfigError


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
