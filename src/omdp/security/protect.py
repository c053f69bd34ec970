"""Integrity and confidentiality of the adapter configuration file (AD-5, CL-10).

**Signature.** The cloud signs the file it issues with an Ed25519 key of its own. The signature
sits in the file, as a top-level block::

    Signature:
      alg: Ed25519
      keyId: 3f6c...            # first 16 hex digits of SHA-256 of the raw public key
      value: <base64 of the 64-byte signature>

over the *canonical content*: the parsed document without ``Signature``, as JSON with sorted
keys, no whitespace, UTF-8 (``json.dumps(doc, sort_keys=True, separators=(",", ":"),
ensure_ascii=False)``), so YAML and JSON renderings of one file share one signature, and comments
or key order do not matter. Secrets encrypted at rest are decrypted before checking (the
signature covers the plain values).

The adapter verifies at start when a trusted cloud public key is configured: the environment
variable ``OMDP_ADAPTER_TRUST_KEY`` (wins) or ``Adapter.trustKey`` in the file, each either
``ed25519:<base64 raw key>`` or the path of a PEM public key (relative to the file). A missing,
malformed or wrong signature is then refused at start, naming the file.

**Encryption at rest.** ``CloudAuth.password``, ``CloudAuth.token``, a DLMS meter's
``Meter.key`` and ``Meter.authKey`` and the ``key`` of each wireless M-Bus meter under
``Meter.radioMeters`` may be stored as
``enc:v1:<Fernet token>``, the key held outside the file: ``OMDP_ADAPTER_SECRET_KEY`` (a Fernet
key) or ``OMDP_ADAPTER_SECRET_KEY_FILE`` (a file holding one).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from omdp.errors import ConfigError
from omdp.security.files import check_secret
from omdp.security.keys import write_private

SIGNATURE = "Signature"
ENCRYPTED = "enc:v1:"
TRUST_ENV = "OMDP_ADAPTER_TRUST_KEY"
SECRET_KEY_ENV = "OMDP_ADAPTER_SECRET_KEY"  # noqa: S105 - a variable name
SECRET_KEY_FILE_ENV = "OMDP_ADAPTER_SECRET_KEY_FILE"  # noqa: S105 - a variable name
_SECRET_FIELDS = ("password", "token")
#: where secrets live: the cloud credentials and a DLMS meter's keys (radio meters' keys beside)
_SECRET_SECTIONS = (("CloudAuth", _SECRET_FIELDS), ("Meter", ("key", "authKey")))


def canonical(doc: dict[str, Any]) -> bytes:
    """The bytes that are signed: the document without its signature, canonical JSON."""
    content = {k: v for k, v in doc.items() if k != SIGNATURE}
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of a public key."""
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey) -> str:
    """First 16 hex digits of the SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public(key)).hexdigest()[:16]


def trust_string(key: Ed25519PublicKey) -> str:
    """The ``ed25519:<base64>`` form of a public key, for ``OMDP_ADAPTER_TRUST_KEY``."""
    return "ed25519:" + base64.b64encode(raw_public(key)).decode()


def create_signing_key(path: Path) -> Ed25519PrivateKey:
    """A new Ed25519 key written to ``path`` (PEM, mode 600)."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    write_private(path, pem)
    return key


def load_signing_key(path: Path, *, create: bool = False) -> Ed25519PrivateKey:
    """The Ed25519 key at ``path`` (created when missing and ``create``)."""
    if create and not path.exists():
        return create_signing_key(path)
    check_secret(path, "the signing key")
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot load the signing key: {exc}"
        raise ConfigError(msg) from None
    if not isinstance(key, Ed25519PrivateKey):
        msg = f"{path}: not an Ed25519 key"
        raise ConfigError(msg)
    return key


def sign_document(doc: dict[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """``doc`` with a fresh ``Signature`` block (any old one replaced)."""
    signature = key.sign(canonical(doc))
    return {
        **{k: v for k, v in doc.items() if k != SIGNATURE},
        SIGNATURE: {
            "alg": "Ed25519",
            "keyId": key_id(key.public_key()),
            "value": base64.b64encode(signature).decode(),
        },
    }


def load_trust_key(spec: str, *, base: Path | None = None) -> Ed25519PublicKey:
    """A trusted public key from ``ed25519:<base64>`` or a PEM file path."""
    if spec.startswith("ed25519:"):
        try:
            return Ed25519PublicKey.from_public_bytes(base64.b64decode(spec[8:], validate=True))
        except (binascii.Error, ValueError):
            msg = f"{spec[:20]}...: not a base64 Ed25519 public key"
            raise ConfigError(msg) from None
    path = Path(spec)
    if base is not None and not path.is_absolute():
        path = base / path
    try:
        key = serialization.load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        msg = f"{path}: cannot load the trusted cloud key: {exc}"
        raise ConfigError(msg) from None
    if not isinstance(key, Ed25519PublicKey):
        msg = f"{path}: not an Ed25519 public key"
        raise ConfigError(msg)
    return key


def verify_document(doc: dict[str, Any], trusted: Ed25519PublicKey, *, source: str) -> None:
    """Check the ``Signature`` of ``doc`` with ``trusted``.

    Raises:
        ConfigError: no signature, a malformed one, or one that does not verify (tampered).
    """
    block = doc.get(SIGNATURE)
    if not isinstance(block, dict):
        msg = f"{source}: not signed, but a trusted cloud key is configured (AD-5); refusing"
        raise ConfigError(msg)
    if block.get("alg") != "Ed25519" or not isinstance(block.get("value"), str):
        msg = f"{source}: Signature must have alg Ed25519 and a base64 value (AD-5)"
        raise ConfigError(msg)
    try:
        trusted.verify(base64.b64decode(block["value"], validate=True), canonical(doc))
    except (InvalidSignature, binascii.Error, ValueError):
        msg = (
            f"{source}: the signature does not match the content: the file was changed after "
            f"the cloud issued it, or signed by another key (key {block.get('keyId')!r}, "
            f"trusted {key_id(trusted)!r}) (AD-5); refusing to start"
        )
        raise ConfigError(msg) from None


def fernet_from_env() -> Fernet | None:
    """The secret-encryption key from the environment, if any."""
    value = os.environ.get(SECRET_KEY_ENV)
    path = os.environ.get(SECRET_KEY_FILE_ENV)
    if not value and path:
        check_secret(Path(path), SECRET_KEY_FILE_ENV)
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            msg = f"{path}: cannot read {SECRET_KEY_FILE_ENV}: {exc.strerror}"
            raise ConfigError(msg) from None
    if not value:
        return None
    try:
        return Fernet(value.encode())
    except ValueError:
        msg = f"{SECRET_KEY_ENV}: not a Fernet key (32 url-safe base64-encoded bytes)"
        raise ConfigError(msg) from None


def _secret_places(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str, str]]:
    """``(section, field, name)`` of every secret the document holds."""
    places: list[tuple[dict[str, Any], str, str]] = []
    for section_name, fields in _SECRET_SECTIONS:
        section = doc.get(section_name)
        if isinstance(section, dict):
            found = [f for f in fields if isinstance(section.get(f), str)]
            places.extend((section, f, f"{section_name}.{f}") for f in found)
    meter = doc.get("Meter")
    radios = meter.get("radioMeters") if isinstance(meter, dict) else None
    for radio in radios if isinstance(radios, list) else []:
        if isinstance(radio, dict) and isinstance(radio.get("key"), str):
            places.append((radio, "key", f"the key of radio meter {radio.get('id')}"))
    return places


def encrypt_secrets(doc: dict[str, Any], fernet: Fernet) -> dict[str, Any]:
    """``doc`` with ``CloudAuth.password``/``token``, ``Meter.key``/``authKey`` and each
    ``Meter.radioMeters[].key`` encrypted (idempotent)."""
    out = copy.deepcopy(doc)
    for section, field, _name in _secret_places(out):
        value = section[field]
        if not value.startswith(ENCRYPTED):
            section[field] = ENCRYPTED + fernet.encrypt(value.encode()).decode()
    return out


def decrypt_secrets(doc: dict[str, Any], fernet: Fernet | None, *, source: str) -> dict[str, Any]:
    """``doc`` with encrypted secrets in the clear (in memory only)."""
    out = copy.deepcopy(doc)
    encrypted = [p for p in _secret_places(out) if p[0][p[1]].startswith(ENCRYPTED)]
    if not encrypted:
        return doc
    if fernet is None:
        names = ", ".join(name for _s, _f, name in encrypted)
        msg = f"{source}: {names} encrypted; set {SECRET_KEY_ENV} (AD-5)"
        raise ConfigError(msg)
    for section, field, name in encrypted:
        try:
            section[field] = fernet.decrypt(section[field][len(ENCRYPTED) :]).decode()
        except InvalidToken:
            msg = f"{source}: {name} cannot be decrypted with {SECRET_KEY_ENV} (AD-5)"
            raise ConfigError(msg) from None
    return out


def unprotect(path: Path, doc: Any) -> Any:
    """The adapter's loading hook: decrypt secrets, then verify the signature if trusted.

    Returns the document with secrets in the clear; anything but a mapping is returned as it is
    (validation reports it).
    """
    if not isinstance(doc, dict):
        return doc
    doc = decrypt_secrets(doc, fernet_from_env(), source=str(path))
    spec = os.environ.get(TRUST_ENV)
    adapter = doc.get("Adapter")
    if not spec and isinstance(adapter, dict) and isinstance(adapter.get("trustKey"), str):
        spec = adapter["trustKey"]
    if spec:
        verify_document(doc, load_trust_key(spec, base=path.parent), source=str(path))
    return doc
