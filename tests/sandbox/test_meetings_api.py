"""Meetings: create, get, update, delete and list, with Zoom's shapes and errors."""

from __future__ import annotations

import re

import httpx
import pytest
from starlette.applications import Starlette
from starlette.types import Message

from .helpers import Tokens, authorize, create_meeting


@pytest.fixture
async def tokens(client: httpx.AsyncClient) -> Tokens:
    return await authorize(client)


async def test_create_returns_a_full_meeting(client: httpx.AsyncClient, tokens: Tokens) -> None:
    meeting = await create_meeting(client, tokens, agenda="Quarterly")
    assert isinstance(meeting["id"], int) and meeting["id"] >= 10**9
    assert meeting["type"] == 2 and meeting["status"] == "waiting"
    assert meeting["start_time"] == "2031-05-06T14:00:00Z"
    assert meeting["duration"] == 30 and meeting["agenda"] == "Quarterly"
    assert meeting["timezone"] == "America/New_York"  # the user's zone when none is sent
    assert meeting["host_email"] == "demo@sandbox.zoom.test"
    assert re.fullmatch(rf"http://sandbox\.test/j/{meeting['id']}\?pwd=[\w-]+", meeting["join_url"])
    assert meeting["join_url"].endswith(meeting["encrypted_password"])
    assert 6 <= len(meeting["password"]) <= 10 and meeting["password"].isalnum()
    assert meeting["h323_password"].isdigit() and meeting["pstn_password"].isdigit()
    assert meeting["start_url"].startswith(f"http://sandbox.test/s/{meeting['id']}?zak=")
    assert meeting["pre_schedule"] is False
    settings = meeting["settings"]
    assert settings["join_before_host"] is False and "waiting_room" in settings
    assert len(settings["global_dial_in_numbers"]) == 2
    assert meeting["created_at"].endswith("Z") and "occurrences" not in meeting
    assert meeting["uuid"].endswith("==")


async def test_password_is_honoured(client: httpx.AsyncClient, tokens: Tokens) -> None:
    meeting = await create_meeting(client, tokens, password="123456")
    assert meeting["password"] == "123456"
    assert meeting["h323_password"] == meeting["pstn_password"] == "123456"


async def test_local_start_time_uses_the_timezone(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    meeting = await create_meeting(
        client, tokens, start_time="2031-07-01T09:30:00", timezone="Europe/Berlin"
    )
    assert meeting["start_time"] == "2031-07-01T07:30:00Z"
    assert meeting["timezone"] == "Europe/Berlin"


async def test_type_3_has_no_start_time(client: httpx.AsyncClient, tokens: Tokens) -> None:
    meeting = await create_meeting(client, tokens, type=3)
    assert "start_time" not in meeting and "occurrences" not in meeting


async def test_get_round_trips(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create_meeting(client, tokens)
    fetched = await client.get(f"/v2/meetings/{created['id']}", headers=tokens.headers)
    assert fetched.status_code == 200
    assert fetched.json() == created


async def test_other_users_meetings_are_3001(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create_meeting(client, tokens)
    stranger = await authorize(client, email="stranger@sandbox.zoom.test")
    mid = created["id"]
    expected = {"code": 3001, "message": f"Meeting {mid} is not found or has expired."}
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method, f"/v2/meetings/{mid}", headers=stranger.headers, json={"topic": "x"}
        )
        assert (response.status_code, response.json()) == (404, expected)
    absent = await client.get("/v2/meetings/99999999999", headers=tokens.headers)
    assert absent.json()["code"] == 3001
    garbage = await client.get("/v2/meetings/abc", headers=tokens.headers)
    assert garbage.status_code == 404


async def test_create_for_another_user_is_1001(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await client.post(
        "/v2/users/someone/meetings", json={"topic": "x"}, headers=tokens.headers
    )
    assert response.status_code == 404 and response.json()["code"] == 1001
    me = (await client.get("/v2/users/me", headers=tokens.headers)).json()
    own = await client.post(f"/v2/users/{me['id']}/meetings", json={}, headers=tokens.headers)
    assert own.status_code == 201


async def test_patch_is_partial_and_answers_204(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create_meeting(client, tokens, agenda="keep me")
    mid = created["id"]
    response = await client.patch(
        f"/v2/meetings/{mid}",
        json={"topic": "Renamed", "duration": 45, "settings": {"waiting_room": True}},
        headers=tokens.headers,
    )
    assert response.status_code == 204 and response.content == b""
    fetched = (await client.get(f"/v2/meetings/{mid}", headers=tokens.headers)).json()
    assert fetched["topic"] == "Renamed" and fetched["duration"] == 45
    assert fetched["agenda"] == "keep me" and fetched["start_time"] == created["start_time"]
    assert fetched["settings"]["waiting_room"] is True
    assert fetched["join_url"] == created["join_url"]


async def test_patch_password_changes_join_url(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create_meeting(client, tokens)
    await client.patch(
        f"/v2/meetings/{created['id']}", json={"password": "abc*12"}, headers=tokens.headers
    )
    fetched = (await client.get(f"/v2/meetings/{created['id']}", headers=tokens.headers)).json()
    assert fetched["password"] == "abc*12" and fetched["join_url"] != created["join_url"]


async def test_delete_then_gone(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = await create_meeting(client, tokens)
    url = f"/v2/meetings/{created['id']}"
    response = await client.delete(
        url,
        params={"schedule_for_reminder": "false", "cancel_meeting_reminder": "true"},
        headers=tokens.headers,
    )
    assert response.status_code == 204 and response.content == b""
    assert (await client.get(url, headers=tokens.headers)).json()["code"] == 3001
    assert (await client.delete(url, headers=tokens.headers)).status_code == 404
    everything = (await client.get("/_sandbox/meetings")).json()["meetings"]
    assert [m["deleted"] for m in everything] == [True]


async def test_list_pages_with_an_opaque_token(client: httpx.AsyncClient, tokens: Tokens) -> None:
    created = [await create_meeting(client, tokens, topic=f"m{i}") for i in range(7)]
    await create_meeting(client, tokens, type=1, topic="instant, never listed")
    seen: list[int] = []
    token = ""
    pages = 0
    while True:
        params = {"type": "scheduled", "page_size": "3"} | (
            {"next_page_token": token} if token else {}
        )
        response = await client.get("/v2/users/me/meetings", params=params, headers=tokens.headers)
        assert response.status_code == 200
        body = response.json()
        assert body["page_size"] == 3 and body["total_records"] == 7
        seen += [m["id"] for m in body["meetings"]]
        pages += 1
        token = body["next_page_token"]
        if not token:
            break
    assert pages == 3 and seen == [m["id"] for m in created]
    item = body["meetings"][0]
    assert set(item) == {
        "uuid", "id", "host_id", "topic", "type", "start_time", "duration", "timezone",
        "created_at", "join_url",
    }  # fmt: skip


async def test_list_defaults_and_limits(client: httpx.AsyncClient, tokens: Tokens) -> None:
    await create_meeting(client, tokens)
    default = (await client.get("/v2/users/me/meetings", headers=tokens.headers)).json()
    assert default["page_size"] == 30 and default["next_page_token"] == ""
    capped = await client.get(
        "/v2/users/me/meetings", params={"page_size": "1000"}, headers=tokens.headers
    )
    assert capped.json()["page_size"] == 300
    bad_token = await client.get(
        "/v2/users/me/meetings", params={"next_page_token": "forged"}, headers=tokens.headers
    )
    assert bad_token.status_code == 400 and bad_token.json()["code"] == 300
    bad_type = await client.get(
        "/v2/users/me/meetings", params={"type": "whatever"}, headers=tokens.headers
    )
    assert bad_type.status_code == 400


async def test_list_only_shows_the_callers_meetings(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    await create_meeting(client, tokens)
    other = await authorize(client, email="other@sandbox.zoom.test")
    listed = (await client.get("/v2/users/me/meetings", headers=other.headers)).json()
    assert listed["total_records"] == 0 and listed["meetings"] == []


async def test_upcoming_and_previous_lists(client: httpx.AsyncClient) -> None:
    await client.post("/_sandbox/clock", json={"set": "2031-05-01T00:00:00Z"})
    tokens = await authorize(client)
    past = await create_meeting(client, tokens, start_time="2031-04-01T10:00:00Z")
    future = await create_meeting(client, tokens, start_time="2031-06-01T10:00:00Z")

    async def ids(kind: str) -> list[int]:
        body = (
            await client.get("/v2/users/me/meetings", params={"type": kind}, headers=tokens.headers)
        ).json()
        return [m["id"] for m in body["meetings"]]

    assert await ids("upcoming") == [future["id"]]
    assert await ids("previous_meetings") == [past["id"]]
    assert await ids("live") == []


@pytest.mark.parametrize("sent", [None, b'{"topic": "Half'], ids=["headers only", "half a body"])
async def test_a_create_whose_client_went_away_mid_request_makes_nothing(
    app: Starlette, client: httpx.AsyncClient, tokens: Tokens, sent: bytes | None
) -> None:
    # A client killed between writing its headers and its body (as SIGKILL does to an API
    # process) must not leave a meeting: the sandbox once made a default "Zoom Meeting" of it.
    messages: list[Message] = (
        [] if sent is None else [{"type": "http.request", "body": sent, "more_body": True}]
    )
    messages.append({"type": "http.disconnect"})
    answered: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0)

    async def send(message: Message) -> None:
        answered.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v2/users/me/meetings",
        "raw_path": b"/v2/users/me/meetings",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"sandbox.test"),
            (b"authorization", tokens.headers["Authorization"].encode()),
            (b"content-type", b"application/json"),
            (b"content-length", b"40"),
        ],
        "client": ("127.0.0.1", 50123),
        "server": ("sandbox.test", 80),
    }
    await app(scope, receive, send)
    assert answered == []
    listed = await client.get("/v2/users/me/meetings", headers=tokens.headers)
    assert listed.json()["total_records"] == 0
