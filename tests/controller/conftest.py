"""The whole app in-process (lifespan entered, no worker) and a cookie-keeping form client."""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
import respx
from argon2 import PasswordHasher
from starlette.applications import Starlette

from linkzoom.app import create_app
from linkzoom.config import Settings
from linkzoom.features import set_zoom_enabled
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import User
from tests.support.clock import FakeClock

PASSWORDS = {"root": "root-password-1", "alice": "alice-password-1", "bob": "bob-password-22"}
_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True, kw_only=True)
class People:
    root: int  # administrator
    alice: int
    bob: int


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Starlette]:
    application = create_app(settings, clock=clock, with_worker=False)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
def runtime_of(app: Starlette) -> Runtime:
    runtime: Runtime = app.state.runtime
    return runtime


@functools.cache
def _cheap_hash(password: str) -> str:
    """Argon2id with the lowest cost, made once per test run: signing in verifies against the
    stored hash's own parameters, so every sign-in in these tests stays fast as well."""
    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1).hash(password)


@pytest.fixture
async def people(runtime_of: Runtime, clock: FakeClock) -> People:
    ids: dict[str, int] = {}
    async with transaction(runtime_of.sessions) as session:
        for name, password in PASSWORDS.items():
            user = User(
                username=name,
                display_name=name.capitalize(),
                email=f"{name}@example.org",
                is_admin=name == "root",
                source="local",
                password_hash=_cheap_hash(password),
                created_at=clock(),
            )
            session.add(user)
            await session.flush()
            ids[name] = user.id
        await set_zoom_enabled(session, True, now=clock())
    return People(**ids)


@pytest.fixture
def zoom() -> Iterator[respx.MockRouter]:
    """Zoom's hosts from the test settings, mocked; any unmocked outside call fails the test."""
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def csrf_token(page: httpx.Response) -> str:
    found = _TOKEN.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return found.group(1)


class Browser:
    """A browser without JavaScript: it keeps cookies and submits forms with their token."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.token = ""

    async def get(self, path: str, params: dict[str, str] | None = None) -> httpx.Response:
        response = await self.client.get(path, params=params)
        if response.status_code == 200 and _TOKEN.search(response.text):
            self.token = csrf_token(response)
        return response

    async def post(
        self, path: str, data: dict[str, str] | None = None, *, token: str | None = None
    ) -> httpx.Response:
        form = {"csrf_token": self.token if token is None else token} | (data or {})
        return await self.client.post(path, data=form)

    async def login(self, username: str, password: str | None = None) -> httpx.Response:
        await self.get("/controller/login")
        return await self.post(
            "/controller/login",
            {"username": username, "password": password or PASSWORDS[username]},
        )

    async def signed_in(self, username: str) -> Browser:
        answer = await self.login(username)
        assert answer.status_code == 303, answer.text
        await self.get(answer.headers["location"])
        return self


NewBrowser = Callable[[], Browser]


def browser_for(app: Starlette, base_url: str) -> Browser:
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=base_url, follow_redirects=False
    )
    return Browser(client)


@pytest.fixture
async def new_browser(app: Starlette, settings: Settings) -> AsyncIterator[NewBrowser]:
    """Each call is an independent browser with its own cookie jar."""
    made: list[Browser] = []

    def new() -> Browser:
        made.append(browser_for(app, settings.public_url))
        return made[-1]

    yield new
    for browser in made:
        await browser.client.aclose()
