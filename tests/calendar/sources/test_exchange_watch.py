"""The mailbox watch over Exchange: real exchangelib against the EWS stand-in (SOAP over
loopback), the real calendar mirror, and the Zoom sandbox, on both databases.

Each scenario starts the way a user does — the add-in turns Zoom on (the API's ``PUT``) and
writes its custom properties on the item — then changes the event only in the mailbox, as a
drag in the desktop calendar or a delete on a phone would, and checks what Zoom holds.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, update

from linkzoom.calendar import store
from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.models import SYNCED
from linkzoom.calendar.service import Mirror, mirror_of
from linkzoom.calendar.sources import mailboxes
from linkzoom.calendar.sources.exchange import ExchangeSource
from linkzoom.calendar.sources.exchange_config import ExchangeSettings
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from tests.calendar.harness import (
    SandboxProcess,
    advance,
    align_clocks,
    binding,
    drain,
    link_user,
)
from tests.calendar.sources.sharing import each_polled_once
from tests.calendar.test_runner import event
from tests.support.clock import FakeClock
from tests.support.ews import EwsMailbox, EwsServer, Weekly, start_ews_server

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

ADDIN = "5f2c1a3e-8a47-4a4e-9f0e-7d2b1c9e4a11"
START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def updates(watch: Watch) -> int:
    return sum(watch.sandbox.calls().get("meetings.update", {}).values())


@pytest.fixture(scope="module")
def ews() -> Iterator[EwsServer]:
    server = start_ews_server(addin_id=ADDIN)
    yield server
    server.close()


@dataclass
class Watch:
    runtime: Runtime
    mirror: Mirror
    sandbox: SandboxProcess
    clock: FakeClock
    ews: EwsServer
    source: ExchangeSource
    user_id: int
    mailbox: EwsMailbox
    mailbox_id: int

    def watcher(
        self, owner: str = "worker-1", batch: int = 50, poll_interval: timedelta = timedelta(0)
    ) -> MailboxWatcher:
        return MailboxWatcher(
            sessions=self.runtime.sessions,
            calendar=self.mirror.service,
            readers={"exchange": self.source},
            clock=self.clock,
            owner=owner,
            poll_interval=poll_interval,
            batch=batch,
        )

    async def poll(self) -> int:
        """One watcher pass, then the reconciler past the debounce: changes applied."""
        polled = await self.watcher().poll_due()
        advance(self.sandbox, self.clock, seconds=3)
        await drain(self.mirror, self.clock)
        return sum(p.applied for p in polled)

    async def turn_zoom_on(
        self, key: str, start: datetime, *, marks: str = "both", **item: object
    ) -> tuple[str, int]:
        """The add-in's toggle: the API creates the meeting, the item gets the custom properties."""
        answer = await self.mirror.service.put(
            user_id=self.user_id, event_key=key, event=event(start, 60)
        )
        assert answer.binding.confirmed is not None
        meeting_id = answer.binding.confirmed.meeting_id
        cecp = {"linkzoom_event_key": key, "linkzoom_meeting_id": str(meeting_id)}
        item_id = self.mailbox.add(
            subject="Planning",
            start=start,
            end=start + timedelta(hours=1),
            timezone="Europe/Berlin",
            # The add-in writes both; a link too long for the location is in the body only,
            # and an item copied by another client may keep the link but lose the properties.
            location="" if marks == "properties" else f"https://zoom.example/j/{meeting_id}?pwd=x",
            cecp=None if marks == "link" else cecp,
            **item,  # type: ignore[arg-type]
        )
        return item_id, meeting_id

    def meeting(self, meeting_id: int) -> dict[str, Any] | None:
        found = [m for m in self.sandbox.meetings() if m["id"] == meeting_id]
        return found[0] if found else None


@asynccontextmanager
async def watching(
    runtime: Runtime,
    sandbox: SandboxProcess,
    clock: FakeClock,
    ews: EwsServer,
    settings: ExchangeSettings | None = None,
) -> AsyncIterator[Watch]:
    """Alice linked to Zoom, her mailbox enrolled, a source (basic auth unless ``settings``)."""
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    address = f"alice-{id(runtime)}@x.org"  # one mailbox per test on the module's server
    source = ExchangeSource(
        settings
        or ExchangeSettings(
            service_endpoint=ews.endpoint,
            username=ews.username,
            password=ews.password,
            auth_type="basic",
        ),
        addin_id=ADDIN,
    )
    async with transaction(runtime.sessions) as session:
        mailbox_id = await mailboxes.enrol(
            session, user_id=user_id, source="exchange", address=address, now=clock()
        )
    try:
        yield Watch(
            runtime=runtime,
            mirror=mirror_of(runtime),
            sandbox=sandbox,
            clock=clock,
            ews=ews,
            source=source,
            user_id=user_id,
            mailbox=ews.mailbox(address),
            mailbox_id=mailbox_id,
        )
    finally:
        source.close()  # as the worker does at shutdown


@pytest.fixture
async def watch(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock, ews: EwsServer
) -> AsyncIterator[Watch]:
    async with watching(runtime, sandbox, clock, ews) as opened:
        yield opened


async def test_an_event_moved_in_the_mailbox_moves_the_meeting_and_a_delete_ends_it(
    watch: Watch,
) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-move", START)
    watch.mailbox.add(subject="Lunch", start=START, end=START + timedelta(hours=1))  # no Zoom
    assert await watch.poll() == 1  # the first listing: the event is followed, nothing to send
    calls_before = watch.sandbox.calls()
    watch.mailbox.update(
        item_id, start=START + timedelta(days=1), end=START + timedelta(days=1, hours=2)
    )
    assert await watch.poll() == 1
    moved = watch.meeting(meeting_id)
    assert moved is not None
    assert moved["start_time"] == "2026-12-08T09:00:00Z" and moved["duration"] == 120
    assert watch.sandbox.calls() != calls_before
    watch.mailbox.delete(item_id)
    assert await watch.poll() == 1
    assert watch.meeting(meeting_id) is None


@pytest.mark.one_database
@pytest.mark.parametrize("marks", ["properties", "link"])
async def test_the_binding_is_found_by_the_custom_properties_or_else_the_join_link(
    watch: Watch, marks: str
) -> None:
    item_id, meeting_id = await watch.turn_zoom_on(f"key-{marks}", START, marks=marks)
    await watch.poll()
    watch.mailbox.update(item_id, start=START + timedelta(hours=4), end=START + timedelta(hours=5))
    assert await watch.poll() == 1
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-07T13:00:00Z"


@pytest.mark.one_database
async def test_an_idle_mailbox_costs_one_request_and_unmarked_items_are_never_fetched(
    watch: Watch,
) -> None:
    await watch.turn_zoom_on("key-idle", START)
    for n in range(5):
        watch.mailbox.add(subject=f"Other {n}", start=START, end=START + timedelta(hours=1))
    await watch.poll()
    address = watch.mailbox.address
    fetched = [op for op, box in watch.ews.requests if box == address and op == "GetItem"]
    assert len(fetched) == 1  # only the item with Zoom, in one GetItem
    before = len(watch.ews.requests)
    assert await watch.poll() == 0
    idle = [op for op, box in watch.ews.requests[before:] if box == address]
    assert idle == ["SyncFolderItems"]


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
async def test_a_change_read_from_the_mailbox_is_due_at_once_without_the_debounce(
    watch: Watch,
) -> None:
    # The poll already folded every edit since the previous one: the add-in's 2 s debounce
    # would only spend the latency budget (poll interval + 2 s).
    item_id, _ = await watch.turn_zoom_on("key-at-once", START)
    await watch.poll()
    watch.mailbox.update(item_id, start=START + timedelta(hours=5), end=START + timedelta(hours=6))
    await watch.watcher().poll_due()
    moved = await binding(watch.mirror, user_id=watch.user_id, event_key="key-at-once")
    assert moved.due_at == watch.clock() and moved.settle_from is None
    watch.mailbox.delete(item_id)
    await watch.watcher().poll_due()
    gone = await binding(watch.mirror, user_id=watch.user_id, event_key="key-at-once")
    assert gone.desired.deleted and gone.due_at == watch.clock()


async def test_the_loop_sleeps_until_the_next_mailbox_it_may_claim(watch: Watch) -> None:
    now = watch.clock()
    async with transaction(watch.runtime.sessions) as session:
        assert await mailboxes.next_due(session, now=now) == now  # enrolled: due at once
        await session.execute(
            update(WatchedMailbox)
            .where(WatchedMailbox.id == watch.mailbox_id)
            .values(due_at=now + timedelta(seconds=40))
        )
        assert await mailboxes.next_due(session, now=now) == now + timedelta(seconds=40)
        # Due, but another worker holds it: claimable when its lease ends.
        await session.execute(
            update(WatchedMailbox)
            .where(WatchedMailbox.id == watch.mailbox_id)
            .values(due_at=now, lease_owner="worker-2", lease_until=now + timedelta(seconds=7))
        )
        assert await mailboxes.next_due(session, now=now) == now + timedelta(seconds=7)


@pytest.mark.one_database
async def test_occurrences_and_rules_changed_in_the_mailbox_reach_the_series(watch: Watch) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-series", START)
    await watch.poll()
    watch.mailbox.update(item_id, recurrence=Weekly(interval=1, days=("MO",), count=6))
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
    watch.mailbox.cancel_occurrence(item_id, third)
    await watch.poll()
    series = watch.meeting(meeting_id)
    assert series is not None
    starts = [o["start_time"] for o in series["occurrences"]]  # the sandbox lists live ones
    assert "2026-12-14T11:00:00Z" in starts and "2026-12-21T09:00:00Z" not in starts


@pytest.mark.one_database
async def test_an_invalid_sync_state_lists_again_without_duplicates_or_wrong_deletes(
    watch: Watch,
) -> None:
    _, kept_meeting = await watch.turn_zoom_on("key-kept", START)
    gone, gone_meeting = await watch.turn_zoom_on("key-gone", START + timedelta(hours=2))
    await watch.poll()
    watch.ews.invalidate_sync_states()
    watch.mailbox.delete(gone)  # deleted while the state was going stale
    meetings_before = len(watch.sandbox.meetings())
    await watch.poll()
    assert watch.meeting(kept_meeting) is not None
    assert watch.meeting(gone_meeting) is None
    assert len(watch.sandbox.meetings()) == meetings_before - 1  # nothing created again
    async with transaction(watch.runtime.sessions) as session:
        row = await session.scalar(
            select(WatchedMailbox).where(WatchedMailbox.id == watch.mailbox_id)
        )
    assert row is not None and row.status == "ok" and row.resync_from is None


@pytest.mark.one_database
@pytest.mark.one_database
async def test_a_busy_server_is_waited_out_for_the_time_it_names(watch: Watch) -> None:
    await watch.turn_zoom_on("key-busy", START)
    watch.ews.busy(times=1, back_off_ms=30_000)
    polled = await watch.watcher().poll_due()
    assert [p.status for p in polled] == ["busy"]
    async with transaction(watch.runtime.sessions) as session:
        row = await session.scalar(
            select(WatchedMailbox).where(WatchedMailbox.id == watch.mailbox_id)
        )
    assert row is not None and row.due_at == watch.clock() + timedelta(seconds=30)
    assert await watch.watcher().poll_due() == []  # not due yet
    watch.clock.advance(seconds=31)
    assert [p.status for p in await watch.watcher().poll_due()] == ["ok"]


@pytest.mark.one_database
@pytest.mark.one_database
async def test_a_denied_mailbox_is_reported_and_not_retried_hot(watch: Watch) -> None:
    watch.ews.deny(watch.mailbox.address)
    polled = await watch.watcher().poll_due()
    assert [p.status for p in polled] == ["unavailable"]
    async with transaction(watch.runtime.sessions) as session:
        row = await session.scalar(
            select(WatchedMailbox).where(WatchedMailbox.id == watch.mailbox_id)
        )
    assert row is not None and row.last_error and "ErrorImpersonateUserDenied" in row.last_error
    assert row.due_at == watch.clock() + timedelta(hours=1)


async def test_a_worker_killed_before_storing_the_state_replays_without_a_duplicate(
    watch: Watch,
) -> None:
    item_id, meeting_id = await watch.turn_zoom_on("key-crash", START)
    await watch.poll()
    async with transaction(watch.runtime.sessions) as session:
        state = await session.scalar(
            select(WatchedMailbox.sync_state).where(WatchedMailbox.id == watch.mailbox_id)
        )
    watch.mailbox.update(item_id, start=START + timedelta(hours=5), end=START + timedelta(hours=6))
    await watch.poll()
    # As if the worker died after applying the change but before storing the state: replay.
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
    assert len([m for m in watch.sandbox.meetings() if m["id"] == meeting_id]) == 1


@pytest.mark.one_database
@pytest.mark.one_database
async def test_the_watch_never_creates_a_meeting_for_an_event_without_a_binding(
    watch: Watch,
) -> None:
    cecp = {"linkzoom_event_key": "never-toggled"}
    watch.mailbox.add(subject="Copied", start=START, end=START + timedelta(hours=1), cecp=cecp)
    watch.mailbox.add(
        subject="Pasted link",
        start=START,
        end=START + timedelta(hours=1),
        location="https://us05web.zoom.us/j/81234567890?pwd=abc",
    )
    assert await watch.poll() == 0
    assert watch.sandbox.meetings() == []
    assert json.loads(json.dumps(cecp)) == cecp


@pytest.mark.one_database  # PostgreSQL when it runs here: that is where SKIP LOCKED matters
async def test_two_workers_share_fifty_mailboxes_and_apply_each_change_once(
    watch: Watch,
) -> None:
    """Leases split the mailboxes (SKIP LOCKED on PostgreSQL): each poll, and so each change,
    happens in exactly one worker. The bindings are written directly: this is about the watch
    sharing work, not about Zoom."""
    runtime, now = watch.runtime, watch.clock()
    items: list[tuple[EwsMailbox, str]] = []
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
                session, user_id=watch.user_id, source="exchange", address=address, now=now
            )
            box = watch.ews.mailbox(address)
            cecp = {"linkzoom_event_key": key}
            start, end = START, START + timedelta(hours=1)
            items.append((box, box.add(subject="Shared", start=start, end=end, cecp=cecp)))
    # Polled once per round: a mailbox is due again only an hour later.
    workers = [
        watch.watcher(f"worker-{n}", batch=8, poll_interval=timedelta(hours=1)) for n in (1, 2)
    ]

    # The first listing (the alice mailbox has nothing yet); 50 mailboxes and alice's.
    assert await each_polled_once(workers, mailboxes=51) == 50
    for box, item_id in items:
        box.update(item_id, start=START + timedelta(hours=2), end=START + timedelta(hours=3))
    watch.clock.advance(hours=1)
    assert await each_polled_once(workers, mailboxes=51) == 50
