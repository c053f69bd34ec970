"""The API under attack: tokens, scopes, households, body sizes, SQL injection.

Requirements: CL-6 (token-based access, OAuth 2.0), CL-14 (users authenticated), APP-5
(authorisation by role).
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from pathlib import Path

import jwt
import pytest
from tests.integration.security.secapi import (
    CLIENT_SECRET,
    SecureApi,
    claims_of,
    forged,
    hmac_with_public_key,
    secure_api,
    unsigned,
)

from omdp.auth.settings import AuthSettings

pytestmark = pytest.mark.integration

URL = "/api/v1/meterReadings"


@pytest.fixture(scope="module")
def sec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureApi]:
    """The API with the embedded issuer over a seeded SQLite store (shared by the module)."""
    with secure_api(
        tmp_path_factory.mktemp("sec"), auth=AuthSettings(token_rate_per_minute=1000)
    ) as api:
        yield api


def test_cl6_password_grant_token_reads_data(sec: SecureApi) -> None:
    """CL-6, CL-14, APP-5: a user logs in (password grant) and reads with the token."""
    token = sec.login("olga")
    r = sec.client.post(URL, json={"pageSize": 5}, headers=sec.bearer(token))
    assert r.status_code == 200, r.text
    assert r.json()["content"]


def test_cl6_client_credentials_basic_and_post(sec: SecureApi) -> None:
    """CL-6, CL-14: a service gets a token by client credentials (Basic or form)."""
    basic = base64.b64encode(f"svc:{CLIENT_SECRET}".encode()).decode()
    r1 = sec.client.post(
        "/api/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    r2 = sec.client.post(
        "/api/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": "svc",
            "client_secret": CLIENT_SECRET,
        },
    )
    for r in (r1, r2):
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        assert body["token_type"] == "Bearer"  # noqa: S105 - not a secret
        assert body["scope"] == "operate"
        ok = sec.client.post(URL, json={"pageSize": 1}, headers=sec.bearer(body["access_token"]))
        assert ok.status_code == 200


def test_cl14_wrong_secrets_are_refused(sec: SecureApi) -> None:
    """CL-14: a wrong password is 400 invalid_grant, a wrong client secret 401 invalid_client."""
    r = sec.client.post(
        "/api/oauth/token",
        data={"grant_type": "password", "username": "olga", "password": "nope"},
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_grant")
    r = sec.client.post(
        "/api/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "svc", "client_secret": "x"},
    )
    assert (r.status_code, r.json()["error"]) == (401, "invalid_client")
    r = sec.client.post("/api/oauth/token", json={"grant_type": "password"})
    assert (r.status_code, r.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    "make",
    ["none", "expired", "not_yet", "audience", "issuer", "forged", "alg_none", "hmac_confusion"],
)
def test_cl6_bad_tokens_are_401(sec: SecureApi, make: str) -> None:
    """CL-6, CL-14: no token, an expired or not-yet-valid token, another audience or issuer,
    a forged signature, ``alg: none``, HS256 with the public key: all 401."""
    issuer = sec.issuer
    now = int(time.time())
    sign = issuer.keyring.active

    def signed(**override: object) -> str:
        claims = claims_of(issuer, **override)
        return jwt.encode(claims, sign.private, algorithm="ES256", headers={"kid": sign.kid})

    tokens = {
        "expired": lambda: signed(exp=now - 120, iat=now - 600, nbf=now - 600),
        "not_yet": lambda: signed(nbf=now + 600, exp=now + 900),
        "audience": lambda: signed(aud="another-api"),
        "issuer": lambda: signed(iss="https://evil.example"),
        "forged": lambda: forged(issuer, claims_of(issuer)),
        "alg_none": lambda: unsigned(claims_of(issuer)),
        "hmac_confusion": lambda: hmac_with_public_key(issuer, claims_of(issuer)),
    }
    headers = {} if make == "none" else sec.bearer(tokens[make]())
    r = sec.client.post(URL, json={"pageSize": 1}, headers=headers)
    assert r.status_code == 401, r.text
    # the control: the same claims, properly signed, pass
    good = sec.client.post(URL, json={"pageSize": 1}, headers=sec.bearer(signed()))
    assert good.status_code == 200


def test_app5_valid_token_without_scope_is_403(sec: SecureApi) -> None:
    """APP-5: a researcher (readings:read) may not delete nor write the registry: 403."""
    token = sec.login("rita")
    r = sec.client.delete(URL, params={"id": "r-m-a-000"}, headers=sec.bearer(token))
    assert r.status_code == 403
    assert r.json()["detail"][0]["type"] == "auth.missing_scope"


def test_app5_owner_other_household_is_403(sec: SecureApi) -> None:
    """APP-5, CL-6: an owner (household_id claim h-one) asking for h-two is refused."""
    token = sec.login("alice")
    own = sec.client.post(URL, json={"householdId": "h-one"}, headers=sec.bearer(token))
    assert own.status_code == 200
    other = sec.client.post(URL, json={"householdId": "h-two"}, headers=sec.bearer(token))
    assert other.status_code == 403


def test_cl6_narrowed_scope_and_invalid_scope(sec: SecureApi) -> None:
    """CL-6: a requested scope narrows the token; a scope not granted is invalid_scope."""
    r = sec.client.post(
        "/api/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "alice-pw-1",
            "scope": "readings:read",
        },
    )
    assert r.json()["scope"] == "readings:read"
    r = sec.client.post(
        "/api/oauth/token",
        data={
            "grant_type": "password",
            "username": "alice",
            "password": "alice-pw-1",
            "scope": "operate",
        },
    )
    assert (r.status_code, r.json()["error"]) == (400, "invalid_scope")


def test_cl6_revoked_token_is_401(sec: SecureApi) -> None:
    """CL-6: a token whose jti is on the deny-list is refused on the next request."""
    token, claims = sec.issuer.sign(subject="reader", scopes=("operate",), ttl_s=3600)
    sec.users.record_token(claims["jti"], "reader", ("operate",), None, claims["exp"])
    assert sec.client.post(URL, json={}, headers=sec.bearer(token)).status_code == 200
    assert sec.users.revoke(claims["jti"])
    assert sec.client.post(URL, json={}, headers=sec.bearer(token)).status_code == 401


def test_cl6_key_rotation_keeps_old_tokens_valid(sec: SecureApi) -> None:
    """CL-6: after rotation the old key stays in the JWKS and its tokens stay valid."""
    old = sec.login("olga")
    old_kid = sec.issuer.keyring.active.kid
    sec.issuer.keyring.rotate(keep_s=900)
    new = sec.login("olga")
    kids = {k["kid"] for k in sec.client.get("/api/oauth/jwks").json()["keys"]}
    assert old_kid in kids
    assert len(kids) == 2
    for token in (old, new):
        assert sec.client.post(URL, json={}, headers=sec.bearer(token)).status_code == 200


def test_cl6_discovery_document(sec: SecureApi) -> None:
    """CL-6: the issuer publishes OpenID Connect discovery and its JWKS."""
    doc = sec.client.get("/api/.well-known/openid-configuration").json()
    assert doc["issuer"] == sec.issuer.url
    assert doc["token_endpoint"].endswith("/api/oauth/token")
    keys = sec.client.get("/api/oauth/jwks").json()["keys"]
    assert all("d" not in k for k in keys)  # never the private part


def test_app5_token_endpoint_rate_limited(tmp_path: Path) -> None:
    """APP-5: guessing passwords is throttled: 429 with Retry-After past the limit."""
    with secure_api(tmp_path, auth=AuthSettings(token_rate_per_minute=3)) as sec:
        codes = [
            sec.client.post(
                "/api/oauth/token",
                data={"grant_type": "password", "username": "olga", "password": "guess"},
            ).status_code
            for _ in range(5)
        ]
    assert codes[:3] == [400, 400, 400]
    assert codes[3:] == [429, 429]


def test_app5_oversized_body_is_413(tmp_path: Path) -> None:
    """APP-5: a request body above the configured limit is refused with 413."""
    with secure_api(tmp_path, auth=AuthSettings(max_body_bytes=4096)) as sec:
        token = sec.login("olga")
        big = {"operationalProperties": [{"specificPropertyName": "x" * 100}] * 100}
        r = sec.client.post(URL, json=big, headers=sec.bearer(token))
        assert r.status_code == 413
        assert r.json()["detail"][0]["type"] == "request.too_large"

        def chunks() -> Iterator[bytes]:
            for _ in range(10):
                yield b" " * 1000

        r = sec.client.post(
            URL, content=chunks(), headers={**sec.bearer(token), "Content-Type": "application/json"}
        )
        assert r.status_code == 413


INJECTION = "'; DROP TABLE readings; --"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_app5_sql_injection_is_data(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str
) -> None:
    """APP-5: filter values crafted as SQL injection are treated as data (422 or empty result),
    and the tables are intact afterwards."""
    url = None if backend == "sqlite" else request.getfixturevalue("postgres_url")
    with secure_api(tmp_path, url) as sec:
        token = sec.login("olga")
        h = sec.bearer(token)
        before = sec.client.post(URL, json={"pageSize": 1}, headers=h).json()["totalRows"]
        bodies = [
            {"operationalProperties": [{"specificPropertyName": INJECTION}]},
            {
                "operationalProperties": [
                    {"specificPropertyName": "SITE_status", "textValueEqualTo": INJECTION}
                ]
            },
            {
                "operationalProperties": [
                    {
                        "specificPropertyName": f"SITE_status{INJECTION}",
                        "textValueEqualTo": INJECTION,
                    }
                ]
            },
        ]
        for body in bodies:
            r = sec.client.post(URL, json=body, headers=h)
            assert r.status_code in (200, 422), r.text
            if r.status_code == 200:
                assert r.json()["totalRows"] == 0
        after = sec.client.post(URL, json={"pageSize": 1}, headers=h).json()["totalRows"]
        assert after == before > 0
