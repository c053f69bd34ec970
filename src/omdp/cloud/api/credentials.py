"""Device credentials created with adapter configuration files (CL-10, CL-14).

Only a hash of each password is kept, in Mosquitto's password-file format
(``$7$iterations$salt$hash``, PBKDF2-SHA512), so that the broker's password file can be written
from it. The store port has no table for them yet, so they live in a JSON file of their own.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
from pathlib import Path
from typing import Protocol

from omdp.security.keys import write_private

ITERATIONS = 20_000


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """The Mosquitto ``$7$`` hash of ``password``."""
    salt = salt or secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    b64 = base64.b64encode
    return f"$7${ITERATIONS}${b64(salt).decode()}${b64(digest).decode()}"


def check_password(password: str, hashed: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash."""
    try:
        _, seven, iterations, salt, digest = hashed.split("$")
        if seven != "7":
            return False
        mine = hashlib.pbkdf2_hmac(
            "sha512", password.encode(), base64.b64decode(salt), int(iterations)
        )
    except ValueError:
        return False
    return hmac.compare_digest(mine, base64.b64decode(digest))


class CredentialStore(Protocol):
    """Where device password hashes are kept."""

    def put(self, username: str, password_hash: str) -> None:
        """Create or replace the hash of ``username``."""
        ...

    def get(self, username: str) -> str | None:
        """The hash of ``username``, if any."""
        ...

    def remove(self, username: str) -> bool:
        """Forget ``username``; False when it was unknown."""
        ...


class FileCredentialStore:
    """A JSON file ``{username: hash}``, replaced atomically on every change."""

    def __init__(self, path: Path) -> None:
        """Keep the hashes in ``path`` (created on first write)."""
        self.path = path
        self._lock = threading.Lock()

    def _load(self) -> dict[str, str]:
        if not self.path.exists():
            return {}
        data: dict[str, str] = json.loads(self.path.read_text(encoding="utf-8"))
        return data

    def _save(self, data: dict[str, str]) -> None:
        write_private(self.path, json.dumps(data, indent=1, sort_keys=True).encode())

    def put(self, username: str, password_hash: str) -> None:
        """Create or replace the hash of ``username``."""
        with self._lock:
            data = self._load()
            data[username] = password_hash
            self._save(data)

    def get(self, username: str) -> str | None:
        """The hash of ``username``, if any."""
        with self._lock:
            return self._load().get(username)

    def remove(self, username: str) -> bool:
        """Forget ``username``; False when it was unknown."""
        with self._lock:
            data = self._load()
            found = data.pop(username, None) is not None
            if found:
                self._save(data)
            return found
