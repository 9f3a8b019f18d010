from __future__ import annotations

import json

import httpx
import pytest

from linkzoom.problems import ZoomGrantInvalid
from linkzoom.zoom.auth import TokenProvider, ZoomBearerAuth
from tests.zoom.spec import error_body

URL = "https://api.zoom.us/v2/users/me"


class Provider:
    """A TokenProvider fake: hands out ``old`` until refreshed, then ``new-1``, ``new-2``…"""

    def __init__(self, *, refresh_error: Exception | None = None) -> None:
        self.current = "old"
        self.rejected: list[str] = []
        self.refresh_error = refresh_error

    async def access_token(self) -> str:
        return self.current

    async def refreshed_access_token(self, rejected: str) -> str:
        self.rejected.append(rejected)
        if self.refresh_error is not None:
            raise self.refresh_error
        self.current = f"new-{len(self.rejected)}"
        return self.current


class Zoom:
    """Answers each request from a script and remembers the Authorization headers it saw."""

    def __init__(self, *replies: httpx.Response) -> None:
        self.replies = list(replies)
        self.seen: list[str] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request.headers.get("Authorization", ""))
        self.bodies.append(request.content)
        return self.replies.pop(0)


def answer(status: int, body: object = None) -> httpx.Response:
    return httpx.Response(status, json=body if body is not None else {})


def test_the_fake_provider_satisfies_the_protocol() -> None:
    provider: TokenProvider = Provider()
    assert provider is not None


async def test_sets_the_bearer_header() -> None:
    zoom = Zoom(answer(200, {"id": "u"}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom)) as http:
        response = await http.get(URL, auth=ZoomBearerAuth(Provider()))
    assert response.status_code == 200
    assert zoom.seen == ["Bearer old"]


@pytest.mark.parametrize(
    "rejection",
    [
        answer(401, error_body(124, "Invalid access token.")),
        answer(401, error_body(124, "Access token is expired.")),
        answer(401, {}),
        answer(400, error_body(124, "Invalid access token.")),
    ],
    ids=["401/124 invalid", "401/124 expired", "bare 401", "400/124"],
)
async def test_a_rejected_token_is_refreshed_and_the_request_sent_once_more(
    rejection: httpx.Response,
) -> None:
    provider = Provider()
    zoom = Zoom(rejection, answer(201, {"id": 1}))
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom)) as http:
        response = await http.post(URL, json={"topic": "t"}, auth=ZoomBearerAuth(provider))
    assert response.status_code == 201
    assert zoom.seen == ["Bearer old", "Bearer new-1"]
    assert provider.rejected == ["old"]
    assert zoom.bodies == [b'{"topic":"t"}'] * 2  # the replay carries the same body


async def test_a_second_rejection_is_returned_not_retried_again() -> None:
    provider = Provider()
    zoom = Zoom(answer(401, error_body(124, "x")), answer(401, error_body(124, "x")), answer(200))
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom)) as http:
        response = await http.get(URL, auth=ZoomBearerAuth(provider))
    assert response.status_code == 401
    assert json.loads(response.content)["code"] == 124
    assert zoom.seen == ["Bearer old", "Bearer new-1"]
    assert provider.rejected == ["old"]
    assert len(zoom.replies) == 1  # the third answer was never asked for


@pytest.mark.parametrize(
    "reply",
    [
        answer(400, error_body(300, "Validation Failed.")),
        answer(400, error_body(4700, "Invalid access token, does not contain scopes")),
        answer(400, {"code": "124"}),
        httpx.Response(400, text="<html>Bad Request</html>"),
        answer(403, error_body(124, "odd")),
        answer(404, error_body(3001, "Meeting is not found or has expired.")),
        answer(429, error_body(429, "slow down")),
        answer(503, {}),
    ],
    ids=["400/300", "400/4700", "code as string", "400 html", "403", "404", "429", "503"],
)
async def test_other_failures_do_not_refresh(reply: httpx.Response) -> None:
    provider = Provider()
    zoom = Zoom(reply)
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom)) as http:
        response = await http.get(URL, auth=ZoomBearerAuth(provider))
    assert response.status_code == reply.status_code
    assert provider.rejected == []
    assert zoom.seen == ["Bearer old"]


async def test_a_failed_refresh_propagates_our_problem() -> None:
    provider = Provider(refresh_error=ZoomGrantInvalid("refresh token spent"))
    zoom = Zoom(answer(401, error_body(124, "x")))
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom)) as http:
        with pytest.raises(ZoomGrantInvalid):
            await http.get(URL, auth=ZoomBearerAuth(provider))
    assert zoom.seen == ["Bearer old"]


def test_sync_clients_are_refused() -> None:
    transport = httpx.MockTransport(Zoom(answer(200)))
    with httpx.Client(transport=transport) as http, pytest.raises(RuntimeError, match="Async"):
        http.get(URL, auth=ZoomBearerAuth(Provider()))
