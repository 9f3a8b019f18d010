"""The mailbox watch over Microsoft Graph: the real msal and the project's Graph code against the
Graph stand-in (HTTPS on loopback), the real calendar mirror and the Zoom sandbox.

As for Exchange Server, each scenario starts as a user does — the add-in turns Zoom on and
writes its custom properties — then changes the event only in the mailbox.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import trustme
from sqlalchemy import select, update

from linkzoom.calendar import store
from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.models import SYNCED
from linkzoom.calendar.service import Mirror, mirror_of
from linkzoom.calendar.sources import graph, mailboxes, subscriptions
from linkzoom.calendar.sources.base import SourceBusy
from linkzoom.calendar.sources.graph import GraphSource
from linkzoom.calendar.sources.graph_config import Credential, GraphSettings
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from tests.calendar.harness import SandboxProcess, advance, align_clocks, drain, link_user
from tests.calendar.sources.sharing import each_polled_once
from tests.calendar.test_runner import event
from tests.support.clock import FakeClock
from tests.support.graph import (
    ADDIN_ID,
    CLIENT_ID,
    CLIENT_SECRET,
    TENANT_ID,
    GraphServer,
    Mailbox,
    NotificationSink,
)

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
WEEKLY_MONDAYS = {
    "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["monday"],
                "firstDayOfWeek": "sunday"},
    "range": {"type": "numbered", "startDate": "2026-12-07", "numberOfOccurrences": 6,
              "recurrenceTimeZone": "W. Europe Standard Time"},
}  # fmt: skip


@pytest.fixture(scope="module")
def graph_server() -> Iterator[GraphServer]:
    server = GraphServer()
    yield server
    server.close()


def settings_for(server: GraphServer, credential: Credential | None = None) -> GraphSettings:
    return GraphSettings(
        tenant_id=TENANT_ID,
        client_id=CLIENT_ID,
        credential=credential or Credential.from_secret(CLIENT_SECRET),
        authority=server.url,
        api_url=server.url,
    )


@dataclass
class Watch:
    runtime: Runtime
    mirror: Mirror
    sandbox: SandboxProcess
    clock: FakeClock
    graph: GraphServer
    source: GraphSource
    user_id: int
    mailbox: Mailbox
    mailbox_id: int

    def watcher(
        self, owner: str = "worker-1", batch: int = 50, poll_interval: timedelta = timedelta(0)
    ) -> MailboxWatcher:
        return MailboxWatcher(
            sessions=self.runtime.sessions,
            calendar=self.mirror.service,
            readers={"graph": self.source},
            clock=self.clock,
            owner=owner,
            poll_interval=poll_interval,
            batch=batch,
        )

    async def poll(self) -> int:
        polled = await self.watcher().poll_due()
        advance(self.sandbox, self.clock, seconds=3)
        await drain(self.mirror, self.clock)
        return sum(p.applied for p in polled)

    async def turn_zoom_on(
        self, key: str, start: datetime, *, marks: str = "both", **item: Any
    ) -> tuple[str, int]:
        answer = await self.mirror.service.put(
            user_id=self.user_id, event_key=key, event=event(start, 60)
        )
        assert answer.binding.confirmed is not None
        meeting_id = answer.binding.confirmed.meeting_id
        cecp = {"linkzoom_event_key": key, "linkzoom_meeting_id": str(meeting_id)}
        fields: dict[str, Any] = {
            "subject": "Planning",
            "start": start,
            "end": start + timedelta(hours=1),
            "zone": "W. Europe Standard Time",
            "location": "" if marks == "properties" else f"https://zoom.example/j/{meeting_id}",
            "body": f"<p>Join: https://zoom.example/j/{meeting_id}</p>",
            "cecp": None if marks == "link" else json.dumps(cecp),
        }
        return self.mailbox.add(**(fields | item)), meeting_id

    def meeting(self, meeting_id: int) -> dict[str, Any] | None:
        found = [m for m in self.sandbox.meetings() if m["id"] == meeting_id]
        return found[0] if found else None

    async def row(self) -> WatchedMailbox:
        async with transaction(self.runtime.sessions) as session:
            found = await session.scalar(
                select(WatchedMailbox).where(WatchedMailbox.id == self.mailbox_id)
            )
        assert found is not None
        return found


@pytest.fixture
def trusted(graph_server: GraphServer, monkeypatch: pytest.MonkeyPatch) -> None:
    """msal (requests) and the Graph client (httpx) trust the stand-in's test CA."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", graph_server.ca_file)
    monkeypatch.setenv("SSL_CERT_FILE", graph_server.ca_file)


@pytest.fixture
async def watch(
    runtime: Runtime,
    sandbox: SandboxProcess,
    clock: FakeClock,
    graph_server: GraphServer,
    trusted: None,
) -> AsyncIterator[Watch]:
    align_clocks(sandbox, clock)
    graph_server.clock = clock
    user_id = await link_user(runtime, sandbox, "alice")
    address = f"alice-{id(runtime)}@x.org"
    source = GraphSource(
        settings_for(graph_server), addin_id=ADDIN_ID, notification_url=None, clock=clock
    )
    async with transaction(runtime.sessions) as session:
        mailbox_id = await mailboxes.enrol(
            session, user_id=user_id, source="graph", address=address, now=clock()
        )
    try:
        yield Watch(
            runtime=runtime,
            mirror=mirror_of(runtime),
            sandbox=sandbox,
            clock=clock,
            graph=graph_server,
            source=source,
            user_id=user_id,
            mailbox=graph_server.mailbox(address),
            mailbox_id=mailbox_id,
        )
    finally:
        await source.close()


def updates(watch: Watch) -> int:
    return sum(watch.sandbox.calls().get("meetings.update", {}).values())


@pytest.mark.one_database  # the watcher's database work is covered by the Exchange tests
async def test_an_event_moved_in_the_mailbox_moves_the_meeting_and_a_delete_ends_it(
    watch: Watch,
) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-move", START)
    watch.mailbox.add(subject="Lunch", start=START, end=START + timedelta(hours=1))  # no Zoom
    assert await watch.poll() == 1  # the first listing: the event is followed
    watch.mailbox.update(
        item_id, start=START + timedelta(days=1), end=START + timedelta(days=1, hours=2)
    )
    assert await watch.poll() == 1
    moved = watch.meeting(meeting_id)
    assert moved is not None
    assert moved["start_time"] == "2026-12-08T09:00:00Z" and moved["duration"] == 120
    watch.mailbox.delete(item_id)
    assert await watch.poll() == 1
    assert watch.meeting(meeting_id) is None


@pytest.mark.one_database
@pytest.mark.parametrize("marks", ["properties", "link"])
async def test_the_binding_is_found_by_the_custom_property_or_else_the_join_link(
    watch: Watch, marks: str
) -> None:
    item_id, meeting_id = await watch.turn_zoom_on(f"key-{marks}", START, marks=marks)
    await watch.poll()
    watch.mailbox.update(item_id, start=START + timedelta(hours=4), end=START + timedelta(hours=5))
    assert await watch.poll() == 1
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-07T13:00:00Z"


@pytest.mark.one_database
async def test_an_idle_mailbox_costs_one_request_and_events_without_a_link_are_not_fetched(
    watch: Watch,
) -> None:
    item_id, _ = await watch.turn_zoom_on("key-idle", START)
    for n in range(5):
        watch.mailbox.add(subject=f"Other {n}", start=START, end=START + timedelta(hours=1))
    await watch.poll()
    base = f"/v1.0/users/{watch.mailbox.address}/events/"
    fetched = [p for m, p in watch.graph.requests if m == "GET" and p.startswith(base)]
    assert fetched == [base + item_id]  # only the event with Zoom, once
    before = len(watch.graph.requests)
    assert await watch.poll() == 0
    idle = [p for _, p in watch.graph.requests[before:] if watch.mailbox.address in p]
    assert idle == [f"/v1.0/users/{watch.mailbox.address}/calendarView/delta"]


@pytest.mark.one_database
async def test_edited_twice_between_polls_is_one_zoom_update(watch: Watch) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-twice", START)
    await watch.poll()
    watch.mailbox.update(item_id, start=START + timedelta(hours=1), end=START + timedelta(hours=2))
    watch.mailbox.update(item_id, start=START + timedelta(hours=3), end=START + timedelta(hours=4))
    updates_before = updates(watch)
    await watch.poll()
    assert updates(watch) - updates_before == 1
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-07T12:00:00Z"


@pytest.mark.one_database
async def test_occurrences_and_rules_changed_in_the_mailbox_reach_the_series(watch: Watch) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-series", START)
    await watch.poll()
    watch.mailbox.update(item_id, recurrence=WEEKLY_MONDAYS)
    await watch.poll()
    series = watch.meeting(meeting_id)
    assert series is not None and series["type"] == 8
    assert [o["start_time"] for o in series["occurrences"]][:2] == [
        "2026-12-07T09:00:00Z",
        "2026-12-14T09:00:00Z",
    ]
    second, third = START + timedelta(days=7), START + timedelta(days=14)
    watch.mailbox.move_occurrence(
        item_id, second, second + timedelta(hours=2), second + timedelta(hours=3)
    )
    await watch.poll()
    watch.mailbox.cancel_occurrence(item_id, third)
    await watch.poll()
    series = watch.meeting(meeting_id)
    assert series is not None
    starts = [o["start_time"] for o in series["occurrences"]]
    assert "2026-12-14T11:00:00Z" in starts and "2026-12-21T09:00:00Z" not in starts
    assert len(starts) == 5
    watch.mailbox.delete(item_id)  # the series: every occurrence leaves the calendar view
    await watch.poll()
    assert watch.meeting(meeting_id) is None


@pytest.mark.one_database
async def test_an_expired_delta_token_lists_again_without_duplicates_or_wrong_deletes(
    watch: Watch,
) -> None:
    now = watch.clock()
    _, kept_meeting = await watch.turn_zoom_on("key-kept", now + timedelta(days=1))
    gone, gone_meeting = await watch.turn_zoom_on("key-gone", now + timedelta(days=1, hours=2))
    # Nearly a week ago: in the first listing's window, not in the next one's.
    _, past_meeting = await watch.turn_zoom_on("key-past", now - timedelta(days=6, hours=12))
    await watch.poll()
    watch.graph.expire_delta_tokens()
    watch.mailbox.delete(gone)  # deleted while the token went stale
    watch.clock.advance(days=1)
    meetings_before = len(watch.sandbox.meetings())
    await watch.poll()
    assert watch.meeting(kept_meeting) is not None
    assert watch.meeting(past_meeting) is not None  # not listed, but still there: kept
    assert watch.meeting(gone_meeting) is None
    assert len(watch.sandbox.meetings()) == meetings_before - 1  # nothing made twice
    row = await watch.row()
    assert row.status == "ok" and row.resync_from is None


@pytest.mark.one_database
async def test_a_delta_token_expired_while_the_window_rolls_is_a_full_listing_too(
    watch: Watch,
) -> None:
    now = watch.clock()
    _, kept_meeting = await watch.turn_zoom_on("key-kept", now + timedelta(days=20))
    gone, gone_meeting = await watch.turn_zoom_on("key-gone", now + timedelta(days=20, hours=2))
    await watch.poll()
    watch.graph.expire_delta_tokens()
    watch.mailbox.delete(gone)
    watch.clock.advance(days=8)  # the window rolls: the old round cannot be drained
    await watch.poll()
    assert watch.meeting(kept_meeting) is not None
    assert watch.meeting(gone_meeting) is None


@pytest.mark.one_database
async def test_throttling_is_waited_out_per_mailbox_and_for_the_tenant(watch: Watch) -> None:
    await watch.turn_zoom_on("key-busy", START)
    watch.graph.throttle(times=1, retry_after=30)
    polled = await watch.watcher().poll_due()
    assert [p.status for p in polled] == ["busy"]
    row = await watch.row()
    assert row.due_at == watch.clock() + timedelta(seconds=30)
    assert "429 TooManyRequests" in (row.last_error or "")
    assert await watch.watcher().poll_due() == []  # not due yet
    watch.clock.advance(seconds=31)
    assert [p.status for p in await watch.watcher().poll_due()] == ["ok"]
    # Throttled on several mailboxes within a minute (alice's counts: a moment ago): the
    # tenant's limit, and every mailbox waits.
    watch.graph.throttle(times=graph.TENANT_THROTTLE - 1, retry_after=60)
    for n in range(graph.TENANT_THROTTLE - 1):
        with pytest.raises(SourceBusy):
            await watch.source.changes(f"other-{n}@x.org", None)
    requests = len(watch.graph.requests)
    with pytest.raises(SourceBusy) as waited:
        await watch.source.changes(watch.mailbox.address, None)
    assert len(watch.graph.requests) == requests  # not even asked
    assert 50 < waited.value.retry_after <= 60


@pytest.mark.one_database
async def test_a_mailbox_the_app_may_not_read_is_reported_and_not_retried_hot(
    watch: Watch,
) -> None:
    watch.graph.deny(watch.mailbox.address)
    polled = await watch.watcher().poll_due()
    assert [p.status for p in polled] == ["unavailable"]
    row = await watch.row()
    assert row.last_error and "403 ErrorAccessDenied" in row.last_error
    assert row.due_at == watch.clock() + timedelta(hours=1)


@pytest.mark.one_database  # the watcher's database work is covered by the Exchange tests
async def test_a_worker_killed_before_storing_the_state_replays_without_a_duplicate(
    watch: Watch,
) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-crash", START)
    await watch.poll()
    state = (await watch.row()).sync_state
    watch.mailbox.update(item_id, start=START + timedelta(hours=5), end=START + timedelta(hours=6))
    await watch.poll()
    async with transaction(watch.runtime.sessions) as session:
        await session.execute(
            update(WatchedMailbox)
            .where(WatchedMailbox.id == watch.mailbox_id)
            .values(sync_state=state)
        )
    updates_before = updates(watch)
    await watch.poll()
    assert updates(watch) == updates_before
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-07T14:00:00Z"


@pytest.mark.one_database
async def test_paging_and_a_rolled_window_miss_nothing(watch: Watch) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-pages", START + timedelta(days=9))
    for n in range(250):  # three pages of 100 in the first listing
        watch.mailbox.add(subject=f"Busy {n}", start=START, end=START + timedelta(hours=1))
    assert await watch.poll() == 1
    assert watch.graph.count("GET", "calendarView/delta") >= 3
    # Eight days on, the window rolls: a new round is listed, then the old one drained.
    watch.clock.advance(days=8)
    watch.mailbox.update(
        item_id, start=START + timedelta(days=9, hours=2), end=START + timedelta(days=9, hours=3)
    )
    await watch.poll()
    state = json.loads((await watch.row()).sync_state or "{}")
    rolled = datetime.fromisoformat(state["window"][0])
    assert state["old"] is None and rolled.date() == (watch.clock() - graph.WINDOW_BACK).date()
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-16T11:00:00Z"


@pytest.mark.one_database
async def test_a_certificate_credential_gets_tokens_and_a_wrong_secret_is_told_plainly(
    watch: Watch,
) -> None:
    ca = trustme.CA(key_type=trustme.KeyType.RSA)
    issued = ca.issue_cert("linkzoom.example", key_type=trustme.KeyType.RSA)
    pem = issued.private_key_pem.bytes().decode() + issued.cert_chain_pems[0].bytes().decode()
    credential = Credential.from_pem(pem)
    watch.graph.entra.register(
        client_id="7d1f0c3b-2a4e-4b5c-9d8e-1f2a3b4c5d6e",
        client_secret=None,
        tenant_id=TENANT_ID,
        certificate_pem=issued.cert_chain_pems[0].bytes().decode(),
    )
    by_certificate = GraphSource(
        GraphSettings(
            tenant_id=TENANT_ID,
            client_id="7d1f0c3b-2a4e-4b5c-9d8e-1f2a3b4c5d6e",
            credential=credential,
            authority=watch.graph.url,
            api_url=watch.graph.url,
        ),
        addin_id=ADDIN_ID,
        notification_url=None,
    )
    wrong = GraphSource(
        settings_for(watch.graph, Credential.from_secret("not-the-secret")),
        addin_id=ADDIN_ID,
        notification_url=None,
    )
    try:
        assert await by_certificate.check(watch.mailbox.address) is None
        problem = await wrong.check(watch.mailbox.address)
        assert problem == (
            "Microsoft Entra ID refused the app's token request: invalid_client (AADSTS7000215)."
        )
    finally:
        await by_certificate.close()
        await wrong.close()


@pytest.mark.one_database
async def test_a_subscription_is_made_renewed_and_made_again_when_removed(watch: Watch) -> None:
    sink = NotificationSink()
    source = GraphSource(
        settings_for(watch.graph),
        addin_id=ADDIN_ID,
        notification_url=sink.url,
        clock=watch.clock,
    )
    watch.source = source
    try:
        item_id, _ = await watch.turn_zoom_on("key-notify", START)
        await watch.poll()
        row = await watch.row()
        assert row.subscription_id in watch.graph.subscriptions
        made = watch.graph.subscriptions[row.subscription_id]
        assert made.client_state and subscriptions.digest(made.client_state) == (
            row.client_state_digest
        )
        assert made.client_state not in (row.sync_state or "")  # only its digest is kept
        watch.mailbox.update(item_id, subject="Renamed")
        assert sink.received[-1]["value"][0]["clientState"] == made.client_state
        await watch.poll()  # not near its end: not renewed
        assert watch.graph.count("PATCH", "/subscriptions/") == 0
        watch.clock.advance(days=2)  # within a day of its end: renewed
        await watch.poll()
        assert watch.graph.count("PATCH", "/subscriptions/") == 1
        renewed = await watch.row()
        assert renewed.subscription_expires_at is not None
        assert renewed.subscription_expires_at > row.subscription_expires_at  # type: ignore[operator]
        async with transaction(watch.runtime.sessions) as session:
            assert await subscriptions.notified(
                session,
                subscription_id=row.subscription_id or "",
                client_state=made.client_state,
                lifecycle_event=subscriptions.SUBSCRIPTION_REMOVED,
                now=watch.clock(),
            )
        watch.graph.subscriptions.clear()
        await watch.poll()
        again = await watch.row()
        assert again.subscription_id in watch.graph.subscriptions
        assert again.subscription_id != row.subscription_id
    finally:
        await source.close()
        sink.close()


@pytest.mark.one_database
async def test_notifications_only_make_a_mailbox_due_and_a_forged_one_changes_nothing(
    watch: Watch,
) -> None:
    async with transaction(watch.runtime.sessions) as session:
        await session.execute(
            update(WatchedMailbox)
            .where(WatchedMailbox.id == watch.mailbox_id)
            .values(
                subscription_id="sub-1",
                subscription_expires_at=watch.clock() + timedelta(days=3),
                client_state_digest=subscriptions.digest("the-state"),
                due_at=watch.clock() + timedelta(hours=1),
            )
        )
    async with transaction(watch.runtime.sessions) as session:
        for forged in ("not-the-state", "", "the-state "):
            assert not await subscriptions.notified(
                session,
                subscription_id="sub-1",
                client_state=forged,
                lifecycle_event=None,
                now=watch.clock(),
            )
        assert not await subscriptions.notified(
            session,
            subscription_id="sub-2",
            client_state="the-state",
            lifecycle_event=None,
            now=watch.clock(),
        )
    assert (await watch.row()).due_at == watch.clock() + timedelta(hours=1)
    async with transaction(watch.runtime.sessions) as session:
        assert await subscriptions.notified(
            session,
            subscription_id="sub-1",
            client_state="the-state",
            lifecycle_event=subscriptions.REAUTHORIZATION_REQUIRED,
            now=watch.clock(),
        )
    row = await watch.row()
    assert row.due_at == watch.clock() and row.subscription_expires_at == watch.clock()


@pytest.mark.one_database
async def test_a_notification_that_arrives_during_the_poll_is_not_lost(watch: Watch) -> None:
    """The poll started before the change was stored and may have missed it; its release must
    not push the notified mailbox back a whole interval (seen in bench/mailbox_latency.py: one
    change in 60 took the 60 s poll interval instead of half a second)."""
    async with transaction(watch.runtime.sessions) as session:
        await session.execute(
            update(WatchedMailbox)
            .where(WatchedMailbox.id == watch.mailbox_id)
            .values(subscription_id="sub-1", client_state_digest=subscriptions.digest("s"))
        )
    runtime, clock, source = watch.runtime, watch.clock, watch.source

    class NotifiedMeanwhile:
        async def changes(self, address: str, sync_state: str | None) -> Any:
            batch = await source.changes(address, sync_state)
            clock.advance(seconds=1)
            async with transaction(runtime.sessions) as session:
                assert await subscriptions.notified(
                    session,
                    subscription_id="sub-1",
                    client_state="s",
                    lifecycle_event=None,
                    now=clock(),
                )
            return batch

    watcher = MailboxWatcher(
        sessions=runtime.sessions,
        calendar=watch.mirror.service,
        readers={"graph": NotifiedMeanwhile()},
        clock=clock,
        owner="worker-1",
        poll_interval=timedelta(hours=1),
        batch=50,
    )
    notified_at = clock() + timedelta(seconds=1)
    assert [p.status for p in await watcher.poll_due()] == ["ok"]
    row = await watch.row()
    assert row.due_at == notified_at and row.lease_owner is None  # due again at once
    # Without a notification meanwhile, the next poll is an interval away.
    assert [p.status for p in await watch.watcher(poll_interval=timedelta(hours=1)).poll_due()]
    assert (await watch.row()).due_at == clock() + timedelta(hours=1)


@pytest.mark.one_database  # PostgreSQL when it runs here: that is where SKIP LOCKED matters
async def test_two_workers_share_fifty_mailboxes_and_apply_each_change_once(
    watch: Watch,
) -> None:
    runtime, now = watch.runtime, watch.clock()
    items: list[tuple[Mailbox, str]] = []
    async with transaction(runtime.sessions) as session:
        for n in range(50):
            key = f"shared-{n}"
            await store.insert(
                session,
                user_id=watch.user_id,
                event_key=key,
                desired=desired_from_event(event(START, 60), now=NOW),
                status=SYNCED,
                due_at=None,
                settle_from=None,
                now=now,
            )
            address = f"shared-{n}-{id(runtime)}@x.org"
            await mailboxes.enrol(
                session, user_id=watch.user_id, source="graph", address=address, now=now
            )
            box = watch.graph.mailbox(address)
            cecp = json.dumps({"linkzoom_event_key": key})
            link = "https://zoom.example/j/81234567890"
            start, end = START, START + timedelta(hours=1)
            items.append(
                (box, box.add(subject="Shared", start=start, end=end, cecp=cecp, location=link))
            )
    workers = [
        watch.watcher(f"worker-{n}", batch=8, poll_interval=timedelta(hours=1)) for n in (1, 2)
    ]

    assert await each_polled_once(workers, mailboxes=51) == 50
    for box, item_id in items:
        box.update(item_id, start=START + timedelta(hours=2), end=START + timedelta(hours=3))
    watch.clock.advance(hours=1)
    assert await each_polled_once(workers, mailboxes=51) == 50
