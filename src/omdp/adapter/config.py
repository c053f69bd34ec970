"""Loading the adapter configuration file (AD-4, AD-5, CL-10).

The file must name the MeterIndividualId and the property mapping (AD-4); the mapping may come
from a shipped profile (``Meter.profile``) with the file's own entries overriding it. A file
that holds secrets (``CloudAuth.password`` or ``token``) must not be readable by other users
(AD-5): the adapter refuses to start otherwise, and says how to fix it.
"""

from __future__ import annotations

import json
import stat
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from omdp.domain.adapter_file import AdapterConfigFile, PropertyMapping
from omdp.domain.validation import problems_of
from omdp.errors import ConfigError
from omdp.security.protect import unprotect


def profile_names() -> list[str]:
    """The shipped mapping profiles."""
    folder = resources.files("omdp.adapter") / "profiles"
    return sorted(
        p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml")
    )


def load_profile(name: str) -> list[PropertyMapping]:
    """The mappings of a shipped profile, e.g. ``mbus-electricity-3phase``."""
    if name not in profile_names():
        msg = f"unknown mapping profile {name!r}; shipped: {', '.join(profile_names())}"
        raise ConfigError(msg)
    text = (resources.files("omdp.adapter") / "profiles" / f"{name}.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    return [PropertyMapping.model_validate(m) for m in doc["mappings"]]


def _parse(path: Path, text: str) -> Any:
    try:
        if path.suffix == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        msg = f"{path}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {exc}"
        raise ConfigError(msg) from None


def _holds_secrets(config: AdapterConfigFile) -> bool:
    auth = config.cloud_auth
    meter = config.meter
    meter_keys = meter is not None and bool(meter.key or meter.auth_key)
    radio = meter.radio_meters if meter is not None else []
    return (
        auth.password is not None
        or auth.token is not None
        or meter_keys
        or any(r.key for r in radio)
    )


def check_private(path: Path, config: AdapterConfigFile) -> None:
    """AD-5: a file with secrets must be readable by its owner only."""
    if not _holds_secrets(config):
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        msg = (
            f"{path}: holds secrets (CloudAuth, Meter keys, radio meter keys) but is readable "
            f"by other users (mode {mode:04o}); run: chmod 600 {path}"
        )
        raise ConfigError(msg)


def with_profile(config: AdapterConfigFile) -> AdapterConfigFile:
    """The config with its profile's mappings added; the file's own entries win per target."""
    if config.meter is None or config.meter.profile is None:
        return config
    own = {m.target for m in config.operational_property_mapping}
    merged = [m for m in load_profile(config.meter.profile) if m.target not in own]
    merged.extend(config.operational_property_mapping)
    return config.model_copy(update={"operational_property_mapping": merged})


def load_adapter_file(path: str | Path) -> AdapterConfigFile:
    """Read, validate and check an adapter configuration file.

    Raises:
        ConfigError: the file is missing, malformed, invalid, maps nothing, holds secrets
            while readable by others, or fails its signature check (a trusted cloud key is
            configured, see :mod:`omdp.security.protect`); the message names the file.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        msg = f"{path}: cannot read the adapter configuration: {exc.strerror}"
        raise ConfigError(msg) from None
    doc = unprotect(path, _parse(path, text))  # AD-5: decrypt secrets, verify the signature
    try:
        config = AdapterConfigFile.model_validate(doc)
    except ValidationError as exc:
        details = "; ".join(f"{p.removeprefix('$.')}: {r}" for p, r in problems_of(exc))
        msg = f"{path}: invalid adapter configuration: {details}"
        raise ConfigError(msg) from None
    check_private(path, config)
    config = with_profile(config)
    radio = config.meter.radio_meters if config.meter is not None else []
    if radio and all(r.profile or r.mapping for r in radio):
        return config  # each radio meter maps its own values (omdp.adapter.radio)
    if not config.operational_property_mapping and not config.static_values:
        msg = f"{path}: OperationalPropertyMapping is empty and Meter.profile names none (AD-4)"
        raise ConfigError(msg)
    return config
