"""The compose use cases against a fake Zoom, on both databases: records, refusals, ``sent``,
discard, ownership, and creates whose answer was lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from linkzoom.compose import idempotency, records
from linkzoom.compose.models import ComposeOrder
from linkzoom.compose.recovery import LostCreates
from linkzoom.compose.service import ComposeService
from linkzoom.config import Settings
from linkzoom.problems import (
    IdempotencyKeyInUse,
    NotFound,
    Problem,
    ServiceUnavailable,
    ValidationFailed,
    ZoomError,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomNotLinked,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)
from linkzoom.store.compose_tables import ComposeMeeting
from linkzoom.store.db import SessionFactory, create_engine, session_factory, transaction
from linkzoom.store.models import User
from linkzoom.store.runners import ProgramRunner, open_runner
from linkzoom.vault.keyring import KeySource
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.models import MeetingRequest
from tests.compose.fakes import LOST, FakeZoom
from tests.support.clock import FakeClock
from tests.support.keys import new_keyring

NOW = datetime(2026, 3, 8, 6, 58, 41, 500000, tzinfo=UTC)
SETTLE = timedelta(seconds=30)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url, pool_size=2)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def programs(database_url: str, sessions: SessionFactory) -> AsyncIterator[ProgramRunner]:
    """The request path's own drivers (sqlite3 in a thread, asyncpg), as the service runs."""
    runner = open_runner(database_url, sessions, pool_size=2)
    yield runner
    await runner.close()


SEALER = Sealer(KeySource(Settings(keys=new_keyring())))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def zoom(clock: FakeClock) -> FakeZoom:
    return FakeZoom(clock)


@pytest.fixture
def service(
    sessions: SessionFactory, programs: ProgramRunner, zoom: FakeZoom, clock: FakeClock
) -> ComposeService:
    lost = LostCreates(sessions, zoom, clock=clock, lookup_timeout=0.5, settle_after=SETTLE)
    return ComposeService(sessions, programs, zoom, clock=clock, lost=lost, sealer=SEALER)


async def add_user(sessions: SessionFactory, name: str, timezone: str | None = None) -> User:
    async with transaction(sessions) as session:
        user = User(
            username=name,
            display_name=name.title(),
            source="local",
            timezone=timezone,
            created_at=NOW,
        )
        session.add(user)
        await session.flush()
        return user


async def rows(sessions: SessionFactory) -> list[ComposeMeeting]:
    async with transaction(sessions) as session:
        return list(
            await session.scalars(select(ComposeMeeting).order_by(ComposeMeeting.attempted_at))
        )


async def test_create_records_the_meeting_and_never_its_passcode(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice", timezone="America/New_York")
    made = await service.create(alice, ComposeOrder(topic="Budget"))

    (request,) = zoom.requests
    assert (
        request.start_time == NOW.replace(microsecond=0) and request.timezone == "America/New_York"
    )
    assert request.password is not None and made.passcode == request.password
    assert made.timezone == "America/New_York" and made.duration_minutes == 30
    assert "Time: Mar 8, 2026 01:58 AM America/New_York (EST)" in made.invitation.text
    assert f'data-linkzoom-meeting="{made.id}"' in made.invitation.html
    (row,) = await rows(sessions)
    assert (row.id, row.state, row.origin, row.zoom_meeting_id) == (
        made.id,
        "active",
        "compose",
        made.zoom_meeting_id,
    )
    assert row.join_url == made.join_url and row.user_id == alice.id
    assert made.passcode not in repr([getattr(row, c.key) for c in ComposeMeeting.__table__.c])


@pytest.mark.parametrize(
    "refusal",
    [
        ZoomRateLimited("cap", kind="daily", retry_at=NOW + timedelta(hours=17), now=NOW),
        ZoomRequestInvalid("bad", zoom_code=300, http_status=400),
        ZoomNotLinked("link", user_id=1),
        ZoomError("Zoom answered HTTP 404 (code 1001): User does not exist.", http_status=404),
        ServiceUnavailable("The database is not reachable."),
    ],
)
async def test_a_refused_create_leaves_nothing_behind(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, refusal: Problem
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.create_error = refusal
    with pytest.raises(type(refusal)):
        await service.create(alice, ComposeOrder())
    assert await rows(sessions) == [] and zoom.calls == ["create"]


@pytest.mark.parametrize(
    "lost",
    [
        ZoomUnavailable(LOST),
        ZoomUnavailable("Zoom answered HTTP 504."),
        ZoomError("Zoom sent malformed data: meeting.join_url is missing."),  # a 201 unread
    ],
)
async def test_a_lost_answer_is_recovered_in_the_request(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, lost: Problem
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.lost_answer = lost
    made = await service.create(alice, ComposeOrder(topic="Budget"))
    (held,) = zoom.held.values()
    assert made.zoom_meeting_id == held.meeting.id and made.passcode == held.meeting.password
    assert zoom.calls == ["create", "list", f"get {held.meeting.id}"]
    (row,) = await rows(sessions)
    assert row.state == "active" and row.zoom_meeting_id == held.meeting.id


async def test_a_meeting_zoom_makes_after_the_error_is_deleted_once_settled(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.slow_create = True
    with pytest.raises(ZoomUnavailable, match="nothing was added"):
        await service.create(alice, ComposeOrder(topic="Budget"))
    zoom.slow_create = False
    (orphan,) = zoom.arrive()
    retried = await service.create(alice, ComposeOrder(topic="Budget"))  # the user clicks again
    assert await service.settle() == 0  # not overdue yet: Zoom may still be working

    clock.advance(seconds=31)
    assert await service.settle() == 1
    assert list(zoom.held) == [retried.zoom_meeting_id]
    assert f"delete {orphan.id}" in zoom.calls
    # Same topic, same start second: only the row holding the retry's id tells them apart.
    states = {(r.state, r.zoom_meeting_id) for r in await rows(sessions)}
    assert states == {("abandoned", orphan.id), ("active", retried.zoom_meeting_id)}
    assert await service.settle() == 0


async def test_an_attempt_zoom_never_received_is_abandoned_without_deleting_anything(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    alice = await add_user(sessions, "alice")
    # The user's own meetings, one with the same topic but not from this attempt.
    zoom.make(
        alice.id,
        MeetingRequest(topic="Zoom meeting — Alice", type=2, start_time=NOW - timedelta(minutes=1)),
    )
    zoom.slow_create = True
    with pytest.raises(ZoomUnavailable):
        await service.create(alice, ComposeOrder())
    zoom.slow.clear()
    clock.advance(seconds=31)
    assert await service.settle() == 1
    assert not [c for c in zoom.calls if c.startswith("delete")] and len(zoom.held) == 1
    assert [r.state for r in await rows(sessions)] == ["abandoned"]


async def test_settling_waits_while_zoom_fails_then_gives_up(
    sessions: SessionFactory, programs: ProgramRunner, zoom: FakeZoom, clock: FakeClock
) -> None:
    lost = LostCreates(
        sessions,
        zoom,
        clock=clock,
        lookup_timeout=0.5,
        settle_after=SETTLE,
        give_up_after=timedelta(days=1),
    )
    service = ComposeService(sessions, programs, zoom, clock=clock, lost=lost, sealer=SEALER)
    alice = await add_user(sessions, "alice")
    zoom.slow_create = True
    with pytest.raises(ZoomUnavailable):
        await service.create(alice, ComposeOrder())
    zoom.arrive()
    zoom.list_error = ZoomUnavailable("down")
    clock.advance(seconds=31)
    assert await service.settle() == 0
    assert [r.state for r in await rows(sessions)] == ["creating"]
    clock.advance(days=1)
    assert await service.settle() == 1
    assert [r.state for r in await rows(sessions)] == ["abandoned"]


async def test_an_orphan_whose_delete_fails_is_deleted_on_a_later_pass(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.slow_create = True
    with pytest.raises(ZoomUnavailable):
        await service.create(alice, ComposeOrder())
    (orphan,) = zoom.arrive()
    zoom.delete_errors = [ZoomUnavailable("down")]
    clock.advance(seconds=31)
    assert await service.settle() == 0
    assert [(r.state, r.zoom_meeting_id) for r in await rows(sessions)] == [("orphaned", orphan.id)]
    assert await service.settle() == 1
    assert zoom.held == {} and [r.state for r in await rows(sessions)] == ["abandoned"]


async def test_the_lookup_in_the_request_is_bounded(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.lost_answer, zoom.list_delay = ZoomUnavailable(LOST), 5.0
    loop_started = datetime.now(UTC)
    with pytest.raises(ZoomUnavailable):
        await service.create(alice, ComposeOrder())
    assert datetime.now(UTC) - loop_started < timedelta(seconds=2)
    assert [r.state for r in await rows(sessions)] == ["creating"]


async def test_an_answer_arriving_after_the_attempt_was_settled_is_withdrawn(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")

    async def settled_meanwhile() -> None:
        (row,) = await rows(sessions)
        async with transaction(sessions) as session:
            await records.abandon(session, row_id=row.id, from_state="creating", now=NOW)

    zoom.before_answer = settled_meanwhile
    with pytest.raises(ZoomUnavailable, match="too late"):
        await service.create(alice, ComposeOrder())
    assert zoom.held == {}


# --- sent ------------------------------------------------------------------------------------


async def test_sent_moves_the_start_only_when_it_is_more_than_five_minutes_off(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    alice = await add_user(sessions, "alice", timezone="Europe/Berlin")
    made = await service.create(alice, ComposeOrder())
    clock.advance(minutes=4)
    soon = await service.sent(alice.id, made.id, None)
    assert not soon.moved and soon.start_time == made.start_time
    assert soon.sent_at == (NOW + timedelta(minutes=4)).replace(microsecond=0)
    assert zoom.calls == ["create"]

    clock.advance(hours=2)  # a repeat without sent_at changes nothing
    again = await service.sent(alice.id, made.id, None)
    assert not again.moved and again.sent_at == soon.sent_at and zoom.calls == ["create"]

    later = NOW + timedelta(hours=20)  # "send later": the client says when it really went
    moved = await service.sent(alice.id, made.id, later)
    assert moved.moved and moved.start_time == later.replace(microsecond=0)
    (update,) = zoom.requests[1:]
    assert update.to_json(for_update=True) == {
        "start_time": later.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "timezone": "Europe/Berlin",
    }
    repeat = await service.sent(alice.id, made.id, later)
    assert not repeat.moved and repeat.start_time == moved.start_time
    assert len([c for c in zoom.calls if c.startswith("update")]) == 1
    (row,) = await rows(sessions)
    assert row.start_time == later.replace(microsecond=0) and row.sent_at == row.start_time


async def test_sent_for_a_meeting_deleted_at_zoom_says_so(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    made = await service.create(alice, ComposeOrder())
    zoom.held.clear()
    with pytest.raises(ZoomMeetingNotFound, match="deleted at Zoom"):
        await service.sent(alice.id, made.id, NOW + timedelta(hours=1))
    assert [r.state for r in await rows(sessions)] == ["gone"]
    with pytest.raises(NotFound):
        await service.sent(alice.id, made.id, None)
    await service.discard(alice.id, made.id)  # nothing left to delete; still fine
    assert not [c for c in zoom.calls if c.startswith("delete")]


async def test_sent_after_people_joined_leaves_the_start(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    made = await service.create(alice, ComposeOrder())
    zoom.update_error = ZoomMeetingLocked("started", zoom_code=3000, http_status=400)
    result = await service.sent(alice.id, made.id, NOW + timedelta(hours=1))
    assert not result.moved and result.start_time == made.start_time
    zoom.update_error = ZoomMeetingLocked("not the host", zoom_code=3003, http_status=400)
    with pytest.raises(ZoomMeetingLocked):
        await service.sent(alice.id, made.id, NOW + timedelta(hours=2))


# --- discard and ownership -------------------------------------------------------------------


async def test_discard_deletes_once_and_repeats_harmlessly(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    made = await service.create(alice, ComposeOrder())
    await service.discard(alice.id, made.id)
    await service.discard(alice.id, made.id)
    assert zoom.held == {} and zoom.calls == ["create", f"delete {made.zoom_meeting_id}"]
    assert [r.state for r in await rows(sessions)] == ["deleted"]
    with pytest.raises(NotFound):
        await service.sent(alice.id, made.id, None)


async def test_discard_of_a_meeting_zoom_no_longer_has_is_done(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    made = await service.create(alice, ComposeOrder())
    zoom.held.clear()
    await service.discard(alice.id, made.id)
    assert [r.state for r in await rows(sessions)] == ["gone"]


async def test_drafts_never_sent_are_deleted_once_they_are_old_enough(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    """Outlook fires no event on a discarded draft: the worker deletes what stays unsent."""
    alice = await add_user(sessions, "alice")
    discarded = await service.create(alice, ComposeOrder())
    sent = await service.create(alice, ComposeOrder())
    await service.sent(alice.id, sent.id, None)
    clock.advance(days=29)
    recent = await service.create(alice, ComposeOrder())
    assert await service.sweep_drafts(older_than=timedelta(days=30)) == 0
    clock.advance(days=1, seconds=1)
    assert await service.sweep_drafts(older_than=timedelta(days=30)) == 1
    assert await service.sweep_drafts(older_than=timedelta(days=30)) == 0
    assert set(zoom.held) == {sent.zoom_meeting_id, recent.zoom_meeting_id}
    states = {r.id: r.state for r in await rows(sessions)}
    assert states == {discarded.id: "deleted", sent.id: "active", recent.id: "active"}


async def test_a_draft_sweep_outlives_zoom_trouble_and_unlinked_users(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    alice = await add_user(sessions, "alice")
    first = await service.create(alice, ComposeOrder())
    second = await service.create(alice, ComposeOrder())
    clock.advance(days=31)
    zoom.delete_errors = [ZoomNotLinked("link", user_id=1), ZoomUnavailable("down")]
    with pytest.raises(ZoomUnavailable):  # the pass stops; the worker logs it and comes back
        await service.sweep_drafts(older_than=timedelta(days=30))
    states = {r.id: r.state for r in await rows(sessions)}
    assert states == {first.id: "gone", second.id: "active"}
    assert await service.sweep_drafts(older_than=timedelta(days=30)) == 1
    assert zoom.held == {first.zoom_meeting_id: zoom.held[first.zoom_meeting_id]}


async def test_another_users_meeting_is_not_found_and_untouched(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    bob = await add_user(sessions, "bob")
    made = await service.create(alice, ComposeOrder())
    for attempt in (
        service.discard(bob.id, made.id),
        service.sent(bob.id, made.id, NOW + timedelta(hours=1)),
        service.discard(alice.id, "no-such-id"),
    ):
        with pytest.raises(NotFound):
            await attempt
    assert zoom.calls == ["create"] and [r.state for r in await rows(sessions)] == ["active"]


async def test_an_unconfirmed_attempt_is_not_a_meeting_to_anyone(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.slow_create = True
    with pytest.raises(ZoomUnavailable):
        await service.create(alice, ComposeOrder())
    (row,) = await rows(sessions)
    with pytest.raises(NotFound):
        await service.discard(alice.id, row.id)
    assert zoom.calls == ["create", "list"]


async def test_a_repeated_idempotency_key_answers_the_first_meeting_again(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    """A retried button press (its answer was lost on the way back) makes no second meeting."""
    alice = await add_user(sessions, "alice")
    first = await service.create(alice, ComposeOrder(topic="Budget"), idempotency_key="press-1")
    again = await service.create(alice, ComposeOrder(topic="Budget"), idempotency_key="press-1")
    assert again == first and zoom.calls == ["create"]
    (row,) = await rows(sessions)
    # The kept answer is sealed: its passcode is not in the row in the clear.
    assert first.passcode is not None and row.sealed_answer is not None
    assert first.passcode.encode() not in row.sealed_answer
    # Another user's identical key is another press.
    bob = await add_user(sessions, "bob")
    theirs = await service.create(bob, ComposeOrder(topic="Budget"), idempotency_key="press-1")
    assert theirs.zoom_meeting_id != first.zoom_meeting_id
    # A new key is a new meeting.
    await service.create(alice, ComposeOrder(topic="Budget"), idempotency_key="press-2")
    assert zoom.calls == ["create"] * 3


async def test_concurrent_copies_of_one_press_make_one_meeting(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    alice = await add_user(sessions, "alice")
    zoom.before_answer = lambda: asyncio.sleep(0.05)
    answers = await asyncio.gather(
        *(service.create(alice, ComposeOrder(), idempotency_key="k") for _ in range(5)),
        return_exceptions=True,
    )
    made = [a for a in answers if not isinstance(a, BaseException)]
    waiting = [a for a in answers if isinstance(a, IdempotencyKeyInUse)]
    assert len(made) == 1 and len(waiting) == 4 and zoom.calls == ["create"]
    assert waiting[0].headers() == {"Retry-After": "1"}


async def test_an_idempotency_key_reused_for_another_request_is_refused(
    service: ComposeService, sessions: SessionFactory
) -> None:
    alice = await add_user(sessions, "alice")
    await service.create(alice, ComposeOrder(topic="A"), idempotency_key="k")
    with pytest.raises(ValidationFailed) as caught:
        await service.create(alice, ComposeOrder(topic="B"), idempotency_key="k")
    assert caught.value.errors[0].field == "Idempotency-Key"
    for bad in ("", "x" * 256, "tab\there", "é"):
        with pytest.raises(ValidationFailed):
            await service.create(alice, ComposeOrder(), idempotency_key=bad)


async def test_a_failed_press_releases_its_key_so_the_retry_creates(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom
) -> None:
    """Errors are not kept: the add-in's retry of a 503 must not be told to wait forever."""
    alice = await add_user(sessions, "alice")
    zoom.slow_create = True
    with pytest.raises(ZoomUnavailable):
        await service.create(alice, ComposeOrder(), idempotency_key="k")
    zoom.slow_create = False
    retried = await service.create(alice, ComposeOrder(), idempotency_key="k")
    assert retried.zoom_meeting_id is not None
    zoom.create_error = ZoomRequestInvalid("bad", zoom_code=300, http_status=400)
    with pytest.raises(ZoomRequestInvalid):
        await service.create(alice, ComposeOrder(), idempotency_key="k2")
    zoom.create_error = None
    assert (await service.create(alice, ComposeOrder(), idempotency_key="k2")).id


async def test_a_discarded_meeting_is_not_answered_again_and_keys_expire(
    service: ComposeService, sessions: SessionFactory, zoom: FakeZoom, clock: FakeClock
) -> None:
    alice = await add_user(sessions, "alice")
    made = await service.create(alice, ComposeOrder(), idempotency_key="k")
    await service.discard(alice.id, made.id)
    with pytest.raises(NotFound):
        await service.create(alice, ComposeOrder(), idempotency_key="k")
    clock.advance(hours=25)
    async with transaction(sessions) as session:
        await idempotency.prune(session, now=clock())
    (row,) = await rows(sessions)
    assert row.idempotency_key_hash is None and row.sealed_answer is None
    assert (await service.create(alice, ComposeOrder(), idempotency_key="k")).id != made.id
