"""Settings: YAML files with environment overrides, precise errors, secrets hidden."""

from __future__ import annotations

from pathlib import Path

import pytest

from omdp.cloud.settings import CloudSettings, RetentionSettings
from omdp.edge.settings import EdgeSettings
from omdp.errors import ConfigError
from omdp.settings import load_settings


def test_yaml_file_then_environment_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file sets values; OMDP_EDGE_* (with __ for nesting) overrides them."""
    file = tmp_path / "edge.yaml"
    file.write_text("concentrator_id: edge-7\ncloud:\n  host: cloud.local\n  port: 8883\n")
    monkeypatch.setenv("OMDP_EDGE_CLOUD__PORT", "1884")
    settings = load_settings(EdgeSettings, file)
    assert settings.concentrator_id == "edge-7"
    assert (settings.cloud.host, settings.cloud.port) == ("cloud.local", 1884)


def test_secrets_are_hidden(tmp_path: Path) -> None:
    """Passwords are secret types: never shown in reprs or logs."""
    file = tmp_path / "cloud.yaml"
    file.write_text("mqtt:\n  password: hunter2\n")
    settings = load_settings(CloudSettings, file)
    assert "hunter2" not in repr(settings)
    assert settings.mqtt.password is not None
    assert settings.mqtt.password.get_secret_value() == "hunter2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("concentrator_id: a/b\n", "concentrator_id: not a valid identifier"),
        ("cloud: {port: 99999}\n", "cloud.port"),
        ("unknown_key: 1\n", "unknown_key"),
        ("cloud: [\n", "cannot read settings"),
    ],
)
def test_bad_settings_name_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    """A malformed file is refused with the file, the setting and the reason."""
    file = tmp_path / "edge.yaml"
    file.write_text(text)
    with pytest.raises(ConfigError, match=message) as info:
        load_settings(EdgeSettings, file)
    assert str(file) in str(info.value)


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    """A configuration file that does not exist is said so."""
    with pytest.raises(ConfigError, match="not found"):
        load_settings(EdgeSettings, tmp_path / "nope.yaml")


def test_edge_retention_needs_the_edge_store() -> None:
    """CL-13: a retention policy on an edge that forwards to a cloud would do nothing: refused."""
    with pytest.raises(ValueError, match="retention applies to the edge's own store"):
        EdgeSettings(retention=RetentionSettings(default_days=30))
