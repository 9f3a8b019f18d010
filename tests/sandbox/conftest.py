"""Fixtures: a sandbox app per test and an in-process client that talks to it from loopback."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from linkzoom.sandbox import SandboxConfig, create_sandbox_app
from linkzoom.sandbox.runtime import Sandbox

from .helpers import BASE_URL, CLIENT_ID, CLIENT_SECRET, WEBHOOK_SECRET

AppFactory = Callable[..., Starlette]


@pytest.fixture
async def make_app() -> AsyncIterator[AppFactory]:
    """Build sandbox apps (config overrides as keywords); each is closed after the test."""
    apps: list[Starlette] = []

    def factory(transport: httpx.AsyncBaseTransport | None = None, **overrides: Any) -> Starlette:
        base = SandboxConfig(
            client_id=CLIENT_ID, client_secret=CLIENT_SECRET, webhook_secret=WEBHOOK_SECRET
        )
        config = dataclasses.replace(base, **overrides)
        app = create_sandbox_app(config, webhook_transport=transport)
        apps.append(app)
        return app

    yield factory
    for app in apps:
        await sandbox_of(app).aclose()


def sandbox_of(app: Starlette) -> Sandbox:
    sandbox: Sandbox = app.state.sandbox
    return sandbox


def client_for(app: Starlette, host: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(host, 50123))
    return httpx.AsyncClient(transport=transport, base_url=BASE_URL)


@pytest.fixture
async def app(make_app: AppFactory) -> Starlette:
    return make_app()


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(app) as http:
        yield http
