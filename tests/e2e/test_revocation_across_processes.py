"""What an administrator or a user takes away takes effect on the very next request, in every
API process: nothing on the request path is cached between requests (issue "The request path at
the floor"). Two ``linkzoom run`` processes on one PostgreSQL; each change is made through one
process (or the CLI, or the database as the console writes it) and the next request goes to the
other."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.test_authorization_flow import sql
from tests.support.databases import postgres_url

COMPOSE = "/api/v1/compose/meetings"


@pytest.fixture
def two_apis(deployment: Deployment) -> Iterator[tuple[Deployment, str]]:
    if not deployment.database_url.startswith("postgresql") or postgres_url() is None:
        pytest.skip("several API processes share PostgreSQL (SQLite serves one host)")
    yield deployment, deployment.start_service()


def other(deployment: Deployment, client: httpx.Client, base_url: str) -> httpx.Client:
    """The same device, talking to the other API process."""
    moved = httpx.Client(base_url=base_url, headers=dict(client.headers), timeout=20)
    deployment.clients.append(moved)
    return moved


def problem(response: httpx.Response) -> str:
    assert response.headers["content-type"].startswith("application/problem+json")
    return str(response.json()["type"]).rsplit("/", 1)[-1]


@pytest.mark.one_database  # PostgreSQL's: the SQLite variant would only skip
def test_what_is_taken_away_in_one_process_is_gone_on_the_next_request_in_the_other(
    two_apis: tuple[Deployment, str],
) -> None:
    deployment, second = two_apis
    first = deployment.login("alice")
    assert deployment.link_zoom(first, "alice@example.org").status_code == 200
    there = other(deployment, first, second)
    assert there.post(COMPOSE, json={}).status_code == 201

    # The feature switch, turned off by the CLI (a third process).
    deployment.cli("zoom", "disable")
    refused = there.post(COMPOSE, json={})
    assert (refused.status_code, problem(refused)) == (403, "feature-disabled")
    deployment.cli("zoom", "enable")
    assert there.post(COMPOSE, json={}).status_code == 201

    # Zoom disconnected through the first process.
    assert first.delete("/api/v1/zoom/authorization").status_code == 204
    refused = there.post(COMPOSE, json={})
    assert (refused.status_code, problem(refused)) == (409, "zoom-not-linked")

    # Linked again, then the Zoom/oauth preference deleted as My Account's trash button does.
    assert deployment.link_zoom(first, "alice@example.org").status_code == 200
    assert there.post(COMPOSE, json={}).status_code == 201
    sql(deployment, "DELETE FROM preferences WHERE resource = 'Zoom' AND tag = 'oauth'")
    refused = there.post(COMPOSE, json={})
    assert (refused.status_code, problem(refused)) == (409, "zoom-not-linked")

    # The user disabled by an administrator, then enabled again.
    sql(deployment, "UPDATE users SET disabled_at = now() WHERE username = 'alice'")
    refused = there.get("/api/v1/me")
    assert (refused.status_code, problem(refused)) == (401, "not-authenticated")
    assert refused.json()["detail"] == "This account is disabled."
    sql(deployment, "UPDATE users SET disabled_at = NULL WHERE username = 'alice'")
    assert there.get("/api/v1/me").status_code == 200

    # Signed out through the first process.
    assert first.delete("/api/v1/sessions/current").status_code == 204
    refused = there.get("/api/v1/me")
    assert (refused.status_code, problem(refused)) == (401, "not-authenticated")
