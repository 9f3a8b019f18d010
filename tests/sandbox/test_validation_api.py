"""Zoom's 300 "Validation Failed." answers for bad meeting bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .helpers import Tokens, authorize, create_meeting

WEEKLY = {"type": 2, "weekly_days": "2"}

CASES: list[tuple[str, dict[str, Any], str]] = [
    ("topic too long", {"topic": "x" * 201}, "topic"),
    ("agenda too long", {"agenda": "x" * 2001}, "agenda"),
    ("duration not int", {"duration": "30"}, "duration"),
    ("duration bool", {"duration": True}, "duration"),
    ("unknown type", {"type": 5}, "type"),
    ("bad timezone", {"timezone": "Mars/Olympus_Mons"}, "timezone"),
    ("bad start_time", {"start_time": "tomorrow at noon"}, "start_time"),
    ("password chars", {"password": "pass word!"}, "password"),
    ("password length", {"password": "12345678901"}, "password"),
    ("settings not object", {"settings": []}, "settings"),
    ("jbh_time", {"settings": {"jbh_time": 7}}, "settings.jbh_time"),
    ("audio enum", {"settings": {"audio": "pigeon"}}, "settings.audio"),
    (
        "daily interval > 90",
        {"type": 8, "recurrence": {"type": 1, "repeat_interval": 91}},
        "recurrence.repeat_interval",
    ),
    (
        "weekly interval > 12",
        {"type": 8, "recurrence": WEEKLY | {"repeat_interval": 13}},
        "recurrence.repeat_interval",
    ),
    (
        "monthly interval > 3",
        {"type": 8, "recurrence": {"type": 3, "repeat_interval": 4, "monthly_day": 1}},
        "recurrence.repeat_interval",
    ),
    (
        "end_times > 60",
        {"type": 8, "recurrence": WEEKLY | {"end_times": 61}},
        "recurrence.end_times",
    ),
    (
        "end_times with end_date_time",
        {
            "type": 8,
            "recurrence": WEEKLY | {"end_times": 3, "end_date_time": "2031-09-01T00:00:00Z"},
        },
        "recurrence.end_times",
    ),
    (
        "weekly_days",
        {"type": 8, "recurrence": {"type": 2, "weekly_days": "8"}},
        "recurrence.weekly_days",
    ),
    (
        "monthly_week",
        {"type": 8, "recurrence": {"type": 3, "monthly_week": 5, "monthly_week_day": 2}},
        "recurrence.monthly_week",
    ),
    ("recurrence type", {"type": 8, "recurrence": {"type": 4}}, "recurrence.type"),
    ("type 8 needs recurrence", {"type": 8}, "recurrence"),
    ("schedule_for someone else", {"schedule_for": "boss@corp.test"}, "schedule_for"),
]


@pytest.fixture
async def tokens(client: httpx.AsyncClient) -> Tokens:
    return await authorize(client)


@pytest.mark.parametrize(("body", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_create_validation(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any], field: str
) -> None:
    response = await client.post("/v2/users/me/meetings", json=body, headers=tokens.headers)
    assert response.status_code == 400, response.text
    answer = response.json()
    assert answer["code"] == 300 and answer["message"] == "Validation Failed."
    assert field in [e["field"] for e in answer["errors"]]
    assert all(set(e) == {"field", "message"} for e in answer["errors"])


@pytest.mark.parametrize(
    ("body", "field"), [c[1:] for c in CASES[:10]], ids=[c[0] for c in CASES[:10]]
)
async def test_update_validation(
    client: httpx.AsyncClient, tokens: Tokens, body: dict[str, Any], field: str
) -> None:
    meeting = await create_meeting(client, tokens)
    response = await client.patch(
        f"/v2/meetings/{meeting['id']}", json=body, headers=tokens.headers
    )
    assert response.status_code == 400
    assert field in [e["field"] for e in response.json()["errors"]]
    unchanged = (await client.get(f"/v2/meetings/{meeting['id']}", headers=tokens.headers)).json()
    assert unchanged == meeting


async def test_every_problem_is_reported_at_once(client: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await client.post(
        "/v2/users/me/meetings",
        json={"topic": "x" * 201, "duration": "long", "timezone": "Nowhere"},
        headers=tokens.headers,
    )
    assert {e["field"] for e in response.json()["errors"]} == {"topic", "duration", "timezone"}


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b'"text"', b"\xff\xfe"])
async def test_malformed_json_is_300(client: httpx.AsyncClient, tokens: Tokens, raw: bytes) -> None:
    response = await client.post(
        "/v2/users/me/meetings",
        content=raw,
        headers=tokens.headers | {"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "code": 300,
        "message": "Request Body should be a valid JSON object.",
    }


async def test_failed_validation_does_not_count_as_a_write(
    client: httpx.AsyncClient, tokens: Tokens
) -> None:
    for _ in range(3):
        await client.post("/v2/users/me/meetings", json={"type": 9}, headers=tokens.headers)
    stats = (await client.get("/_sandbox/stats")).json()
    assert stats["api_calls"]["meetings.create"] == {"400": 3}
