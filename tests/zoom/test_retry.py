from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.problems import (
    Problem,
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomMeetingNotFound,
    ZoomRateLimited,
    ZoomUnavailable,
)
from linkzoom.zoom.retry import RetryPolicy
from tests.zoom.spec import DAILY_USER_LIMIT_MESSAGE, PER_SECOND_MESSAGE, error_body

NOW = datetime(2024, 5, 30, 12, tzinfo=UTC)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
IDEMPOTENT = {"GET", "PUT", "PATCH", "DELETE"}


class Sleeps:
    """Records the delays instead of sleeping, so tests are instant but the logic still runs."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def policy(sleeps: Sleeps | None = None, **overrides: Any) -> RetryPolicy:
    return RetryPolicy(random=lambda: 0.5, sleep=sleeps or Sleeps(), **overrides)


def reply(status: int, body: object = None, **headers: str) -> httpx.Response:
    request = httpx.Request("GET", "https://api.zoom.us/v2/users/me")
    return httpx.Response(
        status, content=json.dumps(body).encode(), headers=headers, request=request
    )


def rate_limited(kind: str, seconds: float) -> ZoomRateLimited:
    return ZoomRateLimited(kind=kind, retry_at=NOW + timedelta(seconds=seconds), now=NOW)


# --- decisions -----------------------------------------------------------------------------

NOT_SENT = [httpx.ConnectError("refused"), httpx.ConnectTimeout("t"), httpx.PoolTimeout("t")]
MAYBE_SENT = [
    httpx.ReadTimeout("t"),
    httpx.WriteTimeout("t"),
    httpx.ReadError("reset"),
    httpx.WriteError("broken pipe"),
    httpx.RemoteProtocolError("Server disconnected without sending a response."),
]
NEVER = [
    httpx.LocalProtocolError("bad header"),
    httpx.ProxyError("p"),
    httpx.UnsupportedProtocol("x"),
]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("exc", NOT_SENT, ids=lambda e: type(e).__name__)
def test_errors_before_sending_are_retried_for_every_method(
    method: str, exc: httpx.TransportError
) -> None:
    assert policy().delay_after_transport_error(exc, method=method, attempt=1) == 0.5 * 0.25


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("exc", MAYBE_SENT, ids=lambda e: type(e).__name__)
def test_errors_after_sending_are_retried_only_for_idempotent_methods(
    method: str, exc: httpx.TransportError
) -> None:
    delay = policy().delay_after_transport_error(exc, method=method, attempt=1)
    assert (delay is not None) is (method in IDEMPOTENT)


def test_a_meeting_create_is_never_resent_after_a_read_timeout() -> None:
    exc = httpx.ReadTimeout("timed out")
    assert policy().delay_after_transport_error(exc, method="post", attempt=1) is None


@pytest.mark.parametrize("exc", NEVER, ids=lambda e: type(e).__name__)
def test_other_transport_errors_are_not_retried(exc: httpx.TransportError) -> None:
    assert policy().delay_after_transport_error(exc, method="GET", attempt=1) is None


@pytest.mark.parametrize(
    ("status", "method", "retried"),
    [
        (503, "GET", True),
        (503, "POST", True),  # a refusal: Zoom did not act
        (502, "GET", True),
        (504, "DELETE", True),
        (502, "POST", False),  # a gateway may have forwarded the create
        (504, "POST", False),
        (500, "GET", False),
        (501, "GET", False),
    ],
)
def test_server_errors(status: int, method: str, retried: bool) -> None:
    problem = ZoomUnavailable()
    delay = policy().delay_after_response(status, problem, method=method, attempt=1)
    assert (delay is not None) is retried


@pytest.mark.parametrize(
    "problem",
    [ZoomError(zoom_code=300), ZoomMeetingNotFound(zoom_code=3001), ZoomAccessTokenRejected()],
    ids=lambda p: type(p).__name__,
)
@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_never_retried(problem: Problem, status: int) -> None:
    assert policy().delay_after_response(status, problem, method="GET", attempt=1) is None


@pytest.mark.parametrize("method", METHODS)
def test_qps_429_waits_retry_after_for_every_method(method: str) -> None:
    delay = policy().delay_after_response(429, rate_limited("qps", 3), method=method, attempt=1)
    assert delay == 3


@pytest.mark.parametrize(
    ("seconds", "retried"), [(0, True), (10, True), (10.5, False), (60, False)]
)
def test_qps_429_is_given_up_when_retry_after_is_too_long(seconds: float, retried: bool) -> None:
    delay = policy().delay_after_response(
        429, rate_limited("qps", seconds), method="GET", attempt=1
    )
    assert (delay is not None) is retried


def test_daily_429_is_never_retried() -> None:
    assert (
        policy().delay_after_response(429, rate_limited("daily", 1), method="GET", attempt=1)
        is None
    )


@pytest.mark.parametrize(("attempt", "retried"), [(1, True), (2, True), (3, False), (4, False)])
def test_attempts_are_capped(attempt: int, retried: bool) -> None:
    rules = policy()
    transport = rules.delay_after_transport_error(
        httpx.ConnectError("x"), method="GET", attempt=attempt
    )
    response = rules.delay_after_response(503, ZoomUnavailable(), method="GET", attempt=attempt)
    limited = rules.delay_after_response(429, rate_limited("qps", 1), method="GET", attempt=attempt)
    assert {transport is not None, response is not None, limited is not None} == {retried}


def test_one_attempt_means_no_retries() -> None:
    rules = policy(max_attempts=1)
    assert (
        rules.delay_after_transport_error(httpx.ConnectError("x"), method="GET", attempt=1) is None
    )


@pytest.mark.parametrize(
    ("attempt", "ceiling"), [(1, 0.25), (2, 0.5), (3, 1.0), (6, 8.0), (7, 8.0), (40, 8.0)]
)
def test_backoff_is_full_jitter_under_an_exponential_ceiling(attempt: int, ceiling: float) -> None:
    assert policy().backoff(attempt) == 0.5 * ceiling
    assert RetryPolicy(random=lambda: 0.0).backoff(attempt) == 0.0
    assert RetryPolicy(random=lambda: 0.999).backoff(attempt) == pytest.approx(0.999 * ceiling)


@given(attempt=st.integers(min_value=1, max_value=200), draw=st.floats(0, 1, exclude_max=True))
def test_backoff_stays_within_bounds(attempt: int, draw: float) -> None:
    delay = RetryPolicy(random=lambda: draw).backoff(attempt)
    assert 0 <= delay <= min(8.0, 0.25 * 2.0 ** (attempt - 1)) * draw


@pytest.mark.parametrize(
    "overrides",
    [{"max_attempts": 0}, {"base_delay": -1.0}, {"base_delay": 9.0, "max_delay": 8.0}],
)
def test_nonsense_policies_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**overrides)


def test_the_real_defaults() -> None:
    rules = RetryPolicy()
    assert (rules.max_attempts, rules.base_delay, rules.max_delay, rules.max_retry_after) == (
        3,
        0.25,
        8.0,
        10.0,
    )
    assert 0 <= rules.backoff(1) < 0.25


# --- the loop ------------------------------------------------------------------------------

Outcome = httpx.Response | httpx.TransportError


def script(outcomes: list[Outcome]) -> tuple[Callable[[], Awaitable[httpx.Response]], list[int]]:
    calls: list[int] = []

    async def send() -> httpx.Response:
        calls.append(len(calls) + 1)
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    return send, calls


async def test_run_returns_the_first_success_after_backing_off() -> None:
    sleeps = Sleeps()
    send, calls = script(
        [httpx.ConnectError("x"), reply(503, error_body(503, "busy")), reply(200, {})]
    )
    response = await policy(sleeps).run("GET", send, clock=lambda: NOW)
    assert response.status_code == 200
    assert calls == [1, 2, 3]
    assert sleeps.delays == [0.5 * 0.25, 0.5 * 0.5]


async def test_run_raises_the_translated_problem_when_it_gives_up() -> None:
    send, calls = script([reply(503, None)] * 3)
    with pytest.raises(ZoomUnavailable):
        await policy().run("GET", send, clock=lambda: NOW)
    assert calls == [1, 2, 3]


async def test_run_chains_transport_errors() -> None:
    original = httpx.ReadTimeout("timed out")
    send, calls = script([original])
    with pytest.raises(ZoomUnavailable) as caught:
        await policy().run("POST", send, clock=lambda: NOW)
    assert caught.value.__cause__ is original
    assert calls == [1]


async def test_run_honours_retry_after_on_qps_429() -> None:
    sleeps = Sleeps()
    limited = reply(
        429, error_body(429, PER_SECOND_MESSAGE), **{"X-RateLimit-Type": "QPS", "Retry-After": "2"}
    )
    send, _ = script([limited, reply(201, {})])
    response = await policy(sleeps).run("POST", send, clock=lambda: NOW)
    assert response.status_code == 201
    assert sleeps.delays == [2.0]


async def test_run_raises_daily_429_at_once() -> None:
    sleeps = Sleeps()
    send, calls = script([reply(429, error_body(429, DAILY_USER_LIMIT_MESSAGE))])
    with pytest.raises(ZoomRateLimited) as caught:
        await policy(sleeps).run("POST", send, clock=lambda: NOW)
    assert caught.value.kind == "daily"
    assert (calls, sleeps.delays) == ([1], [])


async def test_run_reports_every_attempt() -> None:
    seen: list[tuple[str, float]] = []
    send, _ = script([httpx.ConnectError("x"), reply(503, None), reply(204, None)])
    await policy().run("DELETE", send, clock=lambda: NOW, observe=lambda o, s: seen.append((o, s)))
    assert [outcome for outcome, _ in seen] == ["error", "503", "204"]
    assert all(seconds >= 0 for _, seconds in seen)


async def test_run_lets_our_own_problems_through_untouched() -> None:
    async def send() -> httpx.Response:
        raise ZoomAccessTokenRejected("from the token provider")

    seen: list[str] = []
    with pytest.raises(ZoomAccessTokenRejected):
        await policy().run("GET", send, clock=lambda: NOW, observe=lambda o, s: seen.append(o))
    assert seen == ["error"]
