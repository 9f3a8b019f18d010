"""Controller sessions: cookie attributes, idle and absolute timeouts, revocation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from sqlalchemy import select
from starlette.applications import Starlette

from linkzoom.app import create_app
from linkzoom.config import Settings
from linkzoom.controller.sessions import POLICY
from linkzoom.identity import device_sessions
from linkzoom.identity.sessions import digest
from linkzoom.identity.users import add_local
from linkzoom.runtime import Runtime
from linkzoom.store.controller_tables import ControllerSession
from linkzoom.store.db import transaction
from linkzoom.store.models import User
from tests.controller.conftest import Browser, NewBrowser, People, browser_for
from tests.support.clock import FakeClock


def _set_cookies(response_headers: list[str], name: str) -> str:
    found = [h for h in response_headers if h.startswith(name + "=")]
    assert found, response_headers
    return found[0]


async def test_cookies_are_httponly_lax_and_not_secure_over_http(
    people: People, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    page = await browser.get("/controller/login")
    login_cookie = _set_cookies(page.headers.get_list("set-cookie"), "lz_login")
    answer = await browser.login("alice")
    cookie = _set_cookies(answer.headers.get_list("set-cookie"), "lz_session")
    for header in (login_cookie, cookie):
        attributes = {part.strip().lower() for part in header.split(";")[1:]}
        assert {"httponly", "samesite=lax", "path=/"} <= attributes
        assert "secure" not in attributes
    # The pre-session cookie is spent at sign-in.
    assert 'lz_login=""' in " ".join(answer.headers.get_list("set-cookie"))


@asynccontextmanager
async def alice_on(settings: Settings, clock: FakeClock) -> AsyncIterator[Browser]:
    """A service of its own with these settings, and a browser for alice (not yet signed in)."""
    app = create_app(settings, clock=clock, with_worker=False)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        async with transaction(runtime.sessions) as session:
            await add_local(session, username="alice", password="alice-password-1", now=clock())
        browser = browser_for(app, settings.public_url)
        try:
            yield browser
        finally:
            await browser.client.aclose()


async def test_cookies_are_secure_and_host_bound_over_https(
    settings: Settings, clock: FakeClock
) -> None:
    secure = settings.replace(public_url="https://linkzoom.test")
    async with alice_on(secure, clock) as browser:
        answer = await browser.login("alice", "alice-password-1")
        assert answer.status_code == 303
        cookie = _set_cookies(answer.headers.get_list("set-cookie"), "__Host-lz_session")
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert {"httponly", "samesite=lax", "secure", "path=/"} <= attributes
        assert "domain" not in cookie.lower()
        assert (await browser.get("/controller/account")).status_code == 200


async def test_the_database_holds_only_a_digest_of_the_cookie(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    await browser.login("alice")
    token = browser.client.cookies["lz_session"]
    async with transaction(runtime_of.sessions) as session:
        rows = list(await session.scalars(select(ControllerSession)))
    assert [row.token_hash for row in rows] == [digest(token)]
    assert all(token not in repr(vars(row)) for row in rows)


async def _expect_sign_in(browser: Browser, path: str = "/controller/account") -> None:
    answer = await browser.get(path)
    assert answer.status_code == 303, answer.status_code
    assert answer.headers["location"].startswith("/controller/login?next=")
    assert "notice=session-ended" in answer.headers["location"]


async def test_idle_sessions_end(clock: FakeClock, people: People, new_browser: NewBrowser) -> None:
    browser = await new_browser().signed_in("alice")
    token = browser.client.cookies["lz_session"]
    clock.advance(minutes=29)
    assert (await browser.get("/controller/account")).status_code == 200
    assert POLICY.idle is not None
    clock.advance(seconds=POLICY.idle.total_seconds())
    await _expect_sign_in(browser)
    assert "lz_session" not in browser.client.cookies  # the dead cookie is cleared
    clock.advance(minutes=-45)  # neither the old cookie nor a clock set back revives it
    browser.client.cookies.set("lz_session", token)
    await _expect_sign_in(browser)


async def test_use_keeps_a_session_alive_until_its_absolute_deadline(
    clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    browser = await new_browser().signed_in("alice")
    elapsed = timedelta(0)
    while elapsed + timedelta(minutes=25) < POLICY.absolute:
        clock.advance(minutes=25)
        elapsed += timedelta(minutes=25)
        assert (await browser.get("/controller/account")).status_code == 200, elapsed
    clock.advance(seconds=(POLICY.absolute - elapsed).total_seconds())
    await _expect_sign_in(browser)


async def test_the_administrator_sets_the_lifetimes(settings: Settings, clock: FakeClock) -> None:
    short = settings.replace(controller_idle_minutes=5, controller_session_hours=1)
    async with alice_on(short, clock) as browser:
        assert (await browser.login("alice", "alice-password-1")).status_code == 303
        for _ in range(14):  # used every 4 minutes: alive until the hour is up
            clock.advance(minutes=4)
            assert (await browser.get("/controller/account")).status_code == 200
        clock.advance(minutes=4)
        await _expect_sign_in(browser)
        assert (await browser.login("alice", "alice-password-1")).status_code == 303
        clock.advance(minutes=5)  # idle for the set five minutes
        await _expect_sign_in(browser)


async def test_sign_out_ends_the_session_for_a_copied_cookie_too(
    people: People, new_browser: NewBrowser
) -> None:
    browser = await new_browser().signed_in("alice")
    copied = new_browser()
    copied.client.cookies.set("lz_session", browser.client.cookies["lz_session"])
    assert (await copied.get("/controller/account")).status_code == 200
    answer = await browser.post("/controller/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/controller/login?notice=signed-out"
    await _expect_sign_in(copied)
    assert (await browser.get("/controller/account")).status_code == 303


async def test_a_fresh_session_on_every_sign_in(people: People, new_browser: NewBrowser) -> None:
    browser = await new_browser().signed_in("alice")
    first = browser.client.cookies["lz_session"]
    browser.client.cookies.clear()
    await browser.login("alice")
    assert browser.client.cookies["lz_session"] != first


async def test_disabling_a_user_ends_their_sessions_and_devices(
    app: Starlette, runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    alice = await new_browser().signed_in("alice")
    async with transaction(runtime_of.sessions) as session:
        user = await session.get(User, people.alice)
        assert user is not None
        await device_sessions.issue(
            session,
            user=user,
            device_name="Outlook",
            lifetime=timedelta(days=30),
            now=clock(),
            address=None,
        )
    root = await new_browser().signed_in("root")
    await root.get(f"/controller/admin/users/{people.alice}/disable")
    answer = await root.post(f"/controller/admin/users/{people.alice}/disable")
    assert answer.headers["location"] == "/controller/admin/users?notice=user-disabled"
    await _expect_sign_in(alice)
    refused = await alice.login("alice")
    assert refused.status_code == 401
    async with transaction(runtime_of.sessions) as session:
        rows = await device_sessions.for_user(session, user_id=people.alice, now=clock())
    assert rows == []
