"""The embedded issuer's signing keys (CL-6): ES256 keys on disk and the JWKS that publishes them.

A folder (mode 700) holds one PEM file per key (``{kid}.pem``, mode 600) and ``keyring.json``:
the active key's id and, for each retired key, until when it stays published. ``omdp token
rotate-key`` makes a new active key and keeps the old one in the JWKS until every token it
signed has expired, so that rotation logs nobody out.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from omdp.errors import ConfigError
from omdp.security.files import check_secret, private_dir

ALGORITHM = "ES256"


def write_private(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` readable by its owner only (mode 600), atomically."""
    private_dir(path.parent)
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    tmp.chmod(0o600)
    os.replace(tmp, path)


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key and its id; its repr shows the id only."""

    kid: str
    private: ec.EllipticCurvePrivateKey

    def __repr__(self) -> str:
        """Never the key."""
        return f"SigningKey(kid={self.kid!r})"

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK with ``kid``, ``alg`` and ``use``."""
        jwk: dict[str, Any] = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "alg": ALGORITHM, "use": "sig"}


class Keyring:
    """The keys of one issuer, reloaded from disk when another process rotated them."""

    def __init__(self, folder: Path) -> None:
        """Open the keyring in ``folder``, creating it with a first key when empty."""
        self.folder = folder
        self._lock = threading.Lock()
        self._loaded_at = 0.0
        self._active: SigningKey | None = None
        self._published: dict[str, SigningKey] = {}
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o700)
        if not (folder / "keyring.json").exists():
            self._write_new({})
        self.reload()

    def __repr__(self) -> str:
        """The folder's name only."""
        return f"Keyring({self.folder.name!r})"

    def _write_new(self, retired: dict[str, float]) -> str:
        kid = secrets.token_urlsafe(12)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(self.folder / f"{kid}.pem", pem)
        state = {"active": kid, "retired": retired}
        write_private(self.folder / "keyring.json", json.dumps(state, indent=1).encode())
        return kid

    def _load_key(self, kid: str) -> SigningKey:
        path = self.folder / f"{kid}.pem"
        check_secret(path, "the issuer's signing key")
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            msg = f"{path}: cannot load the signing key: {exc}"
            raise ConfigError(msg) from None
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            msg = f"{path}: not an EC key"
            raise ConfigError(msg)
        return SigningKey(kid, key)

    def reload(self) -> None:
        """Read the keyring again from disk."""
        with self._lock:
            state = json.loads((self.folder / "keyring.json").read_text(encoding="utf-8"))
            now = time.time()
            active = self._load_key(state["active"])
            published = {active.kid: active}
            for kid, until in state["retired"].items():
                if until > now:
                    published[kid] = self._load_key(kid)
            self._active, self._published = active, published
            self._loaded_at = time.monotonic()

    @property
    def active(self) -> SigningKey:
        """The key that signs new tokens."""
        assert self._active is not None  # noqa: S101 - set by __init__
        return self._active

    def find(self, kid: str | None, *, min_reload_s: float = 1.0) -> SigningKey | None:
        """The published key ``kid``; an unknown one reloads the keyring (at most every second)."""
        key = self._published.get(kid) if kid else None
        if key is None and time.monotonic() - self._loaded_at >= min_reload_s:
            self.reload()
            key = self._published.get(kid) if kid else None
        return key

    def jwks(self) -> dict[str, Any]:
        """The JWK Set of every published key."""
        return {"keys": [k.public_jwk() for k in self._published.values()]}

    def rotate(self, *, keep_s: float) -> str:
        """Make a new active key; the old one stays published ``keep_s`` seconds. Returns its id."""
        state = json.loads((self.folder / "keyring.json").read_text(encoding="utf-8"))
        now = time.time()
        retired = {k: u for k, u in state["retired"].items() if u > now}
        retired[state["active"]] = now + keep_s
        for stale in set(state["retired"]) - set(retired):
            (self.folder / f"{stale}.pem").unlink(missing_ok=True)
        kid = self._write_new(retired)
        self.reload()
        return kid
