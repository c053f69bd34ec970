"""CL-6, CL-14: the API app is built in one pass from its parts; the edge's query API settings.

``create_app`` builds the authenticator chain and the embedded issuer before the app, so the
app's context holds its final authenticator from the start, and the issuer's routes are there
exactly when the issuer is enabled. A no-cloud edge serves the same API from settings of its
own, validated, never from the cloud's environment.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import ValidationError

from omdp.auth.jwt_auth import JwtAuthenticator
from omdp.auth.principal import ChainAuthenticator, Scope, hash_token
from omdp.auth.settings import ApiTokenGrant, AuthSettings
from omdp.auth.static import StaticTokenAuthenticator
from omdp.cloud.api.app import create_app
from omdp.cloud.api.settings import ApiServerSettings, ApiSettings
from omdp.cloud.storage import ReadingStore, open_store
from omdp.edge.main import query_settings
from omdp.edge.settings import EdgeSettings

TOKEN = "tok-of-an-operator"  # noqa: S105 - no real secret


@pytest.fixture
def store(tmp_path: Path) -> Iterator[ReadingStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'cloud.sqlite3'}")
    yield opened
    opened.close()


def _settings(tmp_path: Path, **auth: object) -> ApiServerSettings:
    grant = ApiTokenGrant(subject="op", scopes=[Scope.OPERATE])
    return ApiServerSettings(
        api=ApiSettings(
            tokens={hash_token(TOKEN): grant},
            credentials_file=tmp_path / "device-credentials.json",
            auth=AuthSettings(**auth),  # type: ignore[arg-type]
        ),
        http_port=8443,
    )


def _discovery(app: FastAPI) -> int:
    async def get() -> int:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            return (await client.get("/.well-known/openid-configuration")).status_code

    return asyncio.run(get())


def test_cl6_cl14_app_holds_its_final_authenticator_and_issuer(
    tmp_path: Path, store: ReadingStore
) -> None:
    app = create_app(_settings(tmp_path), store)
    chain = app.state.ctx.authenticator
    assert isinstance(chain, ChainAuthenticator)
    kinds = [type(a) for a in chain.authenticators]
    assert kinds == [StaticTokenAuthenticator, JwtAuthenticator]
    assert chain.authenticators[1].issuer == app.state.issuer.url == "http://127.0.0.1:8443"
    assert _discovery(app) == 200
    principal = asyncio.run(chain.authenticate(TOKEN))
    assert principal is not None
    assert principal.operator


def test_cl6_without_issuer_nor_static_tokens(tmp_path: Path, store: ReadingStore) -> None:
    app = create_app(_settings(tmp_path, issuer_enabled=False, static_tokens=False), store)
    assert app.state.ctx.authenticator.authenticators == ()
    assert not hasattr(app.state, "issuer")
    assert _discovery(app) == 404
    assert asyncio.run(app.state.ctx.authenticator.authenticate(TOKEN)) is None


def test_cl6_scopes_are_one_type_in_grants() -> None:
    grant = ApiTokenGrant.model_validate({"subject": "s", "scopes": ["readings:read"]})
    assert grant.scopes == [Scope.READ]
    assert grant.model_dump(mode="json")["scopes"] == ["readings:read"]
    with pytest.raises(ValidationError, match="readings:read"):
        ApiTokenGrant.model_validate({"subject": "s", "scopes": ["readings:write"]})


def test_cl6_edge_query_api_settings_come_from_the_edge_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OMDP_CLOUD_HTTP_PORT", "9999")
    monkeypatch.setenv("OMDP_CLOUD_PATH_PREFIX", "/elsewhere")
    edge = EdgeSettings(
        store={"url": f"sqlite:///{tmp_path / 'edge.sqlite3'}"},  # type: ignore[arg-type]
        http_port=8181,
        local=None,
        adapters=[tmp_path / "a.yaml"],
    )
    served = query_settings(edge)
    assert type(served) is ApiServerSettings
    assert (served.http_host, served.http_port, served.path_prefix) == ("127.0.0.1", 8181, "")
    assert served.api is edge.api
