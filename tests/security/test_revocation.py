"""Finding 7, tokens: removing a user, changing a password or revoking a token ends its access
at once (CL-6, CL-14, APP-5), through the real API and the commands an operator types."""

from __future__ import annotations

import jwt
import pytest
from click.testing import CliRunner

from omdp.cli.security_cmd import token as token_cli
from omdp.cli.security_cmd import user as user_cli
from tests.integration.api.apidata import TestClient
from tests.security.site import PASSWORDS, Site, bearer, cloud_app

pytestmark = pytest.mark.integration


def _cli(site: Site, group: object, *args: str, stdin: str | None = None) -> str:
    result = CliRunner().invoke(
        group,  # type: ignore[arg-type]
        [args[0], "--config", str(site.cloud_yaml), *args[1:]],
        input=stdin,
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    return result.output


def _login(client: TestClient, user: str, password: str | None = None) -> str:
    r = client.post(
        "/oauth/token",
        data={"grant_type": "password", "username": user, "password": password or PASSWORDS[user]},
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["access_token"]
    return token


def test_cl6_removed_user_changed_password_and_revoked_token_are_refused(site: Site) -> None:
    """CL-6, CL-14: after `omdp user passwd`, `omdp user remove` and `omdp token revoke` (of
    an access token, by its jti or its text) the tokens issued before are refused (401) on the
    next request, while a token issued after the new password works; a user removed and added
    again does not bring the old tokens back."""
    with TestClient(cloud_app(site)) as client:
        alice, bob, olga, rita = (_login(client, u) for u in ("alice", "bob", "olga", "rita"))
        for token in (alice, bob, olga, rita):
            assert client.get("/v1/me", headers=bearer(token)).status_code == 200

        _cli(site, user_cli, "passwd", "alice", "--password-stdin", stdin="alice-new-pw\n")
        assert client.get("/v1/me", headers=bearer(alice)).status_code == 401
        fresh = _login(client, "alice", "alice-new-pw")
        assert client.get("/v1/me", headers=bearer(fresh)).status_code == 200

        _cli(site, user_cli, "remove", "bob")
        assert client.get("/v1/me", headers=bearer(bob)).status_code == 401
        site.users.add("bob", PASSWORDS["bob"], role="owner", household="h-two")
        assert client.get("/v1/me", headers=bearer(bob)).status_code == 401

        jti = jwt.decode(olga, options={"verify_signature": False})["jti"]
        _cli(site, token_cli, "revoke", jti)
        assert client.get("/v1/me", headers=bearer(olga)).status_code == 401
        _cli(site, token_cli, "revoke", rita)  # the token's text works as well
        assert client.get("/v1/me", headers=bearer(rita)).status_code == 401
        assert client.get("/v1/me", headers=bearer(fresh)).status_code == 200
