"""Every console route refuses non-administrators. The routes are read from the app itself, so a
route added later is covered without touching this test."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from linkzoom.features import zoom_enabled
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AuditEvent, User
from tests.controller.conftest import NewBrowser, People

CONSOLE = "/controller/admin"
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def _routes(routes: Iterable[BaseRoute], prefix: str = "") -> Iterable[tuple[str, Route]]:
    for route in routes:
        if isinstance(route, Mount):
            yield from _routes(route.routes, prefix + route.path)
        elif isinstance(route, Route):
            yield prefix + route.path, route


def console_requests(app: Starlette, user_id: int) -> list[tuple[str, str]]:
    """(method, path) for every console route, path parameters filled with real-looking values."""

    def fill(match: re.Match[str]) -> str:
        return str(user_id) if match.group(2) == "int" else "x"

    found = []
    for path, route in _routes(app.routes):
        if path == CONSOLE or path.startswith(CONSOLE + "/"):
            for method in sorted(route.methods or ()):
                found.append((method, _PARAM.sub(fill, path)))
    return found


def test_the_enumeration_sees_the_console(app: Starlette) -> None:
    found = console_requests(app, 1)
    methods = {method for method, _ in found}
    assert {"GET", "HEAD", "POST"} <= methods
    paths = {path for _, path in found}
    for page in ("zoom", "users", "audit", "addin"):
        assert f"{CONSOLE}/{page}" in paths
    assert f"{CONSOLE}/users/1/disable" in paths
    assert len(found) >= 20


async def _admin_actions(runtime: Runtime) -> int:
    async with transaction(runtime.sessions) as session:
        count = await session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action != "login.failed")
        )
    return int(count or 0)


async def test_every_console_route_refuses_a_signed_in_user(
    app: Starlette, runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    alice = await new_browser().signed_in("alice")
    assert alice.token  # her own valid CSRF token goes with every POST: the role alone refuses
    before = await _admin_actions(runtime_of)
    for method, path in console_requests(app, people.bob):
        if method == "POST":
            answer = await alice.post(path, {"enabled": "false"})
        else:
            answer = await alice.client.request(method, path)
        assert answer.status_code == 403, (method, path, answer.status_code)
        if method != "HEAD":
            assert answer.headers["content-type"].startswith("text/html"), path
            assert "Not allowed" in answer.text
    assert await _admin_actions(runtime_of) == before
    async with transaction(runtime_of.sessions) as session:
        assert await zoom_enabled(session) is True


async def test_every_console_route_sends_strangers_to_sign_in(
    app: Starlette, people: People, new_browser: NewBrowser
) -> None:
    stranger = new_browser()
    for method, path in console_requests(app, people.bob):
        answer = await stranger.client.request(method, path)
        assert answer.status_code == 303, (method, path)
        assert answer.headers["location"].startswith("/controller/login"), path


async def test_an_administrator_reaches_every_console_page(
    app: Starlette, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    for method, path in console_requests(app, people.bob):
        if method == "GET":
            answer = await root.client.get(path, follow_redirects=True)
            assert answer.status_code == 200, (path, answer.text[:300])


async def test_a_demoted_administrator_loses_the_console_at_once(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    assert (await root.get("/controller/admin/users")).status_code == 200
    async with transaction(runtime_of.sessions) as session:
        user = await session.get(User, people.root)
        assert user is not None
        user.is_admin = False
    assert (await root.get("/controller/admin/users")).status_code == 403
    assert (await root.get("/controller/account")).status_code == 200
