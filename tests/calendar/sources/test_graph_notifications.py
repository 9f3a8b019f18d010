"""``POST /webhooks/graph`` over the real application: Graph's validation handshake, and
notifications that make a mailbox due only when they carry its subscription's client state."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select, update

from linkzoom.app import create_app
from linkzoom.calendar.sources import mailboxes, subscriptions
from linkzoom.config import Settings
from linkzoom.identity.users import add_local
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox

pytestmark = pytest.mark.one_database
LATER = timedelta(hours=1)


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[tuple[httpx.AsyncClient, Runtime, int]]:
    app = create_app(settings, with_worker=False)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        now = datetime.now(UTC)
        async with transaction(runtime.sessions) as session:
            user = await add_local(
                session, username="alice", password="alice-password-1", now=now
            )
            mailbox_id = await mailboxes.enrol(
                session, user_id=user.id, source="graph", address="alice@x.org", now=now
            )
            await session.execute(
                update(WatchedMailbox)
                .where(WatchedMailbox.id == mailbox_id)
                .values(
                    subscription_id="sub-1",
                    subscription_expires_at=now + timedelta(days=2),
                    client_state_digest=subscriptions.digest("the-state"),
                    due_at=now + LATER,
                )
            )
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as http:
            yield http, runtime, mailbox_id


async def _due_at(runtime: Runtime, mailbox_id: int) -> datetime:
    async with transaction(runtime.sessions) as session:
        found = await session.scalar(
            select(WatchedMailbox.due_at).where(WatchedMailbox.id == mailbox_id)
        )
    assert found is not None
    return found


def _note(client_state: str, **more: str) -> dict[str, object]:
    return {
        "value": [
            {
                "subscriptionId": "sub-1",
                "clientState": client_state,
                "changeType": "updated",
                "resource": "Users/u/Events/e",
                **more,
            }
        ]
    }


async def test_the_validation_token_is_echoed_as_plain_text(
    client: tuple[httpx.AsyncClient, Runtime, int],
) -> None:
    http, _, _ = client
    token = "Validation: Testing client application reachability for subscription Request-Id: 1"
    answer = await http.post("/webhooks/graph", params={"validationToken": token})
    assert answer.status_code == 200
    assert answer.text == token and answer.headers["content-type"].startswith("text/plain")


async def test_a_notification_with_its_client_state_makes_the_mailbox_due(
    client: tuple[httpx.AsyncClient, Runtime, int],
) -> None:
    http, runtime, mailbox_id = client
    before = await _due_at(runtime, mailbox_id)
    forged = await http.post("/webhooks/graph", json=_note("guessed"))
    assert forged.status_code == 202  # the same answer: a forger learns nothing
    assert await _due_at(runtime, mailbox_id) == before
    genuine = await http.post("/webhooks/graph", json=_note("the-state"))
    assert genuine.status_code == 202
    assert await _due_at(runtime, mailbox_id) < before


async def test_bad_bodies_are_problems_not_server_errors(
    client: tuple[httpx.AsyncClient, Runtime, int],
) -> None:
    http, _, _ = client
    not_json = await http.post("/webhooks/graph", content=b"{", headers={"content-type": "x"})
    assert not_json.status_code == 400
    assert not_json.headers["content-type"] == "application/problem+json"
    no_list = await http.post("/webhooks/graph", json={"value": "x"})
    assert no_list.status_code == 422
    assert no_list.headers["content-type"] == "application/problem+json"
    junk = await http.post("/webhooks/graph", json={"value": [1, {"subscriptionId": 3}]})
    assert junk.status_code == 202
