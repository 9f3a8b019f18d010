"""A calendar deployment shared by a test module: the service, the sandbox and linked users.

Starting processes and walking the consent flow is the slow part of an end-to-end test, so the
calendar tests share one deployment per module and database, each test using its own event keys.
Deployments for the chaos test and the benchmark add worker processes (``linkzoom worker``).
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from linkzoom.store.db import driver_url
from tests.e2e.conftest import Deployment, _seed
from tests.support.databases import PostgresTemplates, SqliteTemplates
from tests.support.keys import new_keyring
from tests.support.processes import Process, free_port, linkzoom_command, python_env
from tests.zoom.spec import validate_request_body

PATH = "/api/v1/calendar/events/{key}/zoom"


@dataclass
class CalendarDeployment:
    deployment: Deployment
    alice: httpx.Client
    bob: httpx.Client
    carol: httpx.Client  # signed in, never linked to Zoom
    workers: list[Process] = field(default_factory=list)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.deployment.control(method, path, **kwargs)

    def meetings(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", "/meetings")["meetings"]
        return [m for m in found if not m["deleted"]]

    def meeting(self, meeting_id: int) -> dict[str, Any]:
        (found,) = [m for m in self.meetings() if m["id"] == meeting_id]
        return found

    def restart_worker(self, index: int, name: str) -> None:
        self.workers[index] = self.start_worker(name)
        self.workers.pop()  # start_worker appended it; it belongs at ``index``

    def start_worker(self, name: str) -> Process:
        deployment = self.deployment
        worker = Process(
            name=name,
            args=linkzoom_command("worker"),
            env=deployment.env,
            log_path=deployment.tmp / f"{name}.log",
        ).start()
        self.workers.append(worker)
        return worker


def path(key: str) -> str:
    return PATH.format(key=key)


def wait_until(check: Callable[[], bool], *, timeout: float = 20.0, what: str = "it") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def wait_status(api: httpx.Client, key: str, status: str, timeout: float = 20.0) -> dict[str, Any]:
    last: dict[str, Any] = {}

    def reached() -> bool:
        nonlocal last
        answer = api.get(path(key))
        last = answer.json()
        return answer.status_code == 200 and last.get("status") == status

    try:
        wait_until(reached, timeout=timeout, what=f"{key} to be {status}")
    except AssertionError:
        raise AssertionError(f"{key} never became {status}; last answer {last}") from None
    return last


def start_deployment(
    tmp: Path, database_url: str, *, extra_env: dict[str, str] | None = None
) -> Deployment:
    service_port, sandbox_port = free_port(), free_port()
    service_url = f"http://127.0.0.1:{service_port}"
    sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    client_secret, webhook_secret = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    env = python_env(
        {
            "LINKZOOM_DATABASE_URL": database_url,
            "LINKZOOM_PUBLIC_URL": service_url,
            "LINKZOOM_VAR_DIR": str(tmp / "var"),
            "LINKZOOM_KEYS": new_keyring(),
            "LINKZOOM_ZOOM_CLIENT_ID": "e2e-client",
            "LINKZOOM_ZOOM_CLIENT_SECRET": client_secret,
            "LINKZOOM_ZOOM_WEBHOOK_SECRET": webhook_secret,
            "LINKZOOM_ZOOM_OAUTH_URL": sandbox_url,
            "LINKZOOM_ZOOM_API_URL": sandbox_url + "/v2",
            "LINKZOOM_SANDBOX_WEBHOOK_URL": service_url + "/webhooks/zoom",
            "LINKZOOM_ZOOM_TIMEOUT_SECONDS": "1",
            "LINKZOOM_LOG_FORMAT": "text",
        }
        | (extra_env or {})
    )
    sandbox = Process(
        name="sandbox",
        args=linkzoom_command("sandbox", "--port", str(sandbox_port)),
        env=env,
        log_path=tmp / "sandbox.log",
        ready_url=sandbox_url + "/_sandbox/stats",
    )
    deployment = Deployment(
        tmp=tmp,
        database_url=database_url,
        env=env,
        service_url=service_url,
        sandbox_url=sandbox_url,
        client_secret=client_secret,
        webhook_secret=webhook_secret,
        sandbox=sandbox,
    )
    asyncio.run(_seed(database_url))
    sandbox.start()
    deployment.start_service(service_port)
    return deployment


def stop_deployment(deployment: Deployment, workers: list[Process]) -> None:
    for client in deployment.clients:
        client.close()
    for process in [*workers, *deployment.services, deployment.sandbox]:
        process.stop()


def fresh_database(
    backend: str,
    tmp: Path,
    sqlite_templates: SqliteTemplates,
    postgres_templates: PostgresTemplates | None,
) -> str:
    if backend == "sqlite":
        return sqlite_templates.fresh(tmp)
    assert postgres_templates is not None
    return postgres_templates.fresh()


def linked_deployment(
    backend: str,
    tmp: Path,
    sqlite_templates: SqliteTemplates,
    postgres_templates: PostgresTemplates | None,
    *,
    extra_env: dict[str, str] | None = None,
) -> Iterator[CalendarDeployment]:
    """A deployment with alice and bob linked to Zoom (one Zoom account), carol not linked."""
    database_url = fresh_database(backend, tmp, sqlite_templates, postgres_templates)
    deployment = start_deployment(tmp, database_url, extra_env=extra_env)
    calendar: CalendarDeployment | None = None
    try:
        alice, bob = deployment.login("alice"), deployment.login("bob")
        deployment.link_zoom(alice, "alice@zoom.test")
        deployment.link_zoom(bob, "bob@zoom.test")
        calendar = CalendarDeployment(
            deployment=deployment, alice=alice, bob=bob, carol=deployment.login("carol")
        )
        yield calendar
    finally:
        stop_deployment(deployment, calendar.workers if calendar else [])
        if backend == "postgresql" and postgres_templates is not None:
            postgres_templates.drop(database_url)


_TEMPLATES = [
    (re.compile(r"^/v2/users/[^/]+/meetings$"), "/users/{userId}/meetings"),
    (re.compile(r"^/v2/meetings/\d+$"), "/meetings/{meetingId}"),
]


def sql(deployment: Deployment, statement: str, **params: object) -> list[tuple[Any, ...]]:
    engine = create_engine(driver_url(deployment.database_url, asynchronous=False))
    with engine.begin() as connection:
        result = connection.execute(text(statement), params)
        rows = [tuple(r) for r in result] if result.returns_rows else []
    engine.dispose()
    return rows


def zoom_requests(
    calendar: CalendarDeployment, method: str, meeting_id: int | None = None
) -> list[dict[str, Any]]:
    """The sandbox's log of API calls of one method (and meeting), oldest first."""
    entries: list[dict[str, Any]] = calendar.control("GET", "/requests")["requests"]
    return [
        e
        for e in entries
        if e["method"] == method
        and e["path"].startswith("/v2/")
        and (meeting_id is None or e["path"].endswith(f"/{meeting_id}"))
    ]


def assert_spec_valid(calendar: CalendarDeployment) -> int:
    """Every body the sandbox received is valid for its operation in Zoom's published spec."""
    checked = 0
    for method in ("POST", "PATCH"):
        for entry in zoom_requests(calendar, method):
            template = next(t for pattern, t in _TEMPLATES if pattern.match(entry["path"]))
            validate_request_body(method, template, entry["json"])
            checked += 1
    return checked
