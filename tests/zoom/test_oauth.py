from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest
import respx

from linkzoom.metrics import Metrics
from linkzoom.problems import ZoomError, ZoomGrantInvalid, ZoomRateLimited, ZoomUnavailable
from linkzoom.zoom.oauth import ZoomOAuth
from linkzoom.zoom.retry import RetryPolicy
from tests.zoom.spec import INVALID_GRANT, token_response

OAUTH_URL = "https://zoom.us"
CLIENT_ID, CLIENT_SECRET = "Zx9Client_Id", "s3cr3t-client-secret"
REDIRECT = "https://linkzoom.example.com/zoom/callback"
NOW = datetime(2024, 5, 30, 12, tzinfo=UTC)


class NoSleep:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def zoom() -> respx.MockRouter:
    return respx.MockRouter(base_url=OAUTH_URL, assert_all_called=False)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
async def oauth(zoom: respx.MockRouter, metrics: Metrics) -> AsyncIterator[ZoomOAuth]:
    async with httpx.AsyncClient(transport=httpx.MockTransport(zoom.async_handler)) as http:
        yield ZoomOAuth(
            http,
            oauth_url=OAUTH_URL + "/",
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            redirect_uri=REDIRECT,
            metrics=metrics,
            clock=lambda: NOW,
            retry=RetryPolicy(random=lambda: 0.5, sleep=NoSleep()),
        )


def basic(request: httpx.Request) -> tuple[str, str]:
    scheme, _, encoded = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    user, _, password = base64.b64decode(encoded).decode().partition(":")
    return user, password


def form(request: httpx.Request) -> dict[str, str]:
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    return dict(parse_qsl(request.content.decode(), strict_parsing=True))


def calls(metrics: Metrics, operation: str, status: str) -> float:
    value = metrics.registry.get_sample_value(
        "linkzoom_zoom_calls_total", {"operation": operation, "status": status}
    )
    return value or 0.0


def test_authorize_url(oauth: ZoomOAuth) -> None:
    url = oauth.authorize_url(
        state="st/ate+1 2", code_challenge="E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "zoom.us", "/oauth/authorize")
    assert list(parse_qsl(parts.query)) == [
        ("response_type", "code"),
        ("client_id", CLIENT_ID),
        ("redirect_uri", REDIRECT),
        ("state", "st/ate+1 2"),
        ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),
        ("code_challenge_method", "S256"),
    ]
    assert "state=st%2Fate%2B1%202&" in parts.query  # spaces as %20, never "+"
    assert CLIENT_SECRET not in url


async def test_exchange_code_wire_format(
    oauth: ZoomOAuth, zoom: respx.MockRouter, metrics: Metrics
) -> None:
    route = zoom.post("/oauth/token").respond(200, json=token_response())
    tokens = await oauth.exchange_code(
        code="obBEe8ewaL_KdyNjniT4KPd8ffDWt9fGB", code_verifier="v" * 64
    )
    request = route.calls.last.request
    assert basic(request) == (CLIENT_ID, CLIENT_SECRET)
    assert form(request) == {
        "grant_type": "authorization_code",
        "code": "obBEe8ewaL_KdyNjniT4KPd8ffDWt9fGB",
        "redirect_uri": REDIRECT,
        "code_verifier": "v" * 64,
    }
    assert request.url.query == b""  # nothing secret in the URL
    assert tokens.access_token == token_response()["access_token"]
    assert calls(metrics, "oauth.token", "200") == 1


async def test_refresh_wire_format(
    oauth: ZoomOAuth, zoom: respx.MockRouter, metrics: Metrics
) -> None:
    route = zoom.post("/oauth/token").respond(200, json=token_response())
    tokens = await oauth.refresh("eyJ.old-refresh")
    request = route.calls.last.request
    assert basic(request) == (CLIENT_ID, CLIENT_SECRET)
    assert form(request) == {"grant_type": "refresh_token", "refresh_token": "eyJ.old-refresh"}
    assert tokens.refresh_token == "eyJhbGciOiJIUzUxMiJ9.refresh-secret"
    assert tokens.expires_at(NOW) == datetime(2024, 5, 30, 12, 59, 59, tzinfo=UTC)
    assert calls(metrics, "oauth.refresh", "200") == 1


async def test_revoke_wire_format(
    oauth: ZoomOAuth, zoom: respx.MockRouter, metrics: Metrics
) -> None:
    route = zoom.post("/oauth/revoke").respond(200, json={"status": "success"})
    await oauth.revoke("eyJ.access")
    request = route.calls.last.request
    assert basic(request) == (CLIENT_ID, CLIENT_SECRET)
    assert form(request) == {"token": "eyJ.access"}
    assert calls(metrics, "oauth.revoke", "200") == 1


async def test_revoke_without_success_is_an_error(oauth: ZoomOAuth, zoom: respx.MockRouter) -> None:
    zoom.post("/oauth/revoke").respond(200, json={"status": "failed"})
    with pytest.raises(ZoomError, match="did not confirm"):
        await oauth.revoke("eyJ.access")


async def test_spent_refresh_token_is_grant_invalid(
    oauth: ZoomOAuth, zoom: respx.MockRouter, metrics: Metrics
) -> None:
    zoom.post("/oauth/token").respond(400, json=INVALID_GRANT)
    with pytest.raises(ZoomGrantInvalid) as caught:
        await oauth.refresh("eyJ.old-refresh")
    assert "old-refresh" not in caught.value.detail
    assert calls(metrics, "oauth.refresh", "400") == 1


async def test_lost_race_invalid_request_is_grant_invalid(
    oauth: ZoomOAuth, zoom: respx.MockRouter
) -> None:
    zoom.post("/oauth/token").respond(
        400, json={"reason": "Invalid Token!", "error": "invalid_request"}
    )
    with pytest.raises(ZoomGrantInvalid):
        await oauth.refresh("eyJ.old-refresh")


async def test_expired_code_is_grant_invalid(oauth: ZoomOAuth, zoom: respx.MockRouter) -> None:
    zoom.post("/oauth/token").respond(400, json={"code": 4733, "message": "Code is expired."})
    with pytest.raises(ZoomGrantInvalid):
        await oauth.exchange_code(code="c", code_verifier="v" * 43)


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}),
        (400, {"code": 4702, "message": "Invalid client_id or client_secret"}),
        (400, {"code": 4709, "message": "Redirect URI mismatch."}),
    ],
)
async def test_client_misconfiguration_is_a_plain_zoom_error(
    oauth: ZoomOAuth, zoom: respx.MockRouter, status: int, body: dict[str, object]
) -> None:
    zoom.post("/oauth/token").respond(status, json=body)
    with pytest.raises(ZoomError) as caught:
        await oauth.refresh("r")
    assert type(caught.value) is ZoomError
    assert CLIENT_SECRET not in caught.value.detail


@pytest.mark.parametrize("missing", ["access_token", "refresh_token", "expires_in"])
async def test_incomplete_token_response_is_an_error(
    oauth: ZoomOAuth, zoom: respx.MockRouter, missing: str
) -> None:
    body = token_response()
    del body[missing]
    zoom.post("/oauth/token").respond(200, json=body)
    with pytest.raises(ZoomError, match=missing) as caught:
        await oauth.refresh("r")
    assert "secret" not in caught.value.detail


async def test_non_json_token_response_is_an_error(
    oauth: ZoomOAuth, zoom: respx.MockRouter
) -> None:
    zoom.post("/oauth/token").respond(200, text="<html>maintenance</html>")
    with pytest.raises(ZoomError):
        await oauth.refresh("r")


async def test_refresh_is_retried_only_if_it_never_left(
    oauth: ZoomOAuth, zoom: respx.MockRouter, metrics: Metrics
) -> None:
    route = zoom.post("/oauth/token")
    route.side_effect = [httpx.ConnectError("refused"), httpx.Response(200, json=token_response())]
    await oauth.refresh("r")
    assert route.call_count == 2
    assert calls(metrics, "oauth.refresh", "error") == 1
    assert calls(metrics, "oauth.refresh", "200") == 1


@pytest.mark.parametrize(
    "failure",
    [
        httpx.ReadTimeout("timed out"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.Response(502),
        httpx.Response(504),
    ],
    ids=["read timeout", "disconnect", "502", "504"],
)
async def test_refresh_is_never_replayed_once_it_may_have_reached_zoom(
    oauth: ZoomOAuth, zoom: respx.MockRouter, failure: httpx.Response | Exception
) -> None:
    route = zoom.post("/oauth/token")
    route.side_effect = [failure, httpx.Response(200, json=token_response())]
    with pytest.raises(ZoomUnavailable):
        await oauth.refresh("r")
    assert route.call_count == 1  # a replay could spend the rotated token we never saw


async def test_token_endpoint_rate_limit(oauth: ZoomOAuth, zoom: respx.MockRouter) -> None:
    zoom.post("/oauth/token").respond(
        429,
        json={"code": 429, "message": "slow"},
        headers={"X-RateLimit-Type": "QPS", "Retry-After": "60"},
    )
    with pytest.raises(ZoomRateLimited):
        await oauth.refresh("r")


def test_repr_hides_the_client_secret(oauth: ZoomOAuth) -> None:
    assert CLIENT_SECRET not in repr(oauth)
    assert CLIENT_ID in repr(oauth)


async def test_without_metrics() -> None:
    router = respx.MockRouter(base_url=OAUTH_URL)
    router.post("/oauth/token").respond(200, json=token_response())
    async with httpx.AsyncClient(transport=httpx.MockTransport(router.async_handler)) as http:
        plain = ZoomOAuth(
            http, oauth_url=OAUTH_URL, client_id="c", client_secret="s", redirect_uri=REDIRECT
        )
        assert (await plain.refresh("r")).expires_in == 3599
    assert parse_qs(router.calls.last.request.content.decode())["refresh_token"] == ["r"]
