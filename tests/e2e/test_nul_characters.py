"""Regression (found by reading what the fuzzer sends, on PostgreSQL): a NUL character in any
text a client sends reached a PostgreSQL query or row, whose text cannot hold one, and the
answer was a 500: a compose meeting id (sent, discard), a device name, a Graph subscription id.
Now an id that cannot be ours is not found, a device name is cleaned, a notification ignored."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import PASSWORDS, Deployment

PROBLEM = "application/problem+json"


def test_a_nul_in_what_a_client_sends_is_never_a_server_error(deployment: Deployment) -> None:
    base = deployment.service_url
    api = deployment.login("alice")
    answers = {
        "username": httpx.post(
            base + "/api/v1/sessions", json={"username": "ali\x00ce", "password": "x"}
        ),
        "device_name": httpx.post(
            base + "/api/v1/sessions",
            json={"username": "alice", "password": PASSWORDS["alice"], "device_name": "a\x00"},
        ),
        "meeting_id sent": api.post("/api/v1/compose/meetings/ab%00cd/sent"),
        "meeting_id delete": api.delete("/api/v1/compose/meetings/ab%00cd"),
        "claim code": api.post("/api/v1/zoom/authorizations/claim", json={"code": "c\x00de"}),
        "graph subscription": httpx.post(
            base + "/webhooks/graph",
            json={"value": [{"subscriptionId": "s\x00b", "clientState": "c\x00s"}]},
        ),
    }
    for what, answer in answers.items():
        assert answer.status_code < 500, (what, answer.text)
        if answer.status_code >= 400:
            assert answer.headers["content-type"] == PROBLEM, what
    assert answers["username"].status_code == 401  # no such user, as any unknown name
    assert answers["device_name"].status_code == 201
    assert answers["meeting_id sent"].status_code == 404
    assert answers["graph subscription"].status_code == 202
