"""Series longer than one Zoom meeting, against the sandbox process with a fake clock: Zoom holds
the calendar's next 60 occurrences (edits included), the worker moves the window on with one
update as they pass, the meeting and its join link stay, and an edit does not move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from linkzoom.calendar import rolling
from linkzoom.calendar.event import CalendarEvent
from linkzoom.calendar.models import SYNCED, WINDOW_MAPPING, OccurrenceEdit
from linkzoom.calendar.rrule import parse_rule
from linkzoom.calendar.service import mirror_of
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.zoom import quota
from tests.calendar.harness import SandboxProcess, advance, align_clocks, binding, drain, link_user
from tests.support.clock import FakeClock

BERLIN = ZoneInfo("Europe/Berlin")
RULE = "FREQ=DAILY"
FIRST = datetime(2026, 11, 2, 9, 0, tzinfo=BERLIN)  # three weeks before the clock's today
MOVED = datetime(2026, 11, 25, 9, 0, tzinfo=BERLIN)  # in the first window
CANCELLED = datetime(2027, 1, 30, 9, 0, tzinfo=BERLIN)  # in the second window only


def standup(subject: str = "Standup") -> CalendarEvent:
    return CalendarEvent(
        subject=subject,
        start=FIRST,
        end=FIRST + timedelta(minutes=15),
        timezone="Europe/Berlin",
        rules=(parse_rule(RULE),),
        edits=(
            OccurrenceEdit(original_start=MOVED, start=MOVED + timedelta(hours=2)),
            OccurrenceEdit(original_start=CANCELLED, cancelled=True),
        ),
    )


def calendar(after: datetime) -> list[tuple[str, int]]:
    """The calendar's next 60 occurrences from ``after`` as Zoom lists them, edits applied."""
    expansion = rrulestr(RULE, dtstart=FIRST)
    assert isinstance(expansion, rrule)
    found = []
    for moment in islice(expansion.xafter(after, inc=True), 60):
        if moment == CANCELLED:
            continue
        if moment == MOVED:
            moment += timedelta(hours=2)
        found.append((moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), 15))
    return found


def held(meeting: dict[str, Any]) -> list[tuple[str, int]]:
    """The occurrences the sandbox has (a deleted one is not listed)."""
    return [(o["start_time"], o["duration"]) for o in meeting["occurrences"]]


def writes(sandbox: SandboxProcess) -> dict[str, int]:
    return {
        operation: sum(n for status, n in counts.items() if status.startswith("2"))
        for operation, counts in sandbox.calls().items()
        if operation in ("meetings.update", "meetings.delete", "meetings.create")
    }


async def test_an_endless_series_is_a_window_of_real_times_that_moves_on_keeping_its_link(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    answer = await mirror.service.put(user_id=user_id, event_key="standup", event=standup())
    assert answer.created and answer.binding.desired.mapping == WINDOW_MAPPING
    await drain(mirror, clock)
    (meeting,) = sandbox.meetings()
    assert meeting["type"] == 8 and meeting["recurrence"]["end_times"] == 60
    assert held(meeting) == calendar(clock() + rolling.LEAD)
    placed = await binding(mirror, user_id=user_id, event_key="standup")
    assert placed.status == SYNCED and placed.confirmed is not None
    # Due again when the 30th occurrence of the window has ended, not before.
    assert placed.due_at == datetime(2026, 12, 22, 8, 15, tzinfo=UTC)

    # A new subject is a new topic at Zoom: the window, and every occurrence id, stay.
    ids = [o["occurrence_id"] for o in meeting["occurrences"]]
    before = writes(sandbox)
    await mirror.service.put(user_id=user_id, event_key="standup", event=standup("Daily"))
    clock.advance(seconds=3)  # past the debounce
    await drain(mirror, clock)
    (renamed,) = sandbox.meetings()
    assert (
        renamed["topic"] == "Daily" and [o["occurrence_id"] for o in renamed["occurrences"]] == ids
    )
    assert writes(sandbox)["meetings.update"] == before["meetings.update"] + 1

    advance(sandbox, clock, days=29)  # the day before the window moves on: nothing to do
    assert await drain(mirror, clock) == 0
    before = writes(sandbox)
    due = datetime(2026, 12, 22, 8, 15, tzinfo=UTC)
    advance(sandbox, clock, seconds=(due - clock()).total_seconds())
    await drain(mirror, clock)
    (moved,) = sandbox.meetings()
    assert moved["id"] == meeting["id"] and moved["join_url"] == meeting["join_url"]
    assert held(moved) == calendar(clock() + rolling.LEAD)
    assert ("2027-01-30T08:00:00Z", 15) not in held(moved)  # cancelled: applied in this window
    # One update moves the window; the cancellation it now holds is one occurrence delete.
    assert writes(sandbox) == before | {
        "meetings.update": before["meetings.update"] + 1,
        "meetings.delete": before.get("meetings.delete", 0) + 1,
    }
    rolled = await binding(mirror, user_id=user_id, event_key="standup")
    assert rolled.status == SYNCED and not rolled.link_changed
    assert rolled.due_at == rolling.next_roll(rolled.desired)
    assert rolled.due_at == datetime(2027, 1, 21, 8, 15, tzinfo=UTC)


async def test_a_window_move_leaves_half_the_days_zoom_writes_to_the_user(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    """A move is not urgent (30 occurrences are still ahead): with half of today's writes
    spent, it waits for the next UTC day instead of using what the user's own edits need."""
    limit = runtime.settings.zoom_daily_write_limit
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    await mirror.service.put(user_id=user_id, event_key="standup", event=standup())
    await drain(mirror, clock)
    due = datetime(2026, 12, 22, 8, 15, tzinfo=UTC)
    advance(sandbox, clock, seconds=(due - clock()).total_seconds())
    async with transaction(runtime.sessions) as session:  # the user's edits used half the day's
        for _ in range(limit // 2):
            await quota.reserve_write(session, user_id=user_id, now=clock(), limit=limit)
    before = writes(sandbox)
    await drain(mirror, clock)
    waiting = await binding(mirror, user_id=user_id, event_key="standup")
    assert writes(sandbox) == before and waiting.status == SYNCED
    assert waiting.due_at == datetime(2026, 12, 23, tzinfo=UTC)
    advance(sandbox, clock, seconds=(datetime(2026, 12, 23, tzinfo=UTC) - clock()).total_seconds())
    await drain(mirror, clock)
    (moved,) = sandbox.meetings()
    assert held(moved) == calendar(clock() + rolling.LEAD)
    assert writes(sandbox)["meetings.update"] == before["meetings.update"] + 1
