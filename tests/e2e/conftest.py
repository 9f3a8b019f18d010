"""The service and the Zoom sandbox as separate processes over loopback, on both databases."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import secrets
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from linkzoom.features import set_zoom_enabled
from linkzoom.identity import passwords, users
from linkzoom.identity.users import add_local
from linkzoom.store.db import create_engine, session_factory, transaction
from tests.support.consent_http import link_zoom
from tests.support.databases import PostgresTemplates, SqliteTemplates, backends
from tests.support.keys import new_keyring
from tests.support.processes import Process, free_port, linkzoom_command, python_env

PASSWORDS = {"alice": "alice-password-1", "bob": "bob-password-22", "carol": "carol-password-333"}
NEW_USER_PASSWORD = "new-user-password-4444"
_new_users = itertools.count(1)


@dataclass
class Deployment:
    tmp: Path
    database_url: str
    env: dict[str, str]
    service_url: str
    sandbox_url: str
    client_secret: str
    webhook_secret: str
    sandbox: Process
    services: list[Process] = field(default_factory=list)
    clients: list[httpx.Client] = field(default_factory=list)
    passwords: dict[str, str] = field(default_factory=lambda: dict(PASSWORDS))

    def new_user(self, stem: str) -> str:
        """A local user no other test has seen (``alice-3``), for a test on a shared
        deployment: what it links, grants and audits is its own."""
        name = f"{stem}-{next(_new_users)}"
        asyncio.run(_add_user(self.database_url, name, NEW_USER_PASSWORD))
        self.passwords[name] = NEW_USER_PASSWORD
        return name

    def cli(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            linkzoom_command(*args),
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def start_service(self, port: int | None = None, *, wait: bool = True) -> str:
        port = port or free_port()
        url = f"http://127.0.0.1:{port}"
        process = Process(
            name=f"linkzoom-{port}",
            args=linkzoom_command("run", "--port", str(port)),
            env=self.env,
            log_path=self.tmp / f"service-{port}.log",
            ready_url=url + "/readyz",
        ).start(wait=wait)
        self.services.append(process)
        return url

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.sandbox_url}/_sandbox{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def logs(self) -> str:
        return "".join(p.output() for p in [*self.services, self.sandbox])

    def login(self, username: str, base_url: str | None = None) -> httpx.Client:
        base = base_url or self.service_url
        response = httpx.post(
            f"{base}/api/v1/sessions",
            json={"username": username, "password": self.passwords[username], "device_name": "e2e"},
        )
        assert response.status_code == 201, response.text
        token = response.json()["token"]
        client = httpx.Client(
            base_url=base, headers={"authorization": f"Bearer {token}"}, timeout=20
        )
        self.clients.append(client)
        return client

    def link_zoom(self, api: httpx.Client, email: str) -> httpx.Response:
        """Walk the consent flow as the add-in dialog's browser would."""
        return link_zoom(api, email)


@functools.cache
def _hash_once(password: str) -> str:
    return passwords.hash_password(password)


async def _seed(database_url: str) -> None:
    """Users and the feature switch, written directly: faster than one CLI process each (the
    CLI itself is tested in tests/e2e/test_cli.py). Each password is hashed once per run, not
    once per deployment (Argon2 costs a tenth of a second by design)."""
    async with _seeding(database_url) as engine:
        await _write_seed(engine, datetime.now(UTC))


async def _add_user(database_url: str, name: str, password: str) -> None:
    async with (
        _seeding(database_url) as engine,
        transaction(session_factory(engine)) as session,
    ):
        await add_local(
            session, username=name, password=password, now=datetime.now(UTC),
            email=f"{name}@example.org",
        )  # fmt: skip


@contextlib.asynccontextmanager
async def _seeding(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the deployment's database, with each password hashed once per run."""
    engine = create_engine(database_url, pool_size=1)
    try:
        with mock.patch.object(users, "hash_password", _hash_once):
            yield engine
    finally:
        await engine.dispose()


async def _write_seed(engine: AsyncEngine, now: datetime) -> None:
    async with transaction(session_factory(engine)) as session:
        for name, password in PASSWORDS.items():
            await add_local(
                session, username=name, password=password, now=now, email=f"{name}@example.org"
            )
        await set_zoom_enabled(session, True, now=now)


@pytest.fixture
def deployment_env() -> dict[str, str]:
    """Extra environment for every process of the deployment; a test module overrides it."""
    return {}


@pytest.fixture
def deployment(
    database_url: str, tmp_path: Path, deployment_env: dict[str, str]
) -> Iterator[Deployment]:
    """A deployment of the test's own: for a test that changes what every user shares (the
    feature switch, app settings, the processes themselves) or counts everything there is."""
    with deploy(database_url, tmp_path, deployment_env) as deployment:
        yield deployment


class SharedDeployments:
    """At most one running deployment per database for a whole test session (per xdist
    worker), started when a test first asks for it."""

    def __init__(
        self,
        tmp_path_factory: pytest.TempPathFactory,
        sqlite_templates: SqliteTemplates,
        postgres_templates: PostgresTemplates | None,
    ) -> None:
        self._tmp = tmp_path_factory
        self._sqlite = sqlite_templates
        self._postgres = postgres_templates
        self._running: dict[str, Deployment] = {}
        self._stack = contextlib.ExitStack()

    def of(self, backend: str) -> Deployment:
        if backend not in self._running:
            if backend == "sqlite":
                url = self._sqlite.fresh(self._tmp.mktemp("shared-db"))
            else:
                assert self._postgres is not None
                url = self._postgres.fresh()
                self._stack.callback(self._postgres.drop, url)  # after the processes stop
            tmp = self._tmp.mktemp("shared-deployment")
            self._running[backend] = self._stack.enter_context(deploy(url, tmp, {}))
        return self._running[backend]

    def close(self) -> None:
        self._stack.close()


@pytest.fixture(scope="session")
def shared_deployments(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_templates: SqliteTemplates,
    postgres_templates: PostgresTemplates | None,
) -> Iterator[SharedDeployments]:
    shared = SharedDeployments(tmp_path_factory, sqlite_templates, postgres_templates)
    yield shared
    shared.close()


@pytest.fixture(params=backends())
def shared_deployment(
    request: pytest.FixtureRequest, shared_deployments: SharedDeployments
) -> Iterator[Deployment]:
    """One deployment per database for every test that asks for this one, in whichever
    module (starting one costs seconds): for tests that use users of their own
    (:meth:`Deployment.new_user`), change nothing all users share, and count only their own
    rows, sandbox accounts and deliveries, or the change they made to a counter (tests on one
    deployment run one at a time). Fault rules a failed test left behind are cleared before
    the next test."""
    deployment = shared_deployments.of(request.param)
    deployment.control("DELETE", "/faults")
    yield deployment
    for client in deployment.clients:
        client.close()
    deployment.clients.clear()
    deployment.control("DELETE", "/faults")
    print(deployment.logs()[-20000:])  # shown when this test failed


@contextlib.contextmanager
def deploy(
    database_url: str, tmp_path: Path, deployment_env: dict[str, str]
) -> Iterator[Deployment]:
    service_port, sandbox_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    client_secret, webhook_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    env = python_env(
        {
            "LINKZOOM_DATABASE_URL": database_url,
            "LINKZOOM_PUBLIC_URL": service_url,
            "LINKZOOM_VAR_DIR": str(tmp_path / "var"),
            "LINKZOOM_KEYS": new_keyring(),
            "LINKZOOM_ZOOM_CLIENT_ID": "e2e-client",
            "LINKZOOM_ZOOM_CLIENT_SECRET": client_secret,
            "LINKZOOM_ZOOM_WEBHOOK_SECRET": webhook_secret,
            "LINKZOOM_ZOOM_OAUTH_URL": sandbox_url,
            "LINKZOOM_ZOOM_API_URL": sandbox_url + "/v2",
            "LINKZOOM_SANDBOX_WEBHOOK_URL": service_url + "/webhooks/zoom",
            # Debug logging on purpose: the leak test must hold even at the chattiest level.
            "LINKZOOM_LOG_LEVEL": "DEBUG",
            "LINKZOOM_WORKER_INTERVAL_SECONDS": "2",
        }
        | deployment_env
    )
    sandbox = Process(
        name="sandbox",
        args=linkzoom_command("sandbox", "--port", str(sandbox_port)),
        env=env,
        log_path=tmp_path / "sandbox.log",
        ready_url=sandbox_url + "/_sandbox/stats",
    )
    deployment = Deployment(
        tmp=tmp_path,
        database_url=database_url,
        env=env,
        service_url=service_url,
        sandbox_url=sandbox_url,
        client_secret=client_secret,
        webhook_secret=webhook_secret,
        sandbox=sandbox,
    )
    asyncio.run(_seed(database_url))
    # Both processes boot at once; each start is mostly interpreter and import time.
    sandbox.start(wait=False)
    try:
        deployment.start_service(service_port, wait=False)
        sandbox.wait_ready(30)
        deployment.services[0].wait_ready(30)
        yield deployment
    finally:
        for client in deployment.clients:
            client.close()
        for process in deployment.services:
            process.stop()
        sandbox.stop()
        print(deployment.logs()[-20000:])
