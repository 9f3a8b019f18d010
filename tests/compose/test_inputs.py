"""Request bodies of the compose API: what is accepted and the field each refusal names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from linkzoom.compose.inputs import compose_order, sent_at
from linkzoom.compose.models import ComposeOrder
from linkzoom.problems import ValidationFailed

NOW = datetime(2026, 3, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "order"),
    [
        ({}, ComposeOrder()),
        ({"topic": None, "duration_minutes": None, "timezone": None}, ComposeOrder()),
        (
            {"topic": "Budget", "duration_minutes": 45, "timezone": "Europe/Berlin"},
            ComposeOrder(topic="Budget", duration_minutes=45, timezone="Europe/Berlin"),
        ),
        ({"duration_minutes": 1}, ComposeOrder(duration_minutes=1)),
        ({"duration_minutes": 1440}, ComposeOrder(duration_minutes=1440)),
        ({"topic": "x" * 10_000}, ComposeOrder(topic="x" * 10_000)),
        ({"unknown": "ignored"}, ComposeOrder()),
    ],
)
def test_compose_order_accepts(body: dict[str, Any], order: ComposeOrder) -> None:
    assert compose_order(body) == order


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({"topic": 5}, ["topic"]),
        ({"topic": "x" * 10_001}, ["topic"]),
        ({"duration_minutes": 0}, ["duration_minutes"]),
        ({"duration_minutes": 1441}, ["duration_minutes"]),
        ({"duration_minutes": 30.5}, ["duration_minutes"]),
        ({"duration_minutes": "30"}, ["duration_minutes"]),
        ({"duration_minutes": True}, ["duration_minutes"]),
        ({"timezone": "Pacific Standard Time"}, ["timezone"]),
        ({"timezone": "localtime"}, ["timezone"]),
        ({"timezone": 1}, ["timezone"]),
        (
            {"topic": [], "duration_minutes": -1, "timezone": "x"},
            ["topic", "duration_minutes", "timezone"],
        ),
    ],
)
def test_compose_order_refuses_naming_each_field(body: dict[str, Any], fields: list[str]) -> None:
    with pytest.raises(ValidationFailed) as refused:
        compose_order(body)
    assert [e.field for e in refused.value.errors] == fields


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("2026-03-08T12:30:00Z", datetime(2026, 3, 8, 12, 30, tzinfo=UTC)),
        ("2026-03-08T13:30:00+01:00", datetime(2026, 3, 8, 12, 30, tzinfo=UTC)),
        ("2026-03-07T12:00:00Z", NOW - timedelta(days=1)),
        ("2027-03-09T12:00:00Z", NOW + timedelta(days=366)),
    ],
)
def test_sent_at_accepts(value: str | None, expected: datetime | None) -> None:
    got = sent_at({"sent_at": value}, now=NOW)
    assert got == expected
    if got is not None:
        assert got.utcoffset() is not None


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-08T12:30:00",  # no offset: no instant
        "yesterday",
        "",
        12345,
        "2026-03-07T11:59:59Z",
        "2027-03-09T12:00:01Z",
        "2026-03-08T12:30:00Z" + " " * 60,
    ],
)
def test_sent_at_refuses(value: object) -> None:
    with pytest.raises(ValidationFailed) as refused:
        sent_at({"sent_at": value}, now=NOW)
    assert [e.field for e in refused.value.errors] == ["sent_at"]


def test_sent_at_keeps_the_instant_whatever_the_offset() -> None:
    got = sent_at({"sent_at": "2026-03-08T07:30:00-05:00"}, now=NOW)
    assert got == datetime(2026, 3, 8, 7, 30, tzinfo=timezone(timedelta(hours=-5)))
