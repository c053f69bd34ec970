"""Finding 6: wrong passwords from elsewhere cannot lock an owner out (CL-14, APP-5).

The token endpoint of the real API, called from many client addresses (an ASGI transport per
address, so that the API sees each caller's address as the network would give it).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from omdp.auth.settings import AuthSettings
from tests.security.site import PASSWORDS, Site, cloud_app

pytestmark = pytest.mark.integration


def _app(site: Site, **auth: Any) -> Any:
    api = site.settings.api.model_copy(update={"auth": AuthSettings(**auth)})
    site.settings = site.settings.model_copy(update={"api": api})
    return cloud_app(site)


async def _login(app: Any, address: str, user: str, password: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
        return await http.post(
            "/oauth/token",
            data={"grant_type": "password", "username": user, "password": password},
        )


def test_cl14_wrong_passwords_from_many_addresses_do_not_lock_the_owner_out(site: Site) -> None:
    """CL-14, APP-5: 20 wrong passwords for alice from 20 addresses do not stop alice logging
    in from her own address; repeated failures from one address are refused (429) for that
    account and address only; one address cannot try password after password (429)."""
    app = _app(site)  # the default limits

    async def main() -> dict[str, Any]:
        out: dict[str, Any] = {}
        wrong = [await _login(app, f"203.0.113.{i}", "alice", "guess") for i in range(20)]
        out["wrong"] = [r.status_code for r in wrong]
        out["owner"] = (await _login(app, "198.51.100.7", "alice", PASSWORDS["alice"])).status_code
        same = [await _login(app, "203.0.113.200", "bob", "guess") for _ in range(8)]
        out["same"] = [r.status_code for r in same]
        out["same_right"] = (
            await _login(app, "203.0.113.200", "bob", PASSWORDS["bob"])
        ).status_code
        out["bob_home"] = (await _login(app, "198.51.100.8", "bob", PASSWORDS["bob"])).status_code
        spray = [await _login(app, "192.0.2.9", f"user{i}", "guess") for i in range(30)]
        out["spray"] = [r.status_code for r in spray]
        out["retry_after"] = spray[-1].headers.get("retry-after")
        return out

    out = asyncio.run(main())
    assert out["wrong"] == [400] * 20
    assert out["owner"] == 200
    assert out["same"][:5] == [400] * 5
    assert 429 in out["same"]
    assert out["same_right"] == 429  # that address is slowed down for bob...
    assert out["bob_home"] == 200  # ...and bob, elsewhere, is not
    assert 429 in out["spray"]
    assert out["retry_after"] is not None


def test_cl14_many_failures_everywhere_slow_logins_down_without_refusing(site: Site) -> None:
    """CL-14: above the global rate of failed logins every attempt is slowed down (OWASP's
    global back-off), yet the right password still gets a token."""
    app = _app(site, login_slowdown_failures_per_minute=10, login_slowdown_s=0.5)

    async def main() -> tuple[list[int], float, int]:
        codes = [
            (await _login(app, f"203.0.113.{i}", "nora", "guess")).status_code for i in range(12)
        ]
        started = time.monotonic()
        right = await _login(app, "198.51.100.9", "nora", PASSWORDS["nora"])
        return codes, time.monotonic() - started, right.status_code

    codes, took, right = asyncio.run(main())
    assert codes == [400] * 12
    assert right == 200
    assert took >= 0.5
