"""HTTPS on the API and a permanent redirect from plain HTTP (CL-7, APP-5), over real sockets."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.integration.api.apidata import make_settings, seed
from tests.integration.security.secapi import PASSWORDS, accounts
from tests.support.net import free_port, wait_for_port

from omdp.cloud.api.app import create_app
from omdp.cloud.api.security import users_path
from omdp.cloud.storage import open_store
from omdp.security.https import https_servers
from omdp.security.pki import init_ca, issue_server
from omdp.security.settings import HttpsSettings
from omdp.security.users import UserStore

pytestmark = pytest.mark.integration


@pytest.fixture
def https_api(tmp_path: Path) -> Iterator[tuple[int, int, Path]]:
    """The API over HTTPS plus its redirect listener; yields (https port, http port, CA file)."""
    pki = tmp_path / "pki"
    ca = init_ca(pki)
    server = issue_server(pki, ["api.site.test"])
    url = f"sqlite:///{tmp_path / 'cloud.sqlite3'}"
    settings = make_settings(tmp_path, url)
    https_port, http_port = free_port(), free_port()
    settings = settings.model_copy(
        update={
            "http_port": https_port,
            "tls": HttpsSettings(
                cert_file=server.cert, key_file=server.key, redirect_port=http_port
            ),
        }
    )
    store = open_store(url)
    seed(store)
    users = UserStore(users_path(settings))
    accounts(users)
    app = create_app(settings, store)  # installs the issuer; users at tmp_path/users.sqlite3
    main, redirect = https_servers(app, settings)
    assert redirect is not None
    loop = asyncio.new_event_loop()

    async def both() -> None:
        await asyncio.gather(main.serve(), redirect.serve())

    thread = threading.Thread(target=loop.run_until_complete, args=(both(),), daemon=True)
    thread.start()
    try:
        wait_for_port(https_port, timeout=20)
        wait_for_port(http_port, timeout=20)
        yield https_port, http_port, ca.cert
    finally:
        main.should_exit = redirect.should_exit = True
        thread.join(timeout=10)
        loop.close()
        store.close()


def test_cl7_plain_http_is_redirected_permanently(https_api: tuple[int, int, Path]) -> None:
    """CL-7: every plain-HTTP request is answered 308 to the same URL on HTTPS."""
    https_port, http_port, _ = https_api
    with httpx.Client(timeout=5) as client:
        for method in ("GET", "POST", "DELETE"):
            r = client.request(method, f"http://127.0.0.1:{http_port}/api/v1/meterReadings?id=x")
            assert r.status_code == 308
            assert r.headers["location"] == (
                f"https://127.0.0.1:{https_port}/api/v1/meterReadings?id=x"
            )
        evil = client.get(f"http://127.0.0.1:{http_port}/", headers={"Host": "a/b@evil"})
        assert evil.headers["location"] == f"https://localhost:{https_port}/"


def test_cl7_app5_https_with_site_ca_and_login(https_api: tuple[int, int, Path]) -> None:
    """CL-7, APP-5, CL-6: the API answers over HTTPS with a certificate of the site CA
    (hostname checked); a user logs in and reads; an unverified client is refused."""
    https_port, _, ca = https_api
    context = ssl.create_default_context(cafile=str(ca))
    base = f"https://localhost:{https_port}/api"
    with httpx.Client(verify=context, timeout=10) as client:
        r = client.post(
            f"{base}/oauth/token",
            data={"grant_type": "password", "username": "olga", "password": PASSWORDS["olga"]},
        )
        assert r.status_code == 200
        token = r.json()["access_token"]
        q = client.post(
            f"{base}/v1/meterReadings",
            json={"pageSize": 2},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert q.status_code == 200
        ip = client.get(f"https://127.0.0.1:{https_port}/readyz")
        assert ip.status_code == 200  # 127.0.0.1 is in the SANs
    with httpx.Client(timeout=5) as untrusting, pytest.raises(httpx.ConnectError):
        untrusting.get(f"{base}/.well-known/openid-configuration")
