"""A DLMS meter's keys in the adapter file: encrypted at rest by ``omdp adapterfile
encrypt-secrets`` and refused in a file others may read (AD-5)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from omdp.adapter.config import load_adapter_file
from omdp.adapter.sources.dlms import dlms_keys
from omdp.cli.main import cli
from omdp.decoders.dlms import decode_capture
from omdp.errors import ConfigError
from omdp.security.protect import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV
from omdp.simulators.dlms_meter import DlmsMeter
from omdp.simulators.profiles import HouseholdProfile

KEY = "5AD6D6A6B4C0F1B6C77C4A1E7A8D2F30"
AUTH_KEY = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"


def _adapter_file(folder: Path, mode: int = 0o600) -> Path:
    path = folder / "h3-dlms.yaml"
    doc = {
        "MeterIndividualId": "h3-dlms",
        "Meter": {
            "kind": "dlms",
            "tcp": "127.0.0.1:40104",
            "profile": "dlms-kaifa-ma309",
            "key": KEY,
            "authKey": AUTH_KEY,
        },
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    path.chmod(mode)
    return path


def _encrypt(path: Path, key_file: Path) -> None:
    result = CliRunner().invoke(
        cli, ["adapterfile", "encrypt-secrets", str(path), "--key-file", str(key_file)]
    )
    assert result.exit_code == 0, result.output


def test_ad5_dlms_keys_encrypted_at_rest_and_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD-5: ``encrypt-secrets`` replaces Meter.key and Meter.authKey by Fernet tokens; the file
    stays mode 600, holds neither key, and loads only with the secret key, into keys that
    decipher the meter's pushes."""
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.delenv(SECRET_KEY_FILE_ENV, raising=False)
    path = _adapter_file(tmp_path)
    key_file = tmp_path / "secret" / "adapter.key"
    key_file.parent.mkdir()
    _encrypt(path, key_file)

    text = path.read_text(encoding="utf-8")
    for secret in (KEY, AUTH_KEY):
        assert secret not in text
        assert secret.lower() not in text
    meter = yaml.safe_load(text)["Meter"]
    assert meter["key"].startswith("enc:v1:")
    assert meter["authKey"].startswith("enc:v1:")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    _encrypt(path, key_file)  # idempotent: encrypted values are not encrypted again
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["Meter"] == meter

    with pytest.raises(ConfigError, match=r"Meter\.key, Meter\.authKey encrypted"):
        load_adapter_file(path)

    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(key_file))
    config = load_adapter_file(path)
    assert config.meter is not None
    assert (config.meter.key, config.meter.auth_key) == (KEY, AUTH_KEY)
    keys = dlms_keys(config.meter.key, config.meter.auth_key)
    assert keys is not None
    assert KEY not in repr(keys)
    t0 = 1_750_000_000.0
    push = DlmsMeter(HouseholdProfile(origin=t0 - 3600), keys=keys).frame_at(t0)
    result = decode_capture(push, keys=keys)
    assert result.problems == []
    assert result.pushes[0].security == "authenticated+encrypted"


@pytest.mark.parametrize("mode", [0o640, 0o644, 0o660, 0o604, 0o666])
@pytest.mark.parametrize("encrypted", [False, True], ids=["plain-keys", "encrypted-keys"])
def test_ad5_dlms_keys_refused_when_others_may_read_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int, *, encrypted: bool
) -> None:
    """AD-5: a file with a meter key, in the clear or encrypted, is refused unless only its owner
    may read it; the message says how to fix it and never shows the key."""
    path = _adapter_file(tmp_path)
    if encrypted:
        key_file = tmp_path / "adapter.key"
        _encrypt(path, key_file)
        monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(key_file))
    assert load_adapter_file(path).meter is not None  # mode 600 loads
    path.chmod(mode)
    with pytest.raises(ConfigError, match=f"mode {mode:04o}.*chmod 600") as refused:
        load_adapter_file(path)
    assert "Meter keys" in str(refused.value)
    assert KEY not in str(refused.value)
