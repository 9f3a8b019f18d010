"""Helpers for the compose end-to-end tests: SQL on the deployment's database, what the sandbox
received (checked against Zoom's spec), and waiting for the worker."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import create_engine, text

from linkzoom.store.db import driver_url
from tests.e2e.conftest import Deployment
from tests.zoom.spec import validate_request_body

PROBLEM = "application/problem+json"
COMPOSE = "/api/v1/compose/meetings"
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
    deployment: Deployment, method: str | None = None, path: str = r"^/v2/"
) -> list[dict[str, Any]]:
    """The sandbox's log of API calls, oldest first, optionally narrowed."""
    entries: list[dict[str, Any]] = deployment.control("GET", "/requests")["requests"]
    return [
        e
        for e in entries
        if (method is None or e["method"] == method) and re.search(path, e["path"])
    ]


def assert_spec_valid(deployment: Deployment) -> int:
    """Every JSON body the sandbox received is valid for its operation in Zoom's published
    spec (closed objects: an unknown field fails). Returns how many bodies were checked."""
    checked = 0
    for entry in zoom_requests(deployment):
        if "json" not in entry:
            continue
        template = next(t for pattern, t in _TEMPLATES if pattern.match(entry["path"]))
        validate_request_body(entry["method"], template, entry["json"])
        checked += 1
    return checked


def sandbox_meeting(deployment: Deployment, meeting_id: int) -> dict[str, Any]:
    meetings = deployment.control("GET", "/meetings")["meetings"]
    (found,) = [m for m in meetings if m["id"] == meeting_id]
    return dict(found)


def live_meetings(deployment: Deployment) -> list[dict[str, Any]]:
    return [m for m in deployment.control("GET", "/meetings")["meetings"] if not m["deleted"]]


def problem_code(response: Any) -> str:
    assert response.headers["content-type"] == PROBLEM, response.text
    code: str = response.json()["type"].rsplit("/", 1)[1]
    return code


def wait_for(condition: Callable[[], bool], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)
