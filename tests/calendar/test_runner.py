"""The reconciler against the Zoom sandbox process, on both databases, with a fake clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import update

from linkzoom.calendar import service as calendar_service
from linkzoom.calendar import store
from linkzoom.calendar.event import CalendarEvent
from linkzoom.calendar.models import EXACT, NO_FIXED_TIME_MAPPING, PENDING, SYNCED, OccurrenceEdit
from linkzoom.calendar.rrule import parse_rule
from linkzoom.calendar.runner import MAX_ROUNDS
from linkzoom.calendar.service import Answer, CalendarService, mirror_of
from linkzoom.calendar.steps import Next
from linkzoom.problems import NotFound, ZoomUnavailable
from linkzoom.runtime import Runtime
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.db import transaction
from tests.calendar.conftest import DAILY_WRITE_LIMIT
from tests.calendar.harness import (
    SandboxProcess,
    advance,
    align_clocks,
    binding,
    drain,
    link_user,
    zoom_holds,
)
from tests.support.clock import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")


def event(start: datetime, minutes: int = 30, subject: str = "Planning") -> CalendarEvent:
    local = start.astimezone(BERLIN)
    return CalendarEvent(
        subject=subject,
        start=local,
        end=local + timedelta(minutes=minutes),
        timezone="Europe/Berlin",
    )


async def test_first_put_creates_in_request_and_a_later_edit_is_one_update(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    first = await mirror.service.put(user_id=user_id, event_key="ev-1", event=event(start))
    assert first.created and first.binding.status == SYNCED
    confirmed = first.binding.confirmed
    assert confirmed is not None
    (meeting,) = sandbox.meetings()
    assert meeting["id"] == confirmed.meeting_id
    assert meeting["start_time"] == "2026-12-01T09:00:00Z" and meeting["duration"] == 30
    assert meeting["timezone"] == "Europe/Berlin" and meeting["type"] == 2

    later = start + timedelta(hours=2)
    for minutes in (45, 50, 60):
        answer = await mirror.service.put(
            user_id=user_id, event_key="ev-1", event=event(later, minutes)
        )
        assert not answer.created and answer.binding.status == PENDING
    clock.advance(seconds=3)  # past the debounce
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["start_time"] == "2026-12-01T11:00:00Z" and meeting["duration"] == 60
    assert sandbox.calls()["meetings.update"] == {"204": 1}
    done = await binding(mirror, user_id=user_id, event_key="ev-1")
    assert done.status == SYNCED and done.due_at is None


async def test_a_worker_never_takes_a_new_event_from_the_request_creating_it(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a new binding was due and unleased between its insert and the request's own
    lease, so the in-process worker could take it; the add-in then waited and got 200."""
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    claimed: list[int] = []
    create_now = CalendarService._create_now

    async def worker_claims_first(
        service: CalendarService, found: store.Binding, fresh: bool, owner: str
    ) -> Answer:
        now = clock()
        async with transaction(runtime.sessions) as session:
            claimed.extend(
                await store.claim_due(
                    session, owner="worker", now=now, until=now + timedelta(seconds=10), limit=10
                )
            )
        return await create_now(service, found, fresh, owner)

    monkeypatch.setattr(CalendarService, "_create_now", worker_claims_first)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    answer = await mirror.service.put(user_id=user_id, event_key="race", event=event(start))
    assert claimed == [] and answer.created and answer.binding.confirmed is not None


async def test_a_pass_zoom_never_settles_backs_off_instead_of_spinning(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Regression: a pass whose calls never brought Zoom in step left the binding due at once,
    so the reconciler ran it again and again without pause."""
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    await mirror.service.put(user_id=user_id, event_key="restless", event=event(start))
    await mirror.service.put(user_id=user_id, event_key="restless", event=event(start, 45))
    performed: list[object] = []

    async def zoom_changes_nothing(action: object, work: object) -> Next:
        performed.append(action)
        return Next.REPLAN  # as if Zoom's answer left everything as it was

    monkeypatch.setattr(mirror.runner._steps, "perform", zoom_changes_nothing)
    clock.advance(seconds=3)  # past the debounce
    assert await drain(mirror, clock) == 1
    assert len(performed) == MAX_ROUNDS
    stuck = await binding(mirror, user_id=user_id, event_key="restless")
    assert stuck.status == PENDING and stuck.attempts == 1 and stuck.last_error
    # The first back-off step of every failure: 1 to 2 s (see linkzoom.calendar.backoff).
    assert stuck.due_at is not None
    assert clock() + timedelta(seconds=1) <= stuck.due_at <= clock() + timedelta(seconds=2)


def weekly(
    start: datetime, *, exdates: tuple[datetime, ...] = (), moved: bool = False
) -> CalendarEvent:
    local = start.astimezone(BERLIN)
    edits = [OccurrenceEdit(original_start=e, cancelled=True) for e in exdates]
    if moved:
        second = local + timedelta(days=2)
        edits.append(
            OccurrenceEdit(original_start=second, start=second + timedelta(hours=3), duration=45)
        )
    return CalendarEvent(
        subject="Standup",
        start=local,
        end=local + timedelta(minutes=30),
        timezone="Europe/Berlin",
        rules=(parse_rule("FREQ=WEEKLY;BYDAY=MO,WE;COUNT=6"),),
        edits=tuple(edits),
    )


def occurrences(meeting: dict[str, Any]) -> list[tuple[str, int]]:
    return [(o["start_time"], o["duration"]) for o in meeting["occurrences"]]


async def test_recurring_event_with_cancelled_and_moved_occurrences(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 09:00 in Berlin
    third = monday + timedelta(days=7)
    answer = await mirror.service.put(
        user_id=user_id, event_key="series", event=weekly(monday, exdates=(third,), moved=True)
    )
    assert answer.created and answer.binding.desired.mapping == EXACT
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["type"] == 8
    assert meeting["recurrence"] == {
        "type": 2,
        "repeat_interval": 1,
        "weekly_days": "2,4",
        "end_times": 6,
    }
    assert occurrences(meeting) == [
        ("2026-12-07T08:00:00Z", 30),
        ("2026-12-09T11:00:00Z", 45),
        ("2026-12-16T08:00:00Z", 30),
        ("2026-12-21T08:00:00Z", 30),
        ("2026-12-23T08:00:00Z", 30),
    ]
    assert (await binding(mirror, user_id=user_id, event_key="series")).status == SYNCED

    # The calendar restores the cancelled occurrence: Zoom cannot, so the series is sent again
    # (renumbering every occurrence) and the moved one is moved again.
    await mirror.service.put(user_id=user_id, event_key="series", event=weekly(monday, moved=True))
    clock.advance(seconds=3)  # past the debounce
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert len(occurrences(meeting)) == 6 and ("2026-12-14T08:00:00Z", 30) in occurrences(meeting)
    assert ("2026-12-09T11:00:00Z", 45) in occurrences(meeting)


async def test_rule_zoom_cannot_express_gets_a_meeting_without_fixed_time(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    start = datetime(2026, 12, 24, 17, 0, tzinfo=BERLIN)
    yearly = CalendarEvent(
        subject="Carols",
        start=start,
        end=start + timedelta(hours=1),
        timezone="Europe/Berlin",
        rules=(parse_rule("FREQ=YEARLY;COUNT=5"),),
    )
    answer = await mirror.service.put(user_id=user_id, event_key="yearly", event=yearly)
    assert answer.created and answer.binding.desired.mapping == NO_FIXED_TIME_MAPPING
    (meeting,) = sandbox.meetings()
    assert meeting["type"] == 3 and "start_time" not in meeting


@pytest.fixture
def no_create_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The request gives up at once (no retry budget), to see what a lost create leaves for the
    add-in's own retry or the worker; the in-request retry is tested in tests/e2e."""
    monkeypatch.setattr(calendar_service, "CREATE_RETRY_SECONDS", 0.0)


@pytest.mark.usefixtures("no_create_retry")
async def test_a_lost_create_is_found_again_not_made_twice(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    # Zoom makes the meeting, but only after our client (1 s timeout) has given up.
    sandbox.control(
        "POST",
        "/faults",
        json={
            "method": "POST",
            "path_regex": "/v2/users/.*/meetings",
            "latency_ms": 1500,
            "count": 1,
        },
    )
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    with pytest.raises(ZoomUnavailable):
        await mirror.service.put(user_id=user_id, event_key="lost", event=event(start))
    kept = await binding(mirror, user_id=user_id, event_key="lost")
    assert kept.in_doubt is not None and kept.desired.deleted  # kept only to clean up
    await zoom_holds(sandbox, 1)  # the sandbox finishes the create
    # The add-in tries again: the meeting Zoom made is found by its marker and used.
    again = await mirror.service.put(user_id=user_id, event_key="lost", event=event(start))
    assert again.created and again.binding.confirmed is not None
    (meeting,) = sandbox.meetings()
    assert meeting["id"] == again.binding.confirmed.meeting_id
    assert sandbox.calls()["meetings.create"] == {"201": 1}


@pytest.mark.usefixtures("no_create_retry")
async def test_a_lost_create_nobody_wants_is_found_and_deleted(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    sandbox.control(
        "POST",
        "/faults",
        json={
            "method": "POST",
            "path_regex": "/v2/users/.*/meetings",
            "latency_ms": 1500,
            "count": 1,
        },
    )
    with pytest.raises(ZoomUnavailable):
        await mirror.service.put(
            user_id=user_id, event_key="gone", event=event(datetime(2026, 12, 1, tzinfo=UTC))
        )
    await zoom_holds(sandbox, 1)
    clock.advance(seconds=5)  # past the back-off of the failed create
    await drain(mirror, clock)
    assert sandbox.meetings() == []
    with pytest.raises(NotFound):
        await mirror.service.get(user_id=user_id, event_key="gone")


async def test_daily_limit_defers_to_midnight_then_resumes(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    await mirror.service.put(user_id=user_id, event_key="busy", event=event(start))
    for step in range(1, DAILY_WRITE_LIMIT + 1):  # the sandbox allows 6 writes a day
        await mirror.service.put(
            user_id=user_id, event_key="busy", event=event(start + timedelta(minutes=step))
        )
        clock.advance(seconds=3)  # past the debounce
        await drain(mirror, clock)
    deferred = await binding(mirror, user_id=user_id, event_key="busy")
    midnight = datetime(2026, 11, 23, tzinfo=UTC)
    assert deferred.status == PENDING and deferred.due_at is not None
    assert midnight <= deferred.due_at <= midnight + timedelta(seconds=30)
    assert deferred.last_error is not None and "daily" in deferred.last_error
    refused = sandbox.calls()["meetings.update"].get("429", 0)
    assert refused == 1
    # Until midnight nothing more is sent, however often the worker looks.
    clock.advance(hours=1)
    await drain(mirror, clock)
    assert sandbox.calls()["meetings.update"].get("429", 0) == refused
    advance(sandbox, clock, hours=12)
    await drain(mirror, clock)
    done = await binding(mirror, user_id=user_id, event_key="busy")
    assert done.status == SYNCED and done.last_error is None
    (meeting,) = sandbox.meetings()
    assert meeting["start_time"] == "2026-12-01T09:06:00Z"


async def test_an_unreadable_passcode_is_fetched_again_not_a_failure(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    """A passcode no key opens any more (its key retired too early) answers as unknown and is
    fetched from Zoom again, sealed under the current key."""
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    created = await mirror.service.put(user_id=user_id, event_key="k", event=event(start))
    passcode = await mirror.service.passcode(created.binding)
    assert passcode
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(CalendarBinding)
            .where(CalendarBinding.id == created.binding.id)
            .values(passcode_key_id="retired", sealed_passcode=b"\0" * 40)
        )
    damaged = await binding(mirror, user_id=user_id, event_key="k")
    assert await mirror.service.passcode(damaged) is None
    owed = await binding(mirror, user_id=user_id, event_key="k")
    assert await mirror.service.passcode(owed) is None  # asked once: no second signal
    assert owed.version == damaged.version + 1
    await drain(mirror, clock)
    repaired = await binding(mirror, user_id=user_id, event_key="k")
    assert repaired.status == SYNCED and await mirror.service.passcode(repaired) == passcode
    assert not repaired.link_changed
    assert sandbox.calls()["meetings.get"] == {"200": 1}
