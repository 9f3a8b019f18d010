"""The ``/_sandbox`` control API: loopback guard, clock, stats, request log, users, reset."""

from __future__ import annotations

import json

import httpx
import pytest
from starlette.applications import Starlette

from .conftest import client_for
from .helpers import authorize, create_meeting, refresh


@pytest.mark.parametrize("host", ["203.0.113.9", "10.0.0.1", "testclient", "::ffff:8.8.8.8"])
async def test_control_api_refuses_non_loopback(app: Starlette, host: str) -> None:
    async with client_for(app, host=host) as remote:
        for path in ("/_sandbox/stats", "/_sandbox/secrets", "/_sandbox"):
            response = await remote.get(path)
            assert response.status_code == 404
        assert (await remote.post("/_sandbox/reset")).status_code == 404


async def test_control_api_refuses_proxied_requests(client: httpx.AsyncClient) -> None:
    for header in ("X-Forwarded-For", "Forwarded"):
        response = await client.get("/_sandbox/stats", headers={header: "for=203.0.113.9"})
        assert response.status_code == 404


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "::ffff:127.0.0.1"])
async def test_control_api_answers_loopback(app: Starlette, host: str) -> None:
    async with client_for(app, host=host) as local:
        assert (await local.get("/_sandbox/stats")).status_code == 200


async def test_non_loopback_can_still_use_zoom_endpoints(app: Starlette) -> None:
    async with client_for(app, host="203.0.113.9") as remote:
        tokens = await authorize(remote)
        assert (await remote.get("/v2/users/me", headers=tokens.headers)).status_code == 200


async def test_clock(client: httpx.AsyncClient) -> None:
    moved = await client.post("/_sandbox/clock", json={"set": "2031-01-01T00:00:00Z"})
    assert moved.json() == {"now": "2031-01-01T00:00:00Z"}
    advanced = await client.post("/_sandbox/clock", json={"advance_seconds": 90})
    assert advanced.json()["now"].startswith("2031-01-01T00:01:3")
    assert (await client.get("/_sandbox/clock")).json()["now"].startswith("2031-01-01T00:01")
    assert (await client.post("/_sandbox/clock", json={"set": "yesterday"})).status_code == 400
    assert (
        await client.post("/_sandbox/clock", json={"set": "2031-01-01T00:00:00"})
    ).status_code == 400
    assert (await client.post("/_sandbox/clock", json={})).status_code == 400


async def test_stats_count_everything(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await refresh(client, tokens.refresh_token)
    await refresh(client, tokens.refresh_token)
    second = await authorize(client)
    meeting = await create_meeting(client, second)
    await client.get(f"/v2/meetings/{meeting['id']}", headers=second.headers)
    await client.get("/v2/meetings/1", headers=second.headers)
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["token_requests"] == {"authorization_code": 2, "refresh_token": 2}
    assert stats["refreshes"] == 1 and stats["invalid_grant"] == 1
    assert stats["api_calls"]["meetings.create"] == {"201": 1}
    assert stats["api_calls"]["meetings.get"] == {"200": 1, "404": 1}
    assert stats["users"] == 1 and stats["meetings"] == 1


async def test_request_log_never_holds_tokens(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await refresh(client, tokens.refresh_token)
    await create_meeting(client, tokens, topic="Logged")
    log = (await client.get("/_sandbox/requests")).json()["requests"]
    creates = [e for e in log if e["method"] == "POST" and e["path"] == "/v2/users/me/meetings"]
    assert creates[0]["json"]["topic"] == "Logged" and creates[0]["status"] == 201
    token_calls = [e for e in log if e["path"] == "/oauth/token"]
    assert {e["form"]["grant_type"] for e in token_calls} == {"authorization_code", "refresh_token"}
    assert all(e["form"].get("code", "<redacted>") == "<redacted>" for e in token_calls)
    dumped = json.dumps(log)
    secrets = (await client.get("/_sandbox/secrets")).json()
    for kind in ("access_tokens", "refresh_tokens", "authorization_codes", "client_secret"):
        for value in secrets[kind]:
            assert value not in dumped
    await client.delete("/_sandbox/requests")
    assert (await client.get("/_sandbox/requests")).json()["requests"] == []


async def test_users_listing_and_creation(client: httpx.AsyncClient) -> None:
    created = await client.post("/_sandbox/users", json={"email": "pre@made.test"})
    assert created.status_code == 200 and created.json()["email"] == "pre@made.test"
    await authorize(client)
    users = (await client.get("/_sandbox/users")).json()["users"]
    assert {(u["email"], u["authorized"]) for u in users} == {
        ("pre@made.test", False),
        ("demo@sandbox.zoom.test", True),
    }
    assert (await client.post("/_sandbox/users", json={})).status_code == 400


async def test_reset_forgets_everything(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await create_meeting(client, tokens)
    await client.post("/_sandbox/faults", json={"path_regex": "nothing", "status": 500})
    await client.post("/_sandbox/clock", json={"advance_seconds": 86400})
    assert (await client.post("/_sandbox/reset")).json() == {"reset": True}
    assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 401
    assert (await client.get("/_sandbox/meetings")).json() == {"meetings": []}
    assert (await client.get("/_sandbox/faults")).json() == {"faults": []}
    stats = (await client.get("/_sandbox/stats")).json()
    # Only the refused call made after the reset is counted.
    assert stats["api_calls"] == {"users.me": {"401": 1}} and stats["users"] == 0


async def test_control_endpoints_answer_404_for_unknown_things(client: httpx.AsyncClient) -> None:
    assert (await client.post("/_sandbox/meetings/123/delete")).status_code == 404
    assert (await client.post("/_sandbox/meetings/abc/update", json={})).status_code == 404
    assert (await client.post("/_sandbox/users/nobody/deauthorize")).status_code == 404
    assert (await client.post("/_sandbox/latency", content=b"{oops")).status_code == 400


async def test_join_and_index_pages(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    meeting = await create_meeting(client, tokens, topic="Demo <b>call</b>")
    join = await client.get(httpx.URL(meeting["join_url"]).raw_path.decode())
    assert join.status_code == 200
    assert "simulated meeting" in join.text and "Demo &lt;b&gt;call&lt;/b&gt;" in join.text
    start = await client.get(f"/s/{meeting['id']}")
    assert start.status_code == 200
    assert (await client.get("/j/12345678901")).status_code == 404
    index = await client.get("/")
    assert index.status_code == 200 and "http://sandbox.test/v2" in index.text
