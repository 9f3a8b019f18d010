from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from linkzoom.problems import (
    Problem,
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomGrantInvalid,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)
from linkzoom.zoom.errors import problem_from_response, problem_from_transport
from tests.zoom.spec import DAILY_USER_LIMIT_MESSAGE, INVALID_GRANT, error_body

NOW = datetime(2024, 5, 30, 12, tzinfo=UTC)
REQUEST = httpx.Request("GET", "https://api.zoom.us/v2/meetings/92674392836")


def response(
    status: int, body: object = None, *, text: str | None = None, **headers: str
) -> httpx.Response:
    content = text.encode() if text is not None else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers, request=REQUEST)


MAPPING: list[tuple[str, httpx.Response, type[Problem], int | None]] = [
    # (name, response, problem class (exact), zoom_code)
    (
        "124 invalid token",
        response(401, error_body(124, "Invalid access token.")),
        ZoomAccessTokenRejected,
        124,
    ),
    (
        "124 expired token",
        response(401, error_body(124, "Access token is expired.")),
        ZoomAccessTokenRejected,
        124,
    ),
    (
        "124 sent as a 400",
        response(400, error_body(124, "Invalid access token.")),
        ZoomAccessTokenRejected,
        124,
    ),
    (
        "4700 missing scopes",
        response(
            400,
            error_body(
                4700, "Invalid access token, does not contain scopes:[meeting:write:meeting]."
            ),
        ),
        ZoomAccessTokenRejected,
        4700,
    ),
    (
        "401 with another code",
        response(401, error_body(4711, "Refresh token invalid")),
        ZoomGrantInvalid,
        4711,
    ),
    (
        "401 with an unknown code",
        response(401, error_body(9999, "Unauthorized")),
        ZoomAccessTokenRejected,
        9999,
    ),
    ("401 without code", response(401, {"message": "Unauthorized"}), ZoomAccessTokenRejected, None),
    (
        "300 validation",
        response(
            400,
            {
                "code": 300,
                "message": "Validation Failed.",
                "errors": [{"field": "settings.jbh_time", "message": "Invalid field."}],
            },
        ),
        ZoomRequestInvalid,
        300,
    ),
    (
        "300 bad schedule_for",
        response(400, error_body(300, "Invalid schedule_for.")),
        ZoomRequestInvalid,
        300,
    ),
    (
        "1001 user does not exist",
        response(404, error_body(1001, "User does not exist: me.")),
        ZoomError,
        1001,
    ),
    (
        "1010 user not in account",
        response(400, error_body(1010, "User does not belong to this account.")),
        ZoomError,
        1010,
    ),
    (
        "3001 meeting gone",
        response(404, error_body(3001, "Meeting 92674392836 is not found or has expired.")),
        ZoomMeetingNotFound,
        3001,
    ),
    (
        "3000 cannot update started meeting",
        response(400, error_body(3000, "Cannot update a meeting that has started.")),
        ZoomMeetingLocked,
        3000,
    ),
    (
        "3002 in progress",
        response(
            400, error_body(3002, "Sorry, you cannot delete this meeting since it is in progress.")
        ),
        ZoomMeetingLocked,
        3002,
    ),
    (
        "3003 not the host",
        response(400, error_body(3003, "You are not the meeting host.")),
        ZoomMeetingLocked,
        3003,
    ),
    (
        "3007 already ended",
        response(
            400, error_body(3007, "Sorry, you cannot delete this meeting since it has ended.")
        ),
        ZoomMeetingLocked,
        3007,
    ),
    (
        "3161 hosting not allowed",
        response(
            400,
            error_body(
                3161,
                "Meeting hosting and scheduling capabilities are not allowed for your user"
                " account.",
            ),
        ),
        ZoomError,
        3161,
    ),
    ("plain 400 is never not-found", response(400, {"message": "Bad Request"}), ZoomError, None),
    (
        "bare 404 with JSON is not 'gone'",
        response(404, error_body(1001, "Not Found")),
        ZoomError,
        1001,
    ),
    ("404 with an HTML page", response(404, text="<html>Not Found</html>"), ZoomUnavailable, None),
    ("403 forbidden", response(403, error_body(200, "No permission.")), ZoomError, 200),
    (
        "500 with envelope",
        response(500, error_body(500, "Internal server error")),
        ZoomUnavailable,
        None,
    ),
    ("502 from a gateway", response(502, text="<html>Bad Gateway</html>"), ZoomUnavailable, None),
    ("503 empty", response(503, text=""), ZoomUnavailable, None),
    ("200-range JSON list", response(418, [1, 2]), ZoomUnavailable, None),
    ("code that is a bool", response(400, {"code": True, "message": "odd"}), ZoomError, None),
    ("oauth invalid_grant", response(400, INVALID_GRANT), ZoomGrantInvalid, None),
    (
        "oauth invalid_request with Invalid Token!",
        response(400, {"reason": "Invalid Token!", "error": "invalid_request"}),
        ZoomGrantInvalid,
        None,
    ),
    (
        "oauth invalid_grant for a bad code",
        response(400, {"reason": "Invalid authorization code", "error": "invalid_grant"}),
        ZoomGrantInvalid,
        None,
    ),
    (
        "oauth invalid_client as 401",
        response(401, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
        ZoomError,
        None,
    ),
    (
        "oauth unsupported grant",
        response(400, {"reason": "Unsupported grant type", "error": "unsupported_grant_type"}),
        ZoomError,
        None,
    ),
    (
        "oauth 4702 as 401",
        response(401, error_body(4702, "Invalid client_id or client_secret")),
        ZoomError,
        4702,
    ),
    ("oauth 4704", response(400, error_body(4704, "Invalid client")), ZoomError, 4704),
    (
        "oauth 4733 code expired",
        response(400, error_body(4733, "Code is expired.")),
        ZoomGrantInvalid,
        4733,
    ),
    (
        "oauth 4734 bad code",
        response(400, error_body(4734, "Invalid authorization code.")),
        ZoomGrantInvalid,
        4734,
    ),
    (
        "oauth 4741 revoked",
        response(400, error_body(4741, "Token has been revoked.")),
        ZoomGrantInvalid,
        4741,
    ),
]


@pytest.mark.parametrize(
    ("reply", "kind", "zoom_code"),
    [case[1:] for case in MAPPING],
    ids=[case[0] for case in MAPPING],
)
def test_problem_from_response(
    reply: httpx.Response, kind: type[Problem], zoom_code: int | None
) -> None:
    problem = problem_from_response(reply, now=NOW)
    assert type(problem) is kind
    if isinstance(problem, ZoomError):
        assert problem.zoom_code == zoom_code
        assert problem.http_status == reply.status_code


@pytest.mark.parametrize("headers", [{"X-RateLimit-Type": "QPS"}, {}])
def test_any_429_goes_through_the_rate_limit_classifier(headers: dict[str, str]) -> None:
    problem = problem_from_response(
        response(429, error_body(429, DAILY_USER_LIMIT_MESSAGE), **headers), now=NOW
    )
    assert isinstance(problem, ZoomRateLimited)
    assert problem.kind == ("qps" if headers else "daily")


def test_429_with_a_non_json_body_is_still_rate_limited() -> None:
    problem = problem_from_response(response(429, text="Too Many Requests"), now=NOW)
    assert isinstance(problem, ZoomRateLimited) and problem.kind == "qps"


def test_detail_quotes_zooms_message_and_field_errors() -> None:
    body = {
        "code": 300,
        "message": "Validation Failed.",
        "errors": [{"field": "topic", "message": "Too long."}],
    }
    problem = problem_from_response(response(400, body), now=NOW)
    assert (
        problem.detail == "Zoom answered HTTP 400 (code 300): Validation Failed (topic: Too long)."
    )


def test_oauth_detail_quotes_only_the_reason() -> None:
    problem = problem_from_response(response(400, INVALID_GRANT), now=NOW)
    assert (
        problem.detail
        == "Zoom's authorization server refused the request (invalid_grant): Invalid Token!"
    )


@pytest.mark.parametrize("status", [400, 401, 500])
def test_detail_never_echoes_the_body_or_tokens(status: int) -> None:
    secret = "eyJhbGciOiJIUzUxMiJ9.leaked-token"
    body: dict[str, Any] = {
        "code": 124,
        "message": "Invalid access token.",
        "access_token": secret,
        "refresh_token": secret,
        "debug": {"Authorization": f"Bearer {secret}"},
    }
    reply = response(status, body, Authorization=f"Bearer {secret}")
    problem = problem_from_response(reply, now=NOW)
    assert secret not in problem.detail
    assert secret not in json.dumps(problem.to_json("https://linkzoom.test"))


def test_long_or_multiline_messages_are_bounded() -> None:
    problem = problem_from_response(response(400, error_body(300, "line\n" * 500)), now=NOW)
    assert "\n" not in problem.detail
    assert len(problem.detail) < 400


@pytest.mark.parametrize(
    ("exc", "detail"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "Could not connect to Zoom."),
        (httpx.ConnectTimeout("timed out"), "Could not connect to Zoom."),
        (httpx.ReadTimeout("timed out"), "Zoom did not answer in time."),
        (httpx.PoolTimeout("timed out"), "Zoom did not answer in time."),
        (httpx.WriteTimeout("timed out"), "Zoom did not answer in time."),
        (
            httpx.RemoteProtocolError("Server disconnected"),
            "The connection to Zoom failed (RemoteProtocolError).",
        ),
        (httpx.ReadError("reset by peer"), "The connection to Zoom failed (ReadError)."),
        (
            httpx.ProxyError("https://user:secret@proxy"),
            "The connection to Zoom failed (ProxyError).",
        ),
    ],
)
def test_problem_from_transport(exc: httpx.TransportError, detail: str) -> None:
    problem = problem_from_transport(exc)
    assert type(problem) is ZoomUnavailable
    assert problem.status == 503
    assert problem.detail == detail
