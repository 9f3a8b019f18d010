from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import respx

from linkzoom.metrics import Metrics
from linkzoom.problems import (
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)
from linkzoom.zoom.auth import ZoomBearerAuth
from linkzoom.zoom.client import ZoomClient
from linkzoom.zoom.models import MeetingRequest, MeetingSettings, Recurrence
from linkzoom.zoom.retry import RetryPolicy
from tests.zoom.spec import (
    DAILY_USER_LIMIT_MESSAGE,
    PER_SECOND_MESSAGE,
    START_URL,
    create_meeting_response,
    error_body,
    meeting_list_response,
    recurring_meeting_response,
    user_response,
    validate_request_body,
)

API = "https://api.zoom.us/v2"
NOW = datetime(2024, 5, 30, 12, tzinfo=UTC)
MEETING_ID = 92674392836
START = datetime(2024, 6, 3, 9, tzinfo=UTC)
# Which spec operation each body-carrying call is; a body sent anywhere else fails the test.
BODY_OPERATIONS = [
    ("POST", re.compile(r"/v2/users/[^/]+/meetings"), "/users/{userId}/meetings"),
    ("PATCH", re.compile(r"/v2/meetings/\d+"), "/meetings/{meetingId}"),
]


class Tokens:
    def __init__(self) -> None:
        self.current, self.refreshes = "access-1", 0

    async def access_token(self) -> str:
        return self.current

    async def refreshed_access_token(self, rejected: str) -> str:
        self.refreshes += 1
        self.current = f"access-{self.refreshes + 1}"
        return self.current


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def zoom() -> Iterator[respx.MockRouter]:
    router = respx.MockRouter(base_url=API, assert_all_called=False)
    yield router
    # Every JSON body the client sent, in every test, must be valid for its spec operation.
    for call in router.calls:
        request = call.request
        if not request.content:
            continue
        templates = [
            template
            for method, pattern, template in BODY_OPERATIONS
            if request.method == method and pattern.fullmatch(request.url.path)
        ]
        assert templates, f"unexpected body on {request.method} {request.url.path}"
        validate_request_body(request.method, templates[0], json.loads(request.content))


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def tokens() -> Tokens:
    return Tokens()


@pytest.fixture
def auth(tokens: Tokens) -> ZoomBearerAuth:
    return ZoomBearerAuth(tokens)


@pytest.fixture
async def client(
    zoom: respx.MockRouter, sleeps: Sleeps, metrics: Metrics
) -> AsyncIterator[ZoomClient]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom.async_handler)) as http:
        yield ZoomClient(
            http,
            api_url=API + "/",
            retry=RetryPolicy(random=lambda: 0.5, sleep=sleeps),
            metrics=metrics,
            clock=lambda: NOW,
        )


def calls(metrics: Metrics, operation: str, status: str) -> float:
    labels = {"operation": operation, "status": status}
    return metrics.registry.get_sample_value("linkzoom_zoom_calls_total", labels) or 0.0


def sent(route: respx.Route) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(route.calls.last.request.content)
    return body


REQUESTS = {
    "scheduled": MeetingRequest(
        topic="Planning",
        type=2,
        start_time=START,
        duration=45,
        timezone="Europe/Berlin",
        agenda="Roadmap",
        settings=MeetingSettings(
            waiting_room=True, join_before_host=False, email_notification=False
        ),
    ),
    "daily x10": MeetingRequest(
        topic="Stand-up",
        type=8,
        start_time=START,
        duration=15,
        recurrence=Recurrence(type=1, repeat_interval=1, end_times=10),
    ),
    "weekly Mon+Wed until": MeetingRequest(
        topic="Sync",
        type=8,
        start_time=START,
        duration=30,
        recurrence=Recurrence(type=2, weekly_days="2,4", end_date_time=START + timedelta(days=60)),
    ),
    "monthly last Friday": MeetingRequest(
        topic="Review",
        type=8,
        start_time=START,
        recurrence=Recurrence(type=3, monthly_week=-1, monthly_week_day=6, end_times=12),
    ),
}


# --- endpoints -----------------------------------------------------------------------------


async def test_get_me(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth, metrics: Metrics
) -> None:
    route = zoom.get("/users/me").respond(200, json=user_response())
    user = await client.get_me(auth=auth)
    assert (user.id, user.account_id, user.email) == (
        "KDcuGIm1QgePTO8WbOqwIQ",
        "q6gBJVO5TzexKYTb_I2rpg",
        "jchill@example.com",
    )
    assert route.calls.last.request.headers["Authorization"] == "Bearer access-1"
    assert calls(metrics, "users.me", "200") == 1


@pytest.mark.parametrize("request_", REQUESTS.values(), ids=REQUESTS.keys())
async def test_create_meeting(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    metrics: Metrics,
    request_: MeetingRequest,
) -> None:
    route = zoom.post("/users/me/meetings").respond(201, json=create_meeting_response())
    meeting = await client.create_meeting(request_, auth=auth)
    assert meeting.id == MEETING_ID
    assert sent(route) == request_.to_json()
    assert sent(route)["start_time"] == "2024-06-03T09:00:00Z"
    assert calls(metrics, "meetings.create", "201") == 1
    assert metrics.daily.pending() == {(NOW.date(), "meeting_created", ""): 1}  # the Overview


async def test_create_meeting_does_not_keep_start_url(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    zoom.post("/users/me/meetings").respond(201, json=create_meeting_response())
    meeting = await client.create_meeting(REQUESTS["scheduled"], auth=auth)
    assert not hasattr(meeting, "start_url")
    assert START_URL not in repr(meeting) and "zak=" not in repr(meeting)


async def test_create_meeting_for_another_user(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.post("/users/jill%2Bzoom@example.com/meetings").respond(
        201, json=create_meeting_response()
    )
    await client.create_meeting(REQUESTS["scheduled"], auth=auth, user_id="jill+zoom@example.com")
    assert route.called


async def test_get_meeting(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.get(f"/meetings/{MEETING_ID}").respond(200, json=recurring_meeting_response())
    meeting = await client.get_meeting(MEETING_ID, auth=auth)
    assert meeting.status == "waiting" and len(meeting.occurrences) == 2
    assert route.calls.last.request.url.query == b""


async def test_get_one_occurrence(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.get(f"/meetings/{MEETING_ID}", params={"occurrence_id": "1712242800000"})
    route.respond(200, json=recurring_meeting_response())
    await client.get_meeting(MEETING_ID, auth=auth, occurrence_id="1712242800000")
    assert route.called


@pytest.mark.parametrize("occurrence_id", [None, "1712242800000"])
async def test_update_meeting(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    metrics: Metrics,
    occurrence_id: str | None,
) -> None:
    route = zoom.patch(f"/meetings/{MEETING_ID}").respond(204)
    change = MeetingRequest(start_time=START + timedelta(hours=1), duration=30, agenda="Moved")
    await client.update_meeting(MEETING_ID, change, auth=auth, occurrence_id=occurrence_id)
    request = route.calls.last.request
    assert sent(route) == {"start_time": "2024-06-03T10:00:00Z", "duration": 30, "agenda": "Moved"}
    assert request.url.params.get("occurrence_id") == occurrence_id
    assert calls(metrics, "meetings.update", "204") == 1


async def test_update_refuses_create_only_fields_before_calling(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.patch(f"/meetings/{MEETING_ID}").respond(204)
    with pytest.raises(ValueError, match="default_password"):
        await client.update_meeting(MEETING_ID, MeetingRequest(default_password=True), auth=auth)
    assert not route.called


@pytest.mark.parametrize(
    ("kwargs", "query"),
    [
        ({}, {"schedule_for_reminder": "false", "cancel_meeting_reminder": "false"}),
        (
            {"occurrence_id": "1712242800000"},
            {
                "occurrence_id": "1712242800000",
                "schedule_for_reminder": "false",
                "cancel_meeting_reminder": "false",
            },
        ),
        (
            {"schedule_for_reminder": True, "cancel_meeting_reminder": True},
            {"schedule_for_reminder": "true", "cancel_meeting_reminder": "true"},
        ),
    ],
)
async def test_delete_meeting(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    metrics: Metrics,
    kwargs: dict[str, Any],
    query: dict[str, str],
) -> None:
    route = zoom.delete(f"/meetings/{MEETING_ID}").respond(204)
    await client.delete_meeting(MEETING_ID, auth=auth, **kwargs)
    assert dict(route.calls.last.request.url.params) == query
    assert calls(metrics, "meetings.delete", "204") == 1


async def test_list_meetings(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.get("/users/me/meetings").respond(
        200, json=meeting_list_response(next_page_token="tok")
    )
    page = await client.list_meetings(
        auth=auth, type="upcoming", page_size=50, next_page_token="prev"
    )
    assert dict(route.calls.last.request.url.params) == {
        "type": "upcoming",
        "page_size": "50",
        "next_page_token": "prev",
    }
    assert [m.id for m in page.meetings] == [1, 2] and page.next_page_token == "tok"


async def test_list_defaults(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.get("/users/me/meetings").respond(200, json=meeting_list_response())
    await client.list_meetings(auth=auth)
    assert dict(route.calls.last.request.url.params) == {"type": "scheduled", "page_size": "300"}


@pytest.mark.parametrize("page_size", [0, 301])
async def test_list_page_size_is_bounded(
    client: ZoomClient, auth: ZoomBearerAuth, page_size: int
) -> None:
    with pytest.raises(ValueError):
        await client.list_meetings(auth=auth, page_size=page_size)


async def test_iter_meetings_follows_pages(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.get("/users/me/meetings")
    route.side_effect = [
        httpx.Response(200, json=meeting_list_response(next_page_token="p2", ids=(1, 2))),
        httpx.Response(200, json=meeting_list_response(next_page_token="p3", ids=(3,))),
        httpx.Response(200, json=meeting_list_response(ids=(4,))),
    ]
    ids = [meeting.id async for meeting in client.iter_meetings(auth=auth)]
    assert ids == [1, 2, 3, 4]
    tokens = [call.request.url.params.get("next_page_token") for call in route.calls]
    assert tokens == [None, "p2", "p3"]


async def test_iter_meetings_stops_on_a_repeated_token(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    zoom.get("/users/me/meetings").respond(200, json=meeting_list_response(next_page_token="same"))
    with pytest.raises(ZoomError, match="repeated"):
        async for _ in client.iter_meetings(auth=auth):
            pass


@pytest.mark.parametrize("meeting_id", [0, -1, True])
async def test_meeting_ids_must_be_positive_integers(
    client: ZoomClient, auth: ZoomBearerAuth, meeting_id: int
) -> None:
    with pytest.raises(ValueError):
        await client.get_meeting(meeting_id, auth=auth)


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 401])
async def test_rejected_token_is_refreshed_and_the_create_sent_once_more(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth, tokens: Tokens, status: int
) -> None:
    replies = [
        httpx.Response(status, json=error_body(124, "Access token is expired.")),
        httpx.Response(201, json=create_meeting_response()),
    ]
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        # Recorded at send time: the auth flow re-sends the same Request with a new header.
        seen.append(request.headers["Authorization"])
        return replies.pop(0)

    route = zoom.post("/users/me/meetings").mock(side_effect=answer)
    meeting = await client.create_meeting(REQUESTS["scheduled"], auth=auth)
    assert meeting.id == MEETING_ID
    assert seen == ["Bearer access-1", "Bearer access-2"]
    assert route.call_count == 2
    assert tokens.refreshes == 1


async def test_a_token_rejected_twice_is_not_refreshed_again(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth, tokens: Tokens
) -> None:
    route = zoom.get("/users/me").respond(401, json=error_body(124, "Invalid access token."))
    with pytest.raises(ZoomAccessTokenRejected) as caught:
        await client.get_me(auth=auth)
    assert route.call_count == 2
    assert tokens.refreshes == 1
    assert caught.value.zoom_code == 124
    assert "access-" not in caught.value.detail


# --- errors and retries ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "problem"),
    [
        (
            404,
            error_body(3001, f"Meeting {MEETING_ID} is not found or has expired."),
            ZoomMeetingNotFound,
        ),
        (400, error_body(3000, "Cannot access meeting info."), ZoomMeetingLocked),
        (400, error_body(3003, "You are not the meeting host."), ZoomMeetingLocked),
        (400, error_body(300, "Validation Failed."), ZoomRequestInvalid),
        (404, error_body(1001, "User does not exist: me."), ZoomError),
        (400, {"message": "Bad Request"}, ZoomError),
        (500, error_body(500, "Internal error"), ZoomUnavailable),
    ],
)
async def test_zoom_errors_arrive_as_problems(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    status: int,
    body: dict[str, Any],
    problem: type[Exception],
) -> None:
    route = zoom.delete(f"/meetings/{MEETING_ID}").respond(status, json=body)
    with pytest.raises(problem) as caught:
        await client.delete_meeting(MEETING_ID, auth=auth)
    assert type(caught.value) is problem
    assert route.call_count == 1


async def test_daily_limit_is_raised_without_retrying(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    sleeps: Sleeps,
    metrics: Metrics,
) -> None:
    headers = {
        "x-ratelimit-category": "Light",
        "x-ratelimit-limit": "6000",
        "x-ratelimit-remaining": "5893",
    }
    route = zoom.post("/users/me/meetings").respond(
        429, json=error_body(429, DAILY_USER_LIMIT_MESSAGE), headers=headers
    )
    with pytest.raises(ZoomRateLimited) as caught:
        await client.create_meeting(REQUESTS["daily x10"], auth=auth)
    assert caught.value.kind == "daily"
    assert caught.value.retry_at == datetime(2024, 5, 31, tzinfo=UTC)
    assert "00:00 UTC" in caught.value.detail
    assert (route.call_count, sleeps.delays) == (1, [])
    assert calls(metrics, "meetings.create", "429") == 1


async def test_qps_limit_is_waited_out(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    sleeps: Sleeps,
    metrics: Metrics,
) -> None:
    route = zoom.post("/users/me/meetings")
    route.side_effect = [
        httpx.Response(
            429,
            json=error_body(429, PER_SECOND_MESSAGE),
            headers={"X-RateLimit-Type": "QPS", "Retry-After": "2"},
        ),
        httpx.Response(201, json=create_meeting_response()),
    ]
    await client.create_meeting(REQUESTS["scheduled"], auth=auth)
    assert (route.call_count, sleeps.delays) == (2, [2.0])
    assert calls(metrics, "meetings.create", "429") == 1
    assert calls(metrics, "meetings.create", "201") == 1


async def test_503_is_retried_then_given_up(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    sleeps: Sleeps,
    metrics: Metrics,
) -> None:
    route = zoom.get(f"/meetings/{MEETING_ID}").respond(503, text="Service Unavailable")
    with pytest.raises(ZoomUnavailable):
        await client.get_meeting(MEETING_ID, auth=auth)
    assert route.call_count == 3
    assert sleeps.delays == [0.125, 0.25]
    # The Overview counts the failed call once, by its problem type, not each attempt.
    assert metrics.daily.pending() == {(NOW.date(), "zoom_error", "zoom-unavailable"): 1}


@pytest.mark.parametrize(
    "failure",
    [httpx.ReadTimeout("timed out"), httpx.Response(504, text="Gateway Timeout")],
    ids=["timeout", "504"],
)
async def test_a_create_that_may_have_reached_zoom_is_never_resent(
    client: ZoomClient,
    zoom: respx.MockRouter,
    auth: ZoomBearerAuth,
    failure: Exception | httpx.Response,
) -> None:
    route = zoom.post("/users/me/meetings")
    route.side_effect = [failure, httpx.Response(201, json=create_meeting_response())]
    with pytest.raises(ZoomUnavailable):
        await client.create_meeting(REQUESTS["scheduled"], auth=auth)
    assert route.call_count == 1  # a second POST would make a duplicate meeting


async def test_a_create_that_never_connected_is_retried(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth, metrics: Metrics
) -> None:
    route = zoom.post("/users/me/meetings")
    route.side_effect = [
        httpx.ConnectError("refused"),
        httpx.Response(201, json=create_meeting_response()),
    ]
    await client.create_meeting(REQUESTS["scheduled"], auth=auth)
    assert route.call_count == 2
    assert calls(metrics, "meetings.create", "error") == 1


async def test_idempotent_calls_are_retried_after_a_read_timeout(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    route = zoom.patch(f"/meetings/{MEETING_ID}")
    route.side_effect = [httpx.ReadTimeout("timed out"), httpx.Response(204)]
    await client.update_meeting(MEETING_ID, MeetingRequest(agenda="a"), auth=auth)
    assert route.call_count == 2


async def test_transport_errors_are_translated_and_chained(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    zoom.get("/users/me").mock(side_effect=httpx.ConnectError("[Errno 111] Connection refused"))
    with pytest.raises(ZoomUnavailable) as caught:
        await client.get_me(auth=auth)
    assert isinstance(caught.value.__cause__, httpx.ConnectError)


async def test_a_2xx_that_is_not_json_is_unavailable(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    zoom.get("/users/me").respond(200, text="<html>captive portal</html>")
    with pytest.raises(ZoomUnavailable):
        await client.get_me(auth=auth)


async def test_a_malformed_meeting_is_a_zoom_error(
    client: ZoomClient, zoom: respx.MockRouter, auth: ZoomBearerAuth
) -> None:
    zoom.post("/users/me/meetings").respond(201, json=create_meeting_response(id="not-a-number"))
    with pytest.raises(ZoomError, match=r"meeting\.id"):
        await client.create_meeting(REQUESTS["scheduled"], auth=auth)


async def test_without_metrics_or_policy(zoom: respx.MockRouter, auth: ZoomBearerAuth) -> None:
    zoom.get("/users/me").respond(200, json=user_response())
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom.async_handler)) as http:
        plain = ZoomClient(http, api_url=API)
        assert (await plain.get_me(auth=auth)).id == "KDcuGIm1QgePTO8WbOqwIQ"


def test_naive_start_times_never_reach_the_client() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MeetingRequest(topic="t", type=2, start_time=datetime(2024, 6, 3, 9))
