"""Signed and encrypted adapter configuration files (AD-5): a tampered file is refused at start."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography.fernet import Fernet

from omdp.adapter.config import load_adapter_file
from omdp.errors import ConfigError
from omdp.security.protect import (
    SECRET_KEY_ENV,
    TRUST_ENV,
    create_signing_key,
    encrypt_secrets,
    sign_document,
    trust_string,
)

DOC: dict[str, Any] = {
    "MeterIndividualId": "m-1",
    "OperationalPropertyMapping": [{"from": "1-0:1.8.0", "to": "OBIS_1.8.0"}],
    "CloudAuth": {"username": "m-1", "password": "s3cret-pw"},
    "Broker": {"host": "broker.site", "port": 8883, "tls": True},
}


def _write(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)
    return path


@pytest.fixture
def signed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """A document signed by a fresh cloud key that the environment trusts."""
    key = create_signing_key(tmp_path / "cloud.key")
    monkeypatch.setenv(TRUST_ENV, trust_string(key.public_key()))
    return sign_document(DOC, key)


def test_ad5_signed_file_loads(tmp_path: Path, signed: dict[str, Any]) -> None:
    """AD-5: a file as the cloud signed it loads; YAML key order does not matter."""
    reordered = dict(reversed(list(signed.items())))
    config = load_adapter_file(_write(tmp_path / "a.yaml", reordered))
    assert config.meter_individual_id == "m-1"
    assert config.signature is not None
    assert config.signature.alg == "Ed25519"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("MeterIndividualId",), "m-2"),
        (("Broker", "host"), "evil.example"),
        (("CloudAuth", "username"), "someone-else"),
        (("OperationalPropertyMapping",), [{"from": "1-0:2.8.0", "to": "OBIS_1.8.0"}]),
    ],
)
def test_ad5_tampered_file_is_refused(
    tmp_path: Path, signed: dict[str, Any], path: tuple[str, ...], value: object
) -> None:
    """AD-5: any change after signing is refused at start with a clear message."""
    doc = yaml.safe_load(yaml.safe_dump(signed))
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    file = _write(tmp_path / "a.yaml", doc)
    with pytest.raises(ConfigError, match="signature does not match the content") as err:
        load_adapter_file(file)
    assert str(file) in str(err.value)


def test_ad5_unsigned_or_other_key_is_refused(
    tmp_path: Path, signed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD-5: with a trusted key configured, an unsigned file or another key's is refused."""
    with pytest.raises(ConfigError, match="not signed"):
        load_adapter_file(_write(tmp_path / "u.yaml", DOC))
    forger = create_signing_key(tmp_path / "forger.key")
    with pytest.raises(ConfigError, match="signature does not match"):
        load_adapter_file(_write(tmp_path / "f.yaml", sign_document(DOC, forger)))
    monkeypatch.delenv(TRUST_ENV)
    assert load_adapter_file(_write(tmp_path / "plain.yaml", DOC)).meter_individual_id == "m-1"


def test_ad5_trust_key_in_file_section(tmp_path: Path) -> None:
    """AD-5: Adapter.trustKey (a PEM path relative to the file) also enables the check."""
    from cryptography.hazmat.primitives import serialization

    key = create_signing_key(tmp_path / "cloud.key")
    (tmp_path / "cloud.pub").write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    doc = sign_document({**DOC, "Adapter": {"trustKey": "cloud.pub"}}, key)
    assert load_adapter_file(_write(tmp_path / "a.yaml", doc)).adapter.trust_key == "cloud.pub"
    doc["Broker"]["port"] = 1883
    with pytest.raises(ConfigError, match="AD-5"):
        load_adapter_file(_write(tmp_path / "b.yaml", doc))


def test_ad5_encrypted_secrets(
    tmp_path: Path, signed: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """AD-5: CloudAuth secrets encrypted at rest are decrypted with a key outside the file;
    the signature still verifies; without the key the adapter refuses with a clear message."""
    fernet_key = Fernet.generate_key()
    encrypted = encrypt_secrets(signed, Fernet(fernet_key))
    assert encrypted["CloudAuth"]["password"].startswith("enc:v1:")
    file = _write(tmp_path / "e.yaml", encrypted)
    assert "s3cret-pw" not in file.read_text()
    with pytest.raises(ConfigError, match=SECRET_KEY_ENV):
        load_adapter_file(file)
    monkeypatch.setenv(SECRET_KEY_ENV, fernet_key.decode())
    config = load_adapter_file(file)
    assert config.cloud_auth.password is not None
    assert config.cloud_auth.password.get_secret_value() == "s3cret-pw"
    monkeypatch.setenv(SECRET_KEY_ENV, Fernet.generate_key().decode())
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        load_adapter_file(file)


def test_ad5_secrets_file_must_be_private(tmp_path: Path, signed: dict[str, Any]) -> None:
    """AD-5: a signed file with secrets readable by others is still refused."""
    file = _write(tmp_path / "a.yaml", signed)
    file.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_adapter_file(file)
