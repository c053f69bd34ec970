"""Helpers of the security tests: the API with its token issuer, accounts and forged tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from tests.integration.api.apidata import TestClient, make_settings, seed

from omdp.cloud.api.app import create_app
from omdp.cloud.api.security import users_path
from omdp.cloud.settings import CloudSettings
from omdp.cloud.storage import open_store
from omdp.cloud.storage.port import ReadingStore
from omdp.security.issuer import Issuer
from omdp.security.users import UserStore

PASSWORDS = {"alice": "alice-pw-1", "rita": "rita-pw-1", "olga": "olga-pw-1"}
CLIENT_SECRET = "svc-secret-1"  # noqa: S105 - a test secret


@dataclass
class SecureApi:
    """The API with the embedded issuer, over a seeded store."""

    client: TestClient
    store: ReadingStore
    settings: CloudSettings
    issuer: Issuer
    users: UserStore

    def login(self, username: str, password: str | None = None) -> str:
        """A token of the password grant."""
        r = self.client.post(
            "/api/oauth/token",
            data={
                "grant_type": "password",
                "username": username,
                "password": password or PASSWORDS[username],
            },
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token

    @staticmethod
    def bearer(token: str) -> dict[str, str]:
        """Headers of a caller."""
        return {"Authorization": f"Bearer {token}"}


def accounts(users: UserStore) -> None:
    """alice: owner of h-one; rita: researcher; olga: operator; svc: an operator service."""
    users.add("alice", PASSWORDS["alice"], role="owner", household="h-one")
    users.add("rita", PASSWORDS["rita"], role="researcher", household=None)
    users.add("olga", PASSWORDS["olga"], role="operator", household=None)
    users.add("svc", CLIENT_SECRET, role="operator", kind="client", household=None)


@contextmanager
def secure_api(tmp_path: Path, url: str | None = None, **api: Any) -> Iterator[SecureApi]:
    """The API over a seeded store with the issuer and the accounts of :func:`accounts`."""
    url = url or f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    settings = make_settings(tmp_path, url, **api)
    store = open_store(url)
    seed(store)
    users = UserStore(users_path(settings))
    accounts(users)
    app = create_app(settings, store)  # installs the issuer; users at tmp_path/users.sqlite3
    try:
        with TestClient(app) as client:
            yield SecureApi(client, store, settings, app.state.issuer, users)
    finally:
        store.close()


def b64(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(claims: dict[str, Any]) -> str:
    """A token with ``alg: none``."""
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    return f"{header}.{b64(json.dumps(claims).encode())}."


def hmac_with_public_key(issuer: Issuer, claims: dict[str, Any]) -> str:
    """A token MACed (HS256) with the issuer's public key as the secret: key confusion."""
    public = issuer.keyring.active.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64(
        json.dumps({"alg": "HS256", "typ": "JWT", "kid": issuer.keyring.active.kid}).encode()
    )
    body = b64(json.dumps(claims).encode())
    mac = hmac.new(public, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


def forged(issuer: Issuer, claims: dict[str, Any]) -> str:
    """A token signed with a key of our own under the issuer's kid."""
    mine = ec.generate_private_key(ec.SECP256R1())
    return jwt.encode(claims, mine, algorithm="ES256", headers={"kid": issuer.keyring.active.kid})


def claims_of(issuer: Issuer, **override: Any) -> dict[str, Any]:
    """Valid claims of an operator, with overrides."""
    now = int(time.time())
    claims = {
        "iss": issuer.url,
        "sub": "mallory",
        "aud": issuer.audience,
        "iat": now,
        "nbf": now,
        "exp": now + 300,
        "scope": "operate readings:read",
    }
    claims.update(override)
    return claims
