"""Sessions that last: the refresh-token grant of the embedded issuer (APP-5, CL-6).

An open app renews its access token silently; a refresh token is good once (rotation), is never
an access token, and stops working when its user is removed or it expires.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.security.secapi import PASSWORDS, SecureApi, secure_api

from omdp.auth.settings import AuthSettings

pytestmark = pytest.mark.integration

URL = "/api/v1/meterReadings"
TOKEN = "/api/oauth/token"  # noqa: S105 - a path


@pytest.fixture
def sec(tmp_path: Path) -> Iterator[SecureApi]:
    """The API with the issuer; refresh tokens live a minute."""
    auth = AuthSettings(token_rate_per_minute=1000, refresh_ttl_s=60)
    with secure_api(tmp_path, auth=auth) as api:
        yield api


def _password(sec: SecureApi, user: str = "alice") -> dict[str, str]:
    r = sec.client.post(
        TOKEN, data={"grant_type": "password", "username": user, "password": PASSWORDS[user]}
    )
    assert r.status_code == 200, r.text
    answer: dict[str, str] = r.json()
    return answer


def _refresh(sec: SecureApi, token: str) -> tuple[int, dict[str, str]]:
    r = sec.client.post(TOKEN, data={"grant_type": "refresh_token", "refresh_token": token})
    return r.status_code, r.json()


def test_app5_refresh_gives_a_new_working_access_token_and_rotates(sec: SecureApi) -> None:
    """APP-5: the password grant gives a refresh token; trading it gives a new access token
    that reads data, with the same scopes and household, and a new refresh token; the old
    refresh token is refused the second time (rotation)."""
    first = _password(sec)
    assert first["refresh_token"]
    status, second = _refresh(sec, first["refresh_token"])
    assert status == 200, second
    assert second["access_token"] != first["access_token"]
    assert second["refresh_token"] != first["refresh_token"]
    assert second["scope"] == first["scope"]
    r = sec.client.post(URL, json={"pageSize": 5}, headers=sec.bearer(second["access_token"]))
    assert r.status_code == 200, r.text
    assert {c["meterId"] for c in r.json()["content"]} <= {"m-a", "m-b"}  # alice's own
    status, again = _refresh(sec, first["refresh_token"])
    assert status == 400
    assert again["error"] == "invalid_grant"
    assert "used already" in again["error_description"]
    status, third = _refresh(sec, second["refresh_token"])
    assert status == 200, third


def test_app5_a_refresh_token_is_no_access_token(sec: SecureApi) -> None:
    """APP-5, CL-6: a refresh token presented as a bearer token is 401, and an access token
    is no refresh token."""
    answer = _password(sec)
    r = sec.client.post(URL, json={}, headers=sec.bearer(answer["refresh_token"]))
    assert r.status_code == 401
    status, body = _refresh(sec, answer["access_token"])
    assert status == 400
    assert body["error"] == "invalid_grant"


def test_app5_session_ends_when_the_user_is_removed_or_the_token_expires(sec: SecureApi) -> None:
    """APP-5: a removed user's refresh token is refused; so is one past its lifetime."""
    answer = _password(sec, "olga")
    sec.users.remove("olga")
    status, body = _refresh(sec, answer["refresh_token"])
    assert status == 400
    assert body["error_description"] == "the account no longer exists"
    short, _ = sec.issuer.sign(
        subject="alice", scopes=("readings:read",), household="h-one", ttl_s=1, refresh=True
    )
    time.sleep(2.1)
    status, body = _refresh(sec, short)
    assert status == 400
    assert "expired" in body["error_description"]


def test_cl6_client_credentials_get_no_refresh_token(sec: SecureApi) -> None:
    """CL-6: services authenticate again instead: no refresh token for client credentials."""
    r = sec.client.post(
        TOKEN,
        data={
            "grant_type": "client_credentials",
            "client_id": "svc",
            "client_secret": "svc-secret-1",
        },
    )
    assert r.status_code == 200, r.text
    assert "refresh_token" not in r.json()
    doc = sec.client.get("/api/.well-known/openid-configuration").json()
    assert "refresh_token" in doc["grant_types_supported"]
