"""Zoom webhooks over real HTTP: validation, signatures, freshness, de-duplication, deauthorize.

The tests share a running deployment per database (``shared_deployment``); the one that links Zoom
does so for a user of its own and looks only at that user's rows and deliveries."""

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
def test_url_validation_is_answered(shared_deployment: Deployment) -> None:
    body = json.dumps(
        {
            "event": "endpoint.url_validation",
            "payload": {"plainToken": "abc123"},
            "event_ts": int(time.time() * 1000),
        }
    ).encode()
    answer = signed_post(shared_deployment, body)
    assert answer.status_code == 200
    expected = hmac.new(
        shared_deployment.webhook_secret.encode(), b"abc123", hashlib.sha256
    ).hexdigest()
    assert answer.json() == {"plainToken": "abc123", "encryptedToken": expected}


@pytest.mark.one_database
def test_bad_signature_and_stale_timestamp_are_refused(shared_deployment: Deployment) -> None:
    body = json.dumps({"event": "meeting.deleted", "payload": {}, "event_ts": 1}).encode()
    forged = signed_post(shared_deployment, body, secret="not-the-secret")
    assert forged.status_code == 401
    assert forged.headers["content-type"] == "application/problem+json"
    stale = signed_post(shared_deployment, body, timestamp=int(time.time()) - 301)
    assert stale.status_code == 401
    unsigned = httpx.post(shared_deployment.service_url + "/webhooks/zoom", content=body)
    assert unsigned.status_code == 401


def test_deauthorization_erases_the_grant_once(shared_deployment: Deployment) -> None:
    alice = shared_deployment.new_user("alice")
    api = shared_deployment.login(alice)
    shared_deployment.link_zoom(api, f"{alice}@zoom.test")
    (user,) = [
        u
        for u in shared_deployment.control("GET", "/users")["users"]
        if u["email"] == f"{alice}@zoom.test"
    ]
    shared_deployment.control("POST", f"/users/{user['id']}/deauthorize", json={})
    deliveries = shared_deployment.control("POST", "/webhooks/drain")["deliveries"]
    assert [
        d["status_code"]
        for d in deliveries
        if d["event"] == "app_deauthorized" and d["body"]["payload"]["user_id"] == user["id"]
    ] == [200]
    assert api.get("/api/v1/me").json()["zoom"]["linked"] is False
    mine = "(SELECT id FROM users WHERE username = :name)"
    preferences = f"SELECT count(*) FROM preferences WHERE user_id = {mine}"
    assert sql(shared_deployment, preferences, name=alice)[0][0] == 0
    audit = sql(
        shared_deployment,
        "SELECT action, actor FROM audit_events WHERE action = 'zoom.deauthorized' "
        f"AND subject_user_id = {mine}",
        name=alice,
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
    assert signed_post(shared_deployment, body).json() == {"status": "ok"}
    assert signed_post(shared_deployment, body).json() == {"status": "duplicate"}


@pytest.mark.one_database
def test_malformed_event_is_a_clear_problem(shared_deployment: Deployment) -> None:
    answer = signed_post(shared_deployment, b"{not json")
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/problems/bad-request")
