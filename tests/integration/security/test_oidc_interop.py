"""Interoperability with an independent OpenID Connect provider (CL-6, CL-14): tokens of the
npm package ``oidc-provider`` work against our API, tokens it did not sign do not."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from tests.integration.security.secapi import secure_api
from tests.support.net import free_port, wait_for_port

from omdp.auth.settings import AuthSettings, OidcIssuerSettings

pytestmark = pytest.mark.integration

OIDC = Path(__file__).resolve().parents[2] / "oidc"
AUDIENCE = "https://omdp.test/api"
SECRET = "a-long-client-secret-for-the-interop-test-0123456789"  # noqa: S105 - test only
URL = "/api/v1/meterReadings"


@pytest.fixture(scope="session")
def oidc_installed() -> Path:
    """tests/oidc with its node_modules (``npm ci`` from the committed lock file)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.skip("node and npm are needed for the oidc-provider interoperability test")
    if not (OIDC / "node_modules" / "oidc-provider").is_dir():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=OIDC,
            check=True,
            timeout=300,
            capture_output=True,
        )
    return Path(node)


@pytest.fixture
def provider(oidc_installed: Path) -> Iterator[str]:
    """oidc-provider on a free port; yields its issuer URL."""
    port = free_port()
    proc = subprocess.Popen(
        [str(oidc_installed), "server.mjs", str(port), AUDIENCE, SECRET],
        cwd=OIDC,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, timeout=20)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _token(issuer: str) -> str:
    with httpx.Client(timeout=10) as client:
        endpoint = client.get(f"{issuer}/.well-known/openid-configuration").json()["token_endpoint"]
        r = client.post(
            endpoint,
            data={
                "grant_type": "client_credentials",
                "client_id": "omdp-test-service",
                "client_secret": SECRET,
                "scope": "readings:read operate",
                "resource": AUDIENCE,
            },
        )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def test_cl6_oidc_provider_tokens_are_accepted_and_forgeries_refused(
    provider: str, tmp_path: Path
) -> None:
    """CL-6, CL-14: a JWT access token of oidc-provider (client credentials, resource
    indicator) reads data; the same claims signed by another key, or altered, are 401."""
    token = _token(provider)
    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == provider
    external = OidcIssuerSettings(issuer=provider, audience=AUDIENCE, refetch_interval_s=0)
    with secure_api(tmp_path, auth=AuthSettings(external=[external])) as sec:
        ok = sec.client.post(URL, json={"pageSize": 1}, headers=sec.bearer(token))
        assert ok.status_code == 200, ok.text

        mine = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        forged = jwt.encode(claims, mine, algorithm="RS256", headers={"kid": header.get("kid")})
        r = sec.client.post(URL, json={"pageSize": 1}, headers=sec.bearer(forged))
        assert r.status_code == 401

        head, _, sig = token.split(".")
        altered = dict(claims, sub="someone-else")
        body2 = base64.urlsafe_b64encode(json.dumps(altered).encode()).rstrip(b"=").decode()
        r = sec.client.post(URL, json={"pageSize": 1}, headers=sec.bearer(f"{head}.{body2}.{sig}"))
        assert r.status_code == 401

        other = OidcIssuerSettings(issuer=provider, audience="https://another.api")
    with secure_api(tmp_path / "b", auth=AuthSettings(external=[other])) as sec:
        r = sec.client.post(URL, json={"pageSize": 1}, headers=sec.bearer(token))
        assert r.status_code == 401  # issued for another audience
