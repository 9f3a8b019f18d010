"""Sign-in: where people land, the throttle, and messages that reveal nothing."""

from __future__ import annotations

import re

from sqlalchemy import select

from linkzoom.controller.auth_routes import FAILED
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AuditEvent
from tests.controller.conftest import NewBrowser, People
from tests.support.clock import FakeClock


async def test_people_land_where_they_belong(people: People, new_browser: NewBrowser) -> None:
    user = await new_browser().login("alice")
    assert user.headers["location"] == "/controller/account"
    admin = new_browser()
    answer = await admin.login("root")
    assert answer.headers["location"] == "/controller/admin/zoom"
    # Signed in, the sign-in page and the controller root send you on.
    assert (await admin.get("/controller/login")).headers["location"] == "/controller/admin/zoom"
    assert (await admin.get("/controller")).headers["location"] == "/controller/admin/zoom"
    assert (await new_browser().get("/controller")).headers["location"] == "/controller/login"


async def test_a_sign_in_link_returns_to_its_page_but_never_off_site(
    people: People, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    bounced = await browser.get("/controller/admin/users?q=bo")
    assert (
        bounced.headers["location"]
        == "/controller/login?next=%2Fcontroller%2Fadmin%2Fusers%3Fq%3Dbo"
    )
    page = await browser.get(bounced.headers["location"])
    assert 'name="next" value="/controller/admin/users?q=bo"' in page.text
    mistyped = await browser.post(
        "/controller/login",
        {"username": "root", "password": "typo", "next": "/controller/admin/users?q=bo"},
    )
    assert 'name="next" value="/controller/admin/users?q=bo"' in mistyped.text
    answer = await browser.post(
        "/controller/login",
        {"username": "root", "password": "root-password-1", "next": "/controller/admin/users?q=bo"},
    )
    assert answer.headers["location"] == "/controller/admin/users?q=bo"
    evil = new_browser()
    await evil.get("/controller/login")
    answer = await evil.post(
        "/controller/login",
        {"username": "root", "password": "root-password-1", "next": "//evil.example/"},
    )
    assert answer.headers["location"] == "/controller/admin/zoom"


def _message(html: str) -> str:
    found = re.search(r'<p class="notice notice-error" role="alert"[^>]*>(.*?)</p>', html)
    assert found, html
    return found.group(1)


async def test_failure_reveals_nothing_about_who_exists(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    await browser.get("/controller/login")
    wrong_password = await browser.post("/controller/login", {"username": "alice", "password": "x"})
    unknown_user = await browser.post("/controller/login", {"username": "nobody", "password": "x"})
    for answer in (wrong_password, unknown_user):
        assert answer.status_code == 401
        assert _message(answer.text) == FAILED
    # Apart from echoing the name typed, the two pages are the same.
    assert wrong_password.text.replace("alice", "X") == unknown_user.text.replace("nobody", "X")
    async with transaction(runtime_of.sessions) as session:
        failures = list(
            await session.scalars(select(AuditEvent).where(AuditEvent.action == "login.failed"))
        )
    assert [(f.actor, f.address) for f in failures] == [
        ("alice", "127.0.0.1"),
        ("nobody", "127.0.0.1"),
    ]


async def test_throttled_after_repeated_failures(
    clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    browser = new_browser()
    await browser.get("/controller/login")
    for _ in range(5):
        answer = await browser.post("/controller/login", {"username": "bob", "password": "nope"})
        assert answer.status_code == 401
    blocked = await browser.post(
        "/controller/login", {"username": "bob", "password": "bob-password-22"}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert "Too many failed sign-in attempts" in _message(blocked.text)
    assert "lz_session" not in browser.client.cookies
    # The same answer for a name that does not exist, once it has failed as often.
    for _ in range(5):
        await browser.post("/controller/login", {"username": "ghost", "password": "nope"})
    ghost = await browser.post("/controller/login", {"username": "ghost", "password": "x"})
    assert ghost.status_code == 429
    clock.advance(seconds=31)
    allowed = await browser.post(
        "/controller/login", {"username": "bob", "password": "bob-password-22"}
    )
    assert allowed.status_code == 303
