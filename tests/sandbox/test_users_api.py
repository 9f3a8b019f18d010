"""``/v2/users/me`` and bearer-token checks (code 124)."""

from __future__ import annotations

import httpx

from .helpers import authorize

INVALID = {"code": 124, "message": "Invalid access token."}
EXPIRED = {"code": 124, "message": "Access token is expired."}


async def test_missing_or_malformed_bearer_is_124(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope"}):
        response = await client.get("/v2/users/me", headers=headers)
        assert (response.status_code, response.json()) == (401, INVALID)


async def test_token_in_query_string_is_refused(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    response = await client.get("/v2/users/me", params={"access_token": tokens.access_token})
    assert (response.status_code, response.json()) == (401, INVALID)


async def test_expired_token_via_control_api(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    other = await authorize(client, email="other@sandbox.zoom.test")
    user_id = (await client.get("/v2/users/me", headers=tokens.headers)).json()["id"]
    answer = await client.post("/_sandbox/tokens/expire", json={"user_id": user_id})
    assert answer.json() == {"expired": 1}
    response = await client.get("/v2/users/me", headers=tokens.headers)
    assert (response.status_code, response.json()) == (401, EXPIRED)
    assert (await client.get("/v2/users/me", headers=other.headers)).status_code == 200
    await client.post("/_sandbox/tokens/expire", json={})
    assert (await client.get("/v2/users/me", headers=other.headers)).json() == EXPIRED


async def test_token_expires_after_its_lifetime(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    await client.post("/_sandbox/clock", json={"advance_seconds": 3599})
    assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 200
    await client.post("/_sandbox/clock", json={"advance_seconds": 2})
    assert (await client.get("/v2/users/me", headers=tokens.headers)).json() == EXPIRED


async def test_other_user_ids_are_1001(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    response = await client.get("/v2/users/someone-else", headers=tokens.headers)
    assert response.status_code == 404
    assert response.json() == {"code": 1001, "message": "User does not exist: someone-else."}


async def test_user_json_has_zoom_fields(client: httpx.AsyncClient) -> None:
    tokens = await authorize(client)
    user = (await client.get("/v2/users/me", headers=tokens.headers)).json()
    for field in (
        "id", "first_name", "last_name", "display_name", "email", "type", "pmi", "timezone",
        "account_id", "status", "verified", "personal_meeting_url", "created_at", "language",
    ):  # fmt: skip
        assert field in user
    assert isinstance(user["pmi"], int) and len(str(user["pmi"])) == 10
    assert user["created_at"].endswith("Z")
