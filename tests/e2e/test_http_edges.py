"""Every error a client can cause is problem+json with a stable type; no tracebacks.

The tests share a running deployment per database (``shared_deployment``): none changes what
another sees, and the one that links Zoom does so for a user of its own."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.e2e.conftest import Deployment

PROBLEM = "application/problem+json"


@pytest.mark.one_database
def test_error_responses_are_problems(shared_deployment: Deployment) -> None:
    base = shared_deployment.service_url
    cases = [
        (httpx.get(base + "/api/v1/me"), 401, "not-authenticated"),
        (
            httpx.get(base + "/api/v1/me", headers={"authorization": "Bearer lzd_nope"}),
            401,
            "not-authenticated",
        ),
        (
            httpx.post(
                base + "/api/v1/sessions",
                content=b"{",
                headers={"content-type": "application/json"},
            ),
            400,
            "bad-request",
        ),
        (
            httpx.post(
                base + "/api/v1/sessions", content=b"x", headers={"content-type": "text/plain"}
            ),
            415,
            "unsupported-media-type",
        ),
        (httpx.post(base + "/api/v1/sessions", json={"username": 5}), 422, "validation-failed"),
        (httpx.post(base + "/api/v1/sessions", json=[1]), 422, "validation-failed"),
        (
            httpx.post(
                base + "/api/v1/sessions",
                content=b"x" * 2_000_000,
                headers={"content-type": "application/json"},
            ),
            413,
            "payload-too-large",
        ),
        (httpx.get(base + "/nowhere"), 404, "not-found"),
        (httpx.put(base + "/api/v1/me"), 405, "method-not-allowed"),
        (httpx.get(base + "/oauth/zoom/start"), 400, "authorization-failed"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, (code, response.text)
        assert "Traceback" not in response.text
        if code == "authorization-failed":
            assert response.headers["content-type"].startswith("text/html")
            continue
        assert response.headers["content-type"] == PROBLEM, code
        body = response.json()
        assert body["type"] == f"{shared_deployment.service_url}/problems/{code}"
        assert body["status"] == status and body["title"] and body["detail"]
        assert len(response.headers.get_list("x-request-id")) == 1, code  # once, not twice


@pytest.mark.one_database
def test_the_root_sends_browsers_to_sign_in_and_clients_to_an_index(
    shared_deployment: Deployment,
) -> None:
    base = shared_deployment.service_url
    browser = httpx.get(base + "/", headers={"accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 303 and browser.headers["location"] == "/controller"
    landed = httpx.get(base + "/", headers={"accept": "text/html"}, follow_redirects=True)
    assert landed.status_code == 200 and str(landed.url).startswith(base + "/controller/login")
    index = httpx.get(base + "/")
    assert index.status_code == 200 and index.headers["content-type"] == "application/json"
    links = index.json()["links"]
    assert links["api"] == base + "/api/v1" and links["health"] == base + "/healthz"
    docs = httpx.get(links["docs"])
    assert docs.status_code == 200 and docs.text.startswith("# linkzoom")
    assert len(index.headers.get_list("x-request-id")) == 1


@pytest.mark.one_database
def test_validation_problem_names_the_field(shared_deployment: Deployment) -> None:
    answer = httpx.post(shared_deployment.service_url + "/api/v1/sessions", json={"password": "x"})
    assert answer.status_code == 422
    assert answer.json()["errors"] == [{"field": "username", "message": "is required"}]


def test_health_readiness_and_metrics(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    refreshed = refreshes(shared_deployment)
    (user,) = [
        u
        for u in shared_deployment.control("GET", "/users")["users"]
        if u["email"] == f"{alice}@zoom.test"
    ]
    shared_deployment.control("POST", "/tokens/expire", json={"user_id": user["id"]})
    assert api.get("/api/v1/zoom/account").status_code == 200
    assert httpx.get(shared_deployment.service_url + "/healthz").json() == {"status": "ok"}
    ready = httpx.get(shared_deployment.service_url + "/readyz").json()
    assert ready["status"] == "ready" and ready["zoom_sandboxed"] is False
    metrics = httpx.get(shared_deployment.service_url + "/metrics").text
    assert (
        'linkzoom_http_request_duration_seconds_count{method="GET",route="/api/v1/zoom/account",status="200"}'
        in metrics
    )
    assert 'linkzoom_zoom_calls_total{operation="users.me",status="200"}' in metrics
    assert refreshes(shared_deployment) == refreshed + 1


def refreshes(deployment: Deployment) -> float:
    """``linkzoom_zoom_token_refreshes_total{outcome="ok"}`` (0 before the first)."""
    metrics = httpx.get(deployment.service_url + "/metrics").text
    found = re.search(r'^linkzoom_zoom_token_refreshes_total\{outcome="ok"\} (\S+)$', metrics, re.M)
    return float(found.group(1)) if found else 0.0


@pytest.mark.parametrize("path", ["/api/v1/zoom/authorizations"])
@pytest.mark.one_database
def test_unauthenticated_zoom_calls_are_refused(shared_deployment: Deployment, path: str) -> None:
    answer = httpx.post(shared_deployment.service_url + path)
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
