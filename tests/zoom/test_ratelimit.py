from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.zoom.ratelimit import classify_429, next_utc_midnight, parse_retry_after
from tests.zoom.spec import ACCOUNT_DAILY_MESSAGE, DAILY_USER_LIMIT_MESSAGE, PER_SECOND_MESSAGE

NOW = datetime(2024, 5, 30, 17, 45, 10, tzinfo=UTC)
MIDNIGHT = datetime(2024, 5, 31, tzinfo=UTC)
# What Zoom sent with the per-user 100/day refusal (devforum 18928): only the account bucket.
LIGHT_BUCKET = {
    "x-ratelimit-category": "Light",
    "x-ratelimit-limit": "6000",
    "x-ratelimit-remaining": "5893",
}


def body(message: str) -> dict[str, Any]:
    return {"code": 429, "message": message}


CASES: list[tuple[str, dict[str, str], dict[str, Any] | None, str, datetime]] = [
    # (name, headers, body, kind, retry_at)
    (
        "qps header, retry-after seconds",
        {"X-RateLimit-Type": "QPS", "Retry-After": "3"},
        body(PER_SECOND_MESSAGE),
        "qps",
        NOW + timedelta(seconds=3),
    ),
    (
        "qps header, no retry-after",
        {"X-RateLimit-Type": "QPS"},
        body(PER_SECOND_MESSAGE),
        "qps",
        NOW + timedelta(seconds=1),
    ),
    (
        "qps header, lower-case names",
        {"x-ratelimit-type": "qps", "retry-after": "2"},
        None,
        "qps",
        NOW + timedelta(seconds=2),
    ),
    (
        "qps header, http-date retry-after",
        {"X-RateLimit-Type": "QPS", "Retry-After": "Thu, 30 May 2024 17:45:15 GMT"},
        None,
        "qps",
        NOW + timedelta(seconds=5),
    ),
    (
        "qps header, iso retry-after",
        {"X-RateLimit-Type": "QPS", "Retry-After": "2024-05-30T17:45:12Z"},
        None,
        "qps",
        NOW + timedelta(seconds=2),
    ),
    (
        "qps header, retry-after in the past",
        {"X-RateLimit-Type": "QPS", "Retry-After": "2024-05-30T17:00:00Z"},
        None,
        "qps",
        NOW,
    ),
    (
        "qps header, garbage retry-after",
        {"X-RateLimit-Type": "QPS", "Retry-After": "soon"},
        None,
        "qps",
        NOW + timedelta(seconds=1),
    ),
    (
        "qps header wins over a daily-sounding body",
        {"X-RateLimit-Type": "QPS"},
        body(DAILY_USER_LIMIT_MESSAGE),
        "qps",
        NOW + timedelta(seconds=1),
    ),
    (
        "daily header, iso retry-after (Zoom docs example)",
        {
            "X-RateLimit-Category": "Heavy",
            "X-RateLimit-Type": "Daily-limit",
            "X-RateLimit-Limit": "30000",
            "X-RateLimit-Remaining": "0",
            "Retry-After": "2024-05-31T00:00:00Z",
        },
        body(ACCOUNT_DAILY_MESSAGE),
        "daily",
        MIDNIGHT,
    ),
    (
        "daily header, no retry-after",
        {"X-RateLimit-Type": "Daily-limit"},
        body(ACCOUNT_DAILY_MESSAGE),
        "daily",
        MIDNIGHT,
    ),
    (
        "daily header, retry-after in the past",
        {"X-RateLimit-Type": "Daily-limit", "Retry-After": "2024-05-30T00:00:00Z"},
        None,
        "daily",
        MIDNIGHT,
    ),
    (
        "daily header, retry-after with offset",
        {"X-RateLimit-Type": "Daily-limit", "Retry-After": "2024-05-31T02:00:00+02:00"},
        None,
        "daily",
        MIDNIGHT,
    ),
    (
        "per-user 100/day without type header",
        LIGHT_BUCKET,
        body(DAILY_USER_LIMIT_MESSAGE),
        "daily",
        MIDNIGHT,
    ),
    ("per-user 100/day, no headers at all", {}, body(DAILY_USER_LIMIT_MESSAGE), "daily", MIDNIGHT),
    ("account daily body without headers", {}, body(ACCOUNT_DAILY_MESSAGE), "daily", MIDNIGHT),
    (
        "per-second body without headers",
        LIGHT_BUCKET,
        body(PER_SECOND_MESSAGE),
        "qps",
        NOW + timedelta(seconds=1),
    ),
    ("unknown 429, no body", {}, None, "qps", NOW + timedelta(seconds=1)),
    (
        "unknown 429, retry-after honoured",
        {"Retry-After": "4"},
        body("Too many requests"),
        "qps",
        NOW + timedelta(seconds=4),
    ),
    (
        "unknown type header falls back to the body",
        {"X-RateLimit-Type": "Monthly"},
        body(DAILY_USER_LIMIT_MESSAGE),
        "daily",
        MIDNIGHT,
    ),
    (
        "message of the wrong type",
        {},
        {"code": 429, "message": 7},
        "qps",
        NOW + timedelta(seconds=1),
    ),
]


@pytest.mark.parametrize(
    ("headers", "payload", "kind", "retry_at"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_classify_429(
    headers: dict[str, str], payload: dict[str, Any] | None, kind: str, retry_at: datetime
) -> None:
    limited = classify_429(headers, payload, NOW)
    assert (limited.kind, limited.retry_at) == (kind, retry_at)
    assert limited.status == 429
    assert limited.code == "zoom-rate-limited"
    assert limited.retry_after_seconds == max(0.0, (retry_at - NOW).total_seconds())


def test_daily_detail_says_when_it_resets() -> None:
    limited = classify_429(LIGHT_BUCKET, body(DAILY_USER_LIMIT_MESSAGE), NOW)
    assert "resets at 2024-05-31 00:00 UTC" in limited.detail
    assert "meeting creations and updates for this user" in limited.detail
    assert limited.headers() == {"Retry-After": str(6 * 3600 + 14 * 60 + 50)}
    assert limited.extensions()["limit"] == "daily"
    assert limited.extensions()["retry_at"] == "2024-05-31T00:00:00Z"


def test_account_daily_detail_names_the_api_limit() -> None:
    limited = classify_429({"X-RateLimit-Type": "Daily-limit"}, None, NOW)
    assert limited.detail == (
        "Zoom's daily rate limit for this API has been reached; it resets at 2024-05-31 00:00 UTC."
    )


@pytest.mark.parametrize(("retry_after", "words"), [("1", "1 second."), ("7", "7 seconds.")])
def test_qps_detail_says_how_long_to_wait(retry_after: str, words: str) -> None:
    limited = classify_429({"X-RateLimit-Type": "QPS", "Retry-After": retry_after}, None, NOW)
    assert limited.detail.endswith(f"try again in {words}")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("   ", None),
        ("0", NOW),
        ("2.5", NOW + timedelta(seconds=2.5)),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("99999999", None),
        ("Thu, 30 May 2024 17:46:10 GMT", NOW + timedelta(minutes=1)),
        ("Thu, 30 May 2024 17:46:10 -0000", NOW + timedelta(minutes=1)),
        ("2024-05-31T00:00:00Z", MIDNIGHT),
        ("2024-05-31T00:00:00", MIDNIGHT),  # offset-less: UTC, never local time
        ("2024-05-30T20:00:00-04:00", MIDNIGHT),
        ("tomorrow", None),
    ],
)
def test_parse_retry_after(value: str | None, expected: datetime | None) -> None:
    assert parse_retry_after(value, NOW) == expected


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (NOW, MIDNIGHT),
        (datetime(2024, 5, 31, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)),
        (datetime(2024, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)),
        (datetime(2024, 2, 28, 12, tzinfo=UTC), datetime(2024, 2, 29, tzinfo=UTC)),
        # 23:30 in New York on the 30th is already 03:30 UTC on the 31st.
        (
            datetime(2024, 5, 30, 23, 30, tzinfo=timezone(timedelta(hours=-4))),
            datetime(2024, 6, 1, tzinfo=UTC),
        ),
        (datetime(2024, 5, 31, 1, 0, tzinfo=timezone(timedelta(hours=2))), MIDNIGHT),
    ],
)
def test_next_utc_midnight(now: datetime, expected: datetime) -> None:
    assert next_utc_midnight(now) == expected


def test_next_utc_midnight_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        next_utc_midnight(datetime(2024, 5, 30, 12))  # naive on purpose


aware_datetimes = st.datetimes(
    min_value=datetime(1971, 1, 1),
    max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=-11)), timezone(timedelta(hours=14))]),
)


@given(aware_datetimes)
def test_next_utc_midnight_is_the_next_midnight(now: datetime) -> None:
    midnight = next_utc_midnight(now)
    assert midnight.tzinfo is UTC
    assert (midnight.hour, midnight.minute, midnight.second, midnight.microsecond) == (0, 0, 0, 0)
    assert now < midnight <= now + timedelta(hours=24)
    # No midnight lies strictly between now and the answer.
    assert midnight - timedelta(days=1) <= now


@given(aware_datetimes, st.sampled_from([LIGHT_BUCKET, {}]))
def test_per_user_daily_limit_always_waits_until_midnight(
    now: datetime, headers: dict[str, str]
) -> None:
    limited = classify_429(headers, body(DAILY_USER_LIMIT_MESSAGE), now)
    assert limited.kind == "daily"
    assert limited.retry_at == next_utc_midnight(now)
    assert "00:00 UTC" in limited.detail
