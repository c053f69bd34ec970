"""Sessions that last, and end clearly (APP-5).

Finding 3: an open Live page turned into the login form after 15 minutes. Here access tokens
live 30 s: the page renews its own with the refresh token and keeps working; when the session
really ends (its refresh token used up elsewhere), it says so, and after the next login the app
is back on the view it showed.
"""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import OpenPage, goto, shot
from tests.e2e.stack import ACCESS_TTL_S, PASSWORD, USER, Stack

pytestmark = pytest.mark.e2e

RENEW = """() => import(
  document.querySelector("script[type=module]").src.replace("main.js", "api.js")
).then((api) => api.renew()).catch(() => {})"""


def _password_login(page: Page) -> None:
    page.get_by_label("Username").fill(USER)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.locator(".topbar").wait_for(state="visible")


def _session(page: Page) -> dict[str, object]:
    doc: dict[str, object] = page.evaluate(
        "() => JSON.parse(sessionStorage.getItem('omdp.session'))"
    )
    return doc


def test_app5_an_open_page_outlives_its_access_tokens_and_a_real_end_is_explained(
    open_page: OpenPage, platform: Stack
) -> None:
    """APP-5 (finding 3): logged in by password, an open page keeps working past several
    access-token lifetimes (renewed silently: new tokens, no login form); when the session
    ends for real, the login says so and brings the user back to the same view."""
    page = open_page(token=None)
    _password_login(page)
    first = _session(page)
    assert first["refreshToken"]
    goto(page, "#/history?kind=energy&span=week&interval=day")
    page.wait_for_timeout((2 * ACCESS_TTL_S + 5) * 1000)  # two lifetimes of an access token
    expect(page.locator(".topbar")).to_be_visible()
    later = _session(page)
    assert later["token"] != first["token"]
    assert later["refreshToken"] != first["refreshToken"]
    page.get_by_role("link", name="Costs").click()  # every call still answered
    expect(
        page.get_by_test_id("cost-so-far").or_(page.get_by_test_id("costs-no-tariff"))
    ).to_be_visible()
    goto(page, "#/history?kind=energy&span=month&interval=day")
    where = page.evaluate("() => location.hash")

    # the refresh token is used up elsewhere (as after a theft, or a revocation): the next
    # renewal is refused and the session is over
    token_url = f"http://127.0.0.1:{platform.cloud_port}/oauth/token"
    used = httpx.post(
        token_url,
        data={"grant_type": "refresh_token", "refresh_token": _session(page)["refreshToken"]},
        timeout=10,
    )
    assert used.status_code == 200
    page.evaluate(RENEW)
    ended = page.get_by_test_id("session-ended")
    expect(ended).to_contain_text("Your session has ended")
    expect(ended).to_contain_text("Log in again")
    shot(page, "session-ended-desktop")
    _password_login(page)
    expect(page.locator("#view h1")).to_have_text("History")
    assert page.evaluate("() => location.hash") == where
