"""The per-user daily write cap and per-account QPS 429s, shaped like Zoom's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from .conftest import AppFactory, client_for
from .helpers import authorize, create_meeting

DAILY_MESSAGE = (
    "You have exceeded the daily rate limit (3) of Meeting Create/Update API requests permitted "
    "for this particular user. You may resume these requests at GMT 00:00:00."
)
QPS_BODY = {
    "code": 429,
    "message": "You have reached the maximum per-second rate limit for this API. Try again later.",
}


@pytest.fixture(params=[False, True], ids=["zoom-headers", "daily-limit-headers"])
def daily_limit_headers(request: pytest.FixtureRequest) -> bool:
    mode: bool = request.param
    return mode


@pytest.fixture
async def capped(
    daily_limit_headers: bool, make_app: AppFactory
) -> AsyncIterator[httpx.AsyncClient]:
    app = make_app(daily_write_limit=3, daily_limit_headers=daily_limit_headers)
    async with client_for(app) as client:
        yield client


async def test_daily_cap_counts_creates_and_updates(capped: httpx.AsyncClient) -> None:
    await capped.post("/_sandbox/clock", json={"set": "2031-03-04T23:58:00Z"})
    tokens = await authorize(capped)
    first = await create_meeting(capped, tokens)
    await create_meeting(capped, tokens)
    patched = await capped.patch(
        f"/v2/meetings/{first['id']}", json={"topic": "x"}, headers=tokens.headers
    )
    assert patched.status_code == 204
    refused = await capped.post("/v2/users/me/meetings", json={}, headers=tokens.headers)
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": DAILY_MESSAGE}
    again = await capped.patch(
        f"/v2/meetings/{first['id']}", json={"topic": "y"}, headers=tokens.headers
    )
    assert again.status_code == 429
    # Reads and deletes are not capped.
    assert (await capped.get(f"/v2/meetings/{first['id']}", headers=tokens.headers)).is_success
    # Another user has a budget of their own.
    other = await authorize(capped, email="other@sandbox.zoom.test")
    await create_meeting(capped, other)
    await capped.post("/_sandbox/clock", json={"advance_seconds": 120})
    await create_meeting(capped, tokens)
    stats = (await capped.get("/_sandbox/stats")).json()
    assert stats["rate_limited"]["daily"] == 2


async def test_daily_cap_headers(capped: httpx.AsyncClient, daily_limit_headers: bool) -> None:
    await capped.post("/_sandbox/clock", json={"set": "2031-03-04T10:00:00Z"})
    tokens = await authorize(capped)
    for _ in range(3):
        await create_meeting(capped, tokens)
    refused = await capped.post("/v2/users/me/meetings", json={}, headers=tokens.headers)
    headers = refused.headers
    assert headers["x-ratelimit-category"] == "Light"
    assert int(headers["x-ratelimit-limit"]) > 0 and "x-ratelimit-remaining" in headers
    if daily_limit_headers:
        assert headers["x-ratelimit-type"] == "Daily-limit"
        assert headers["retry-after"] == "2031-03-05T00:00:00Z"
        assert headers["x-ratelimit-limit"] == "3" and headers["x-ratelimit-remaining"] == "0"
    else:
        # Zoom's real answer (devforum 18928) has neither of these.
        assert "x-ratelimit-type" not in headers and "retry-after" not in headers
        assert headers["x-ratelimit-limit"] == "6000"
        assert int(headers["x-ratelimit-remaining"]) < 6000


async def test_qps_limits_by_label(make_app: AppFactory) -> None:
    app = make_app(qps={"medium": 2, "light": 3})
    async with client_for(app) as client:
        tokens = await authorize(client)
        answers = [
            await client.post("/v2/users/me/meetings", json={}, headers=tokens.headers)
            for _ in range(3)
        ]
        assert [a.status_code for a in answers] == [201, 201, 429]
        refused = answers[-1]
        assert refused.json() == QPS_BODY
        assert refused.headers["x-ratelimit-category"] == "Medium"
        assert refused.headers["x-ratelimit-type"] == "QPS"
        assert refused.headers["x-ratelimit-limit"] == "2"
        assert refused.headers["x-ratelimit-remaining"] == "0"
        assert refused.headers["retry-after"] == "1"
        light = [
            (await client.get("/v2/users/me", headers=tokens.headers)).status_code for _ in range(4)
        ]
        assert light == [200, 200, 200, 429]
        stats = (await client.get("/_sandbox/stats")).json()
        assert stats["rate_limited"]["qps"] == 2
        assert stats["api_calls"]["meetings.create"] == {"201": 2, "429": 1}


async def test_qps_is_per_account(make_app: AppFactory) -> None:
    app = make_app(qps={"light": 1})
    async with client_for(app) as client:
        a = await authorize(client, email="a@one.test")
        b = await authorize(client, email="b@two.test")
        assert (await client.get("/v2/users/me", headers=a.headers)).status_code == 200
        assert (await client.get("/v2/users/me", headers=b.headers)).status_code == 200
        assert (await client.get("/v2/users/me", headers=a.headers)).status_code == 429
