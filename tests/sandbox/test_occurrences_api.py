"""Recurring meetings (type 8) through the API: occurrences, per-occurrence get/update/delete."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from .helpers import Tokens, authorize, create_meeting

SERIES = {
    "type": 8,
    "start_time": "2031-01-06T09:00:00",  # a Monday, local time
    "timezone": "Europe/Berlin",
    "duration": 30,
    "recurrence": {"type": 2, "weekly_days": "2,4", "end_times": 4},
}


@pytest.fixture
async def tokens(client: httpx.AsyncClient) -> Tokens:
    await client.post("/_sandbox/clock", json={"set": "2031-01-01T00:00:00Z"})
    return await authorize(client)


@pytest.fixture
async def series(client: httpx.AsyncClient, tokens: Tokens) -> dict[str, Any]:
    return await create_meeting(client, tokens, **SERIES)


async def get(client: httpx.AsyncClient, tokens: Tokens, mid: int, **params: str) -> httpx.Response:
    return await client.get(f"/v2/meetings/{mid}", params=params, headers=tokens.headers)


async def test_create_expands_occurrences(series: dict[str, Any]) -> None:
    assert series["recurrence"] == {
        "type": 2,
        "repeat_interval": 1,
        "weekly_days": "2,4",
        "end_times": 4,
    }
    occurrences = series["occurrences"]
    assert [o["start_time"] for o in occurrences] == [
        "2031-01-06T08:00:00Z",
        "2031-01-08T08:00:00Z",
        "2031-01-13T08:00:00Z",
        "2031-01-15T08:00:00Z",
    ]
    assert all(o["status"] == "available" and o["duration"] == 30 for o in occurrences)
    first = occurrences[0]
    epoch_ms = int(datetime(2031, 1, 6, 8, 0, tzinfo=UTC).timestamp()) * 1000
    assert first["occurrence_id"] == str(epoch_ms)
    assert series["start_time"] == first["start_time"]


async def test_get_one_occurrence(
    client: httpx.AsyncClient, tokens: Tokens, series: dict[str, Any]
) -> None:
    second = series["occurrences"][1]
    response = await get(client, tokens, series["id"], occurrence_id=second["occurrence_id"])
    assert response.status_code == 200
    assert response.json()["start_time"] == second["start_time"]
    bad = await get(client, tokens, series["id"], occurrence_id="123")
    assert (bad.status_code, bad.json()["code"]) == (400, 3000)


async def test_update_one_occurrence(
    client: httpx.AsyncClient, tokens: Tokens, series: dict[str, Any]
) -> None:
    target = series["occurrences"][2]["occurrence_id"]
    response = await client.patch(
        f"/v2/meetings/{series['id']}",
        params={"occurrence_id": target},
        json={"start_time": "2031-01-13T10:00:00Z", "duration": 50, "topic": "ignored"},
        headers=tokens.headers,
    )
    assert response.status_code == 204
    whole = (await get(client, tokens, series["id"])).json()
    assert whole["topic"] == series["topic"]
    changed = next(o for o in whole["occurrences"] if o["occurrence_id"] == target)
    assert (changed["start_time"], changed["duration"]) == ("2031-01-13T10:00:00Z", 50)
    others = [o for o in whole["occurrences"] if o["occurrence_id"] != target]
    assert all(o["duration"] == 30 for o in others)
    bad = await client.patch(
        f"/v2/meetings/{series['id']}",
        params={"occurrence_id": "42"},
        json={"duration": 10},
        headers=tokens.headers,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, 3000)


async def test_delete_one_occurrence(
    client: httpx.AsyncClient, tokens: Tokens, series: dict[str, Any]
) -> None:
    target = series["occurrences"][0]["occurrence_id"]
    response = await client.delete(
        f"/v2/meetings/{series['id']}", params={"occurrence_id": target}, headers=tokens.headers
    )
    assert response.status_code == 204
    whole = (await get(client, tokens, series["id"])).json()
    assert target not in [o["occurrence_id"] for o in whole["occurrences"]]
    assert len(whole["occurrences"]) == 3
    gone = await get(client, tokens, series["id"], occurrence_id=target)
    assert gone.json()["code"] == 3000
    again = await client.delete(
        f"/v2/meetings/{series['id']}", params={"occurrence_id": target}, headers=tokens.headers
    )
    assert again.status_code == 400


async def test_updating_recurrence_regenerates(
    client: httpx.AsyncClient, tokens: Tokens, series: dict[str, Any]
) -> None:
    response = await client.patch(
        f"/v2/meetings/{series['id']}",
        json={"recurrence": {"type": 1, "repeat_interval": 1, "end_times": 3}},
        headers=tokens.headers,
    )
    assert response.status_code == 204
    whole = (await get(client, tokens, series["id"])).json()
    assert [o["start_time"] for o in whole["occurrences"]] == [
        "2031-01-06T08:00:00Z",
        "2031-01-07T08:00:00Z",
        "2031-01-08T08:00:00Z",
    ]


async def test_past_start_time_is_ignored_for_recurring_meetings(
    client: httpx.AsyncClient, tokens: Tokens, series: dict[str, Any]
) -> None:
    await client.patch(
        f"/v2/meetings/{series['id']}",
        json={"start_time": "2030-06-01T08:00:00Z", "topic": "Still applied"},
        headers=tokens.headers,
    )
    whole = (await get(client, tokens, series["id"])).json()
    assert whole["start_time"] == series["start_time"] and whole["topic"] == "Still applied"


async def test_finished_occurrences_are_hidden_unless_asked(
    client: httpx.AsyncClient, series: dict[str, Any]
) -> None:
    await client.post("/_sandbox/clock", json={"set": "2031-01-10T00:00:00Z"})
    renewed = await authorize(client)
    # The same email re-authorized: the same user, who hosts the series.
    upcoming = (await get(client, renewed, series["id"])).json()["occurrences"]
    assert len(upcoming) == 2
    everything = await get(client, renewed, series["id"], show_previous_occurrences="true")
    assert len(everything.json()["occurrences"]) == 4


async def test_monthly_and_end_date(client: httpx.AsyncClient, tokens: Tokens) -> None:
    meeting = await create_meeting(
        client,
        tokens,
        type=8,
        start_time="2031-01-01T15:00:00Z",
        timezone="UTC",
        recurrence={"type": 3, "monthly_day": 15, "end_date_time": "2031-04-15T15:00:00Z"},
    )
    assert [o["start_time"][:10] for o in meeting["occurrences"]] == [
        "2031-01-15",
        "2031-02-15",
        "2031-03-15",
        "2031-04-15",
    ]
    assert meeting["recurrence"]["end_date_time"] == "2031-04-15T15:00:00Z"
    assert "end_times" not in meeting["recurrence"]


async def test_changing_type_to_scheduled_drops_occurrences(
    client: httpx.AsyncClient, tokens: Tokens, series: dict[str, Any]
) -> None:
    await client.patch(f"/v2/meetings/{series['id']}", json={"type": 2}, headers=tokens.headers)
    whole = (await get(client, tokens, series["id"])).json()
    assert whole["type"] == 2 and "occurrences" not in whole
