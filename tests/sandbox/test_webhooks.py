"""Signed webhook delivery: meeting.deleted, meeting.updated, app_deauthorized."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linkzoom.sandbox.webhooks import sign

from .conftest import AppFactory, client_for
from .helpers import WEBHOOK_SECRET, authorize, create_meeting, refresh

RECEIVER_URL = "http://linkzoom.test/webhooks/zoom"


@dataclass
class Receiver:
    """A stand-in for linkzoom's webhook endpoint that keeps what it got."""

    status: int = 200
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    def app(self) -> Starlette:
        async def endpoint(request: Request) -> Response:
            self.received.append((dict(request.headers), await request.body()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/webhooks/zoom", endpoint, methods=["POST"])])

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


def verify(headers: dict[str, str], body: bytes) -> bool:
    """The receiver's side, written out from Zoom's sample rather than imported."""
    timestamp = headers["x-zm-request-timestamp"]
    message = f"v0:{timestamp}:{body.decode()}"
    digest = hmac.new(WEBHOOK_SECRET.encode(), message.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["x-zm-signature"], f"v0={digest}")


@pytest.fixture
def receiver() -> Receiver:
    return Receiver()


@pytest.fixture
async def client(make_app: AppFactory, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=receiver.app())
    app = make_app(transport=transport, webhook_url=RECEIVER_URL)
    async with client_for(app) as http:
        yield http


async def drain(client: httpx.AsyncClient) -> list[dict[str, Any]]:
    deliveries: list[dict[str, Any]] = (await client.post("/_sandbox/webhooks/drain")).json()[
        "deliveries"
    ]
    return deliveries


def test_signature_formula() -> None:
    body = b'{"event":"meeting.deleted"}'
    expected = hmac.new(b"secret", b"v0:1700000000:" + body, hashlib.sha256).hexdigest()
    assert sign("secret", "1700000000", body) == "v0=" + expected


async def test_meeting_deleted_is_signed_and_shaped(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    tokens = await authorize(client)
    meeting = await create_meeting(client, tokens)
    answer = await client.post(f"/_sandbox/meetings/{meeting['id']}/delete")
    assert answer.status_code == 200
    deliveries = await drain(client)
    assert [d["status_code"] for d in deliveries] == [200]
    headers, body = receiver.received[0]
    assert verify(headers, body)
    assert abs(int(headers["x-zm-request-timestamp"]) - time.time()) < 60
    assert headers["content-type"] == "application/json"
    event = json.loads(body)
    assert event["event"] == "meeting.deleted"
    assert isinstance(event["event_ts"], int) and event["event_ts"] > 10**12
    payload = event["payload"]
    user = (await client.get("/v2/users/me", headers=tokens.headers)).json()
    assert payload["account_id"] == user["account_id"]
    assert payload["operator"] == user["email"] and payload["operator_id"] == user["id"]
    assert payload["object"] == {
        "uuid": meeting["uuid"],
        "id": meeting["id"],
        "host_id": user["id"],
        "topic": meeting["topic"],
        "type": 2,
        "start_time": meeting["start_time"],
        "duration": meeting["duration"],
        "timezone": meeting["timezone"],
    }
    gone = await client.get(f"/v2/meetings/{meeting['id']}", headers=tokens.headers)
    assert gone.json()["code"] == 3001
    assert (await client.get("/_sandbox/stats")).json()["webhooks_sent"] == 1


async def test_occurrence_delete_lists_the_occurrence(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    tokens = await authorize(client)
    meeting = await create_meeting(
        client, tokens, type=8, recurrence={"type": 1, "end_times": 3}, timezone="UTC"
    )
    target = meeting["occurrences"][1]
    await client.post(
        f"/_sandbox/meetings/{meeting['id']}/delete",
        json={"occurrence_id": target["occurrence_id"]},
    )
    await drain(client)
    obj = receiver.events()[0]["payload"]["object"]
    assert obj["occurrences"] == [
        {"occurrence_id": target["occurrence_id"], "start_time": target["start_time"]}
    ]
    still_there = await client.get(f"/v2/meetings/{meeting['id']}", headers=tokens.headers)
    assert len(still_there.json()["occurrences"]) == 2


async def test_meeting_updated_has_object_and_old_object(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    tokens = await authorize(client)
    meeting = await create_meeting(client, tokens, topic="Before")
    answer = await client.post(
        f"/_sandbox/meetings/{meeting['id']}/update",
        json={"topic": "After", "start_time": "2031-05-07T14:00:00Z"},
    )
    assert answer.status_code == 200 and answer.json()["meeting"]["topic"] == "After"
    await drain(client)
    headers, body = receiver.received[0]
    assert verify(headers, body)
    payload = json.loads(body)["payload"]
    assert payload["object"]["id"] == meeting["id"]
    assert payload["object"]["topic"] == "After"
    assert payload["object"]["start_time"] == "2031-05-07T14:00:00Z"
    assert payload["old_object"]["topic"] == "Before"
    assert payload["old_object"]["start_time"] == meeting["start_time"]
    assert "duration" not in payload["object"]
    fetched = await client.get(f"/v2/meetings/{meeting['id']}", headers=tokens.headers)
    assert fetched.json()["topic"] == "After"
    nested = await client.post(
        f"/_sandbox/meetings/{meeting['id']}/update", json={"fields": {"duration": 90}}
    )
    assert nested.json()["meeting"]["duration"] == 90
    invalid = await client.post(
        f"/_sandbox/meetings/{meeting['id']}/update", json={"duration": "long"}
    )
    assert invalid.status_code == 400 and invalid.json()["code"] == 300


async def test_deauthorize_revokes_and_notifies(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    tokens = await authorize(client)
    user = (await client.get("/v2/users/me", headers=tokens.headers)).json()
    answer = await client.post(f"/_sandbox/users/{user['id']}/deauthorize")
    assert answer.json()["revoked_grants"] == 1
    await drain(client)
    event = receiver.events()[0]
    assert event["event"] == "app_deauthorized"
    payload = event["payload"]
    assert payload["user_id"] == user["id"] and payload["account_id"] == user["account_id"]
    assert payload["client_id"] == "test-client"
    assert payload["deauthorization_time"].endswith("Z") and payload["signature"]
    assert payload["event_ts"] == event["event_ts"]
    assert (await client.get("/v2/users/me", headers=tokens.headers)).status_code == 401
    assert (await refresh(client, tokens.refresh_token)).json()["error"] == "invalid_grant"
    users = (await client.get("/_sandbox/users")).json()["users"]
    assert users[0]["authorized"] is False


async def test_failed_deliveries_are_recorded(
    client: httpx.AsyncClient, receiver: Receiver
) -> None:
    receiver.status = 500
    tokens = await authorize(client)
    meeting = await create_meeting(client, tokens)
    await client.post(f"/_sandbox/meetings/{meeting['id']}/delete")
    deliveries = await drain(client)
    assert deliveries[0]["status_code"] == 500
    assert (await client.get("/_sandbox/stats")).json()["webhooks_failed"] == 1
    assert (await client.get("/_sandbox/webhooks")).json()["deliveries"] == deliveries


async def test_unreachable_receiver_is_recorded(make_app: AppFactory) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app = make_app(transport=httpx.MockTransport(refuse), webhook_url=RECEIVER_URL)
    async with client_for(app) as client:
        tokens = await authorize(client)
        meeting = await create_meeting(client, tokens)
        await client.post(f"/_sandbox/meetings/{meeting['id']}/delete")
        deliveries = await drain(client)
        assert deliveries[0]["status_code"] is None
        assert deliveries[0]["error"].startswith("ConnectError")


async def test_api_changes_notify_only_when_enabled(
    make_app: AppFactory, receiver: Receiver
) -> None:
    transport = httpx.ASGITransport(app=receiver.app())
    quiet = make_app(transport=transport, webhook_url=RECEIVER_URL)
    loud = make_app(transport=transport, webhook_url=RECEIVER_URL, webhook_api_events=True)
    for app in (quiet, loud):
        async with client_for(app) as client:
            tokens = await authorize(client)
            meeting = await create_meeting(client, tokens)
            url = f"/v2/meetings/{meeting['id']}"
            await client.patch(url, json={"topic": "New"}, headers=tokens.headers)
            await client.delete(url, headers=tokens.headers)
            await drain(client)
    assert [e["event"] for e in receiver.events()] == ["meeting.updated", "meeting.deleted"]


async def test_no_webhook_url_sends_nothing(make_app: AppFactory) -> None:
    app = make_app()
    async with client_for(app) as plain:
        tokens = await authorize(plain)
        meeting = await create_meeting(plain, tokens)
        await plain.post(f"/_sandbox/meetings/{meeting['id']}/delete")
        assert await drain(plain) == []
