"""``/openapi.json``: it describes every route of the app, it is a valid OpenAPI 3.1 document,
and every problem it promises is one ``linkzoom.problems`` defines, with that status."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route

from linkzoom.app import create_app
from linkzoom.config import Settings
from linkzoom.http.openapi import document
from linkzoom.problems import Problem
from linkzoom.zoom.app_credentials import SANDBOX_PREFIX
from tests.support.keys import new_keyring

PUBLIC_URL = "http://linkzoom.test"

# What the document leaves out, and why. Controller pages are HTML forms for people (cookie
# session, CSRF), not an API. Under /addin/ are the files Outlook loads (manifests, command
# code, dialog pages, icons). The sandbox mount is a stand-in for Zoom's API, not ours.
# Everything else, JSON or not (health, metrics, webhooks, the OAuth pages), is documented.
EXCLUDED_PREFIXES = ("/controller", "/addin/", SANDBOX_PREFIX)


def excluded(path: str) -> bool:
    return path.startswith(EXCLUDED_PREFIXES)


def openapi_path(starlette_path: str) -> str:
    """``{event_key:path}`` as OpenAPI writes it."""
    return starlette_path.replace(":path}", "}")


def walk(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, str]]:
    """(method, path) of every route, mounts included."""
    for route in routes:
        if isinstance(route, Mount):
            if excluded(prefix + route.path):
                continue
            assert route.routes, f"mount {route.path} hides its routes from this walk"
            yield from walk(list(route.routes), prefix + route.path)
        else:
            assert isinstance(route, Route), route
            path = prefix + route.path
            if excluded(path):
                continue
            for method in sorted(route.methods or ()):
                if method != "HEAD":  # Starlette adds HEAD to every GET
                    yield method, openapi_path(path)


@pytest.fixture
def app(tmp_path: Path) -> Starlette:
    # No Zoom app configured: the sandbox is mounted, so the walk meets (and skips) a mount.
    settings = Settings(
        database_url=f"sqlite:///{tmp_path}/db.sqlite",
        public_url=PUBLIC_URL,
        var_dir=tmp_path / "var",
        keys=new_keyring(),
    )
    return create_app(settings, with_worker=False)


@pytest.mark.one_database
def test_every_route_of_the_app_is_in_the_document(app: Starlette) -> None:
    doc = document(PUBLIC_URL)
    documented = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    served = set(walk(app.routes))
    assert any(isinstance(r, Mount) and r.path == SANDBOX_PREFIX for r in app.routes)
    assert ("POST", "/api/v1/compose/meetings") in served
    assert served - documented == set(), "routes missing from /openapi.json"
    assert documented - served == set(), "/openapi.json documents routes the app lacks"


@pytest.mark.one_database
def test_the_document_is_valid_openapi_3_1() -> None:
    doc = document(PUBLIC_URL)
    assert doc["openapi"] == "3.1.0"
    validate(doc)
    security = doc["components"]["securitySchemes"]["deviceSession"]
    assert security == security | {"type": "http", "scheme": "bearer"}
    compose = doc["paths"]["/api/v1/compose/meetings"]["post"]
    assert compose["security"] == [{"deviceSession": []}]
    assert {p["name"] for p in compose["parameters"]} == {"Idempotency-Key"}
    assert doc["paths"]["/healthz"]["get"]["security"] == []


def problem_classes() -> dict[str, type[Problem]]:
    found: dict[str, type[Problem]] = {Problem.code: Problem}
    pending = [Problem]
    while pending:
        for sub in pending.pop().__subclasses__():
            pending.append(sub)
            if "code" in vars(sub):
                found[sub.code] = sub
    return found


def problem_answers(doc: dict[str, Any]) -> Iterator[tuple[str, int, str]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            for status, answer in operation["responses"].items():
                schema = answer.get("content", {}).get("application/problem+json", {})
                for uri in (
                    schema.get("schema", {}).get("properties", {}).get("type", {}).get("enum", [])
                ):
                    yield f"{method.upper()} {path}", int(status), uri


@pytest.mark.one_database
def test_every_documented_problem_type_exists_with_its_status() -> None:
    classes = problem_classes()
    answers = list(problem_answers(document(PUBLIC_URL)))
    assert len(answers) > 50
    for where, status, uri in answers:
        assert uri.startswith(PUBLIC_URL + "/problems/"), where
        code = uri.removeprefix(PUBLIC_URL + "/problems/")
        assert code in classes, f"{where}: {code} is no problem of linkzoom.problems"
        assert classes[code].status == status, f"{where}: {code} is not a {status}"
    # The add-in's own problems are all there.
    codes = {uri.rsplit("/", 1)[1] for _, _, uri in answers}
    assert {
        "not-authenticated",
        "feature-disabled",
        "zoom-not-linked",
        "validation-failed",
    } <= codes
    assert {"payload-too-large", "unsupported-media-type", "zoom-rate-limited"} <= codes


@pytest.mark.one_database
async def test_served_with_cache_control_and_linked_from_the_index(app: Starlette) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
    ) as client:
        served = await client.get("/openapi.json")
        index = await client.get("/")
    assert served.status_code == 200 and served.headers["content-type"] == "application/json"
    assert served.headers["cache-control"] == "no-cache"
    assert served.json() == document(PUBLIC_URL)
    assert index.json()["links"]["openapi"] == PUBLIC_URL + "/openapi.json"
