"""Zoom webhooks over real HTTP: validation, signatures, freshness, de-duplication, deauthorize."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
import pytest

from tests.e2e.conftest import Deployment
from tests.e2e.test_authorization_flow import sql


def signed_post(
    deployment: Deployment, body: bytes, *, timestamp: int | None = None, secret: str | None = None
) -> httpx.Response:
    ts = str(timestamp if timestamp is not None else int(time.time()))
    key = (secret or deployment.webhook_secret).encode()
    signature = "v0=" + hmac.new(key, f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return httpx.post(
        deployment.service_url + "/webhooks/zoom",
        content=body,
        headers={
            "content-type": "application/json",
            "x-zm-request-timestamp": ts,
            "x-zm-signature": signature,
        },
    )


@pytest.mark.one_database
def test_url_validation_is_answered(deployment: Deployment) -> None:
    body = json.dumps(
        {
            "event": "endpoint.url_validation",
            "payload": {"plainToken": "abc123"},
            "event_ts": int(time.time() * 1000),
        }
    ).encode()
    answer = signed_post(deployment, body)
    assert answer.status_code == 200
    expected = hmac.new(deployment.webhook_secret.encode(), b"abc123", hashlib.sha256).hexdigest()
    assert answer.json() == {"plainToken": "abc123", "encryptedToken": expected}


@pytest.mark.one_database
def test_bad_signature_and_stale_timestamp_are_refused(deployment: Deployment) -> None:
    body = json.dumps({"event": "meeting.deleted", "payload": {}, "event_ts": 1}).encode()
    forged = signed_post(deployment, body, secret="not-the-secret")
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    stale = signed_post(deployment, body, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    unsigned = httpx.post(deployment.service_url + "/webhooks/zoom", content=body)
    assert unsigned.status_code == 401


def test_deauthorization_erases_the_grant_once(deployment: Deployment) -> None:
    api = deployment.login("alice")
    deployment.link_zoom(api, "alice@zoom.test")
    (user,) = deployment.control("GET", "/users")["users"]
    deployment.control("POST", f"/users/{user['id']}/deauthorize", json={})
    deliveries = deployment.control("POST", "/webhooks/drain")["deliveries"]
    assert [d["status_code"] for d in deliveries if d["event"] == "app_deauthorized"] == [200]
    assert api.get("/api/v1/me").json()["zoom"]["linked"] is False
    assert sql(deployment, "SELECT count(*) FROM preferences")[0][0] == 0
    audit = sql(
        deployment, "SELECT action, actor FROM audit_events WHERE action = 'zoom.deauthorized'"
    )
    assert audit == [("zoom.deauthorized", "zoom")]
    # Zoom retries with the same body: acknowledged, not acted on twice.
    body = json.dumps(
        {
            "event": "app_deauthorized",
            "event_ts": 1,
            "payload": {"user_id": user["id"], "account_id": user["account_id"]},
        }
    ).encode()
    assert signed_post(deployment, body).json() == {"status": "ok"}
    assert signed_post(deployment, body).json() == {"status": "duplicate"}


@pytest.mark.one_database
def test_malformed_event_is_a_clear_problem(deployment: Deployment) -> None:
    answer = signed_post(deployment, b"{not json")
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/problems/bad-request")
