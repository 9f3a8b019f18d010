"""Series longer than one Zoom meeting: the window Zoom holds is the calendar's next occurrences,
it moves on without leaving a gap, and a calendar edit does not move it needlessly."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from linkzoom.calendar import rolling
from linkzoom.calendar.event import CalendarEvent, desired_from_event
from linkzoom.calendar.models import WINDOW_MAPPING, Desired, OccurrenceEdit
from linkzoom.calendar.rrule import WEEKDAYS, parse_rule
from tests.calendar.test_recurrence import ZONES, exists
from tests.calendar.zoom_oracle import zoom_occurrences

BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=BERLIN)


def event(
    rule: str,
    start: datetime = MONDAY,
    *,
    subject: str = "Weekly sync",
    minutes: int = 30,
    edits: tuple[OccurrenceEdit, ...] = (),
) -> CalendarEvent:
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    return CalendarEvent(
        subject=subject,
        start=start,
        end=start + timedelta(minutes=minutes),
        timezone=zone.key,
        rules=(parse_rule(rule),),
        edits=edits,
    )


def calendar(rule: str, start: datetime, *, after: datetime, limit: int) -> list[datetime]:
    """RFC 5545's occurrences at or after ``after``, by dateutil from the rule text, in UTC."""
    expansion = rrulestr(rule, dtstart=start)
    assert isinstance(expansion, rrule)
    return [m.astimezone(UTC) for m in islice(expansion.xafter(after, inc=True), limit)]


def window(rule: str, start: datetime, *, after: datetime) -> list[datetime]:
    """The 60 occurrences a window placed at ``after`` should hold: from the first whose time
    exists (Zoom would misread a start the clocks skip)."""
    zone = start.tzinfo
    ahead = calendar(rule, start, after=after, limit=61)
    if len(ahead) > 1 and not exists(ahead[0].astimezone(zone)):
        ahead = ahead[1:]
    return ahead[:60]


def held(desired: Desired) -> list[datetime]:
    """The occurrences Zoom has for the meeting, as Zoom documents its recurrence."""
    series = desired.series
    assert series.recurrence is not None and series.start is not None
    return zoom_occurrences(series.recurrence, start=series.start, zone=ZoneInfo(series.timezone))


@st.composite
def endless(draw: st.DrawFn) -> tuple[str, datetime]:
    """Endless rules of Zoom's shapes, DTSTART on the rule."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(st.dates(min_value=date(2024, 1, 1), max_value=date(2028, 12, 31)))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    if freq == "MONTHLY":
        day = day.replace(day=min(day.day, 28))
    start = datetime.combine(day, time(draw(st.integers(0, 23)), 30), tzinfo=zone)
    assume(exists(start))
    weekday = WEEKDAYS[start.weekday()]
    if freq == "DAILY":
        return f"FREQ=DAILY;INTERVAL={draw(st.integers(1, 90))}", start
    if freq == "WEEKLY":
        days = {weekday} | set(draw(st.lists(st.sampled_from(WEEKDAYS), max_size=4)))
        byday = ",".join(sorted(days, key=WEEKDAYS.index))
        return f"FREQ=WEEKLY;INTERVAL={draw(st.integers(1, 12))};BYDAY={byday};WKST=SU", start
    interval = draw(st.integers(1, 3))
    if draw(st.booleans()):
        return f"FREQ=MONTHLY;INTERVAL={interval};BYMONTHDAY={start.day}", start
    position = (start.day - 1) // 7 + 1
    start = start.replace(day=(min(position, 4) - 1) * 7 + 1 + (start.day - 1) % 7)
    assume(exists(start))
    return f"FREQ=MONTHLY;INTERVAL={interval};BYDAY={min(position, 4)}{weekday}", start


nows = st.integers(-400, 4000).map(lambda days: MONDAY.astimezone(UTC) + timedelta(days=days))


@settings(max_examples=200, deadline=None)
@given(endless(), nows)
def test_a_window_holds_the_calendars_next_sixty_occurrences(
    case: tuple[str, datetime], now: datetime
) -> None:
    rule, start = case
    desired = desired_from_event(event(rule, start), now=now)
    assert desired.mapping == WINDOW_MAPPING and desired.reason
    assert held(desired) == window(rule, start, after=now + rolling.LEAD)


@settings(max_examples=200, deadline=None)
@given(endless(), nows)
def test_the_window_moves_on_after_thirty_occurrences_and_leaves_no_gap(
    case: tuple[str, datetime], now: datetime
) -> None:
    rule, start = case
    desired = desired_from_event(event(rule, start), now=now)
    before = held(desired)
    due = rolling.next_roll(desired)
    length = timedelta(minutes=desired.series.duration)
    assert due == before[rolling.ROLL_AFTER - 1] + length
    assert rolling.rolled(desired, due - timedelta(seconds=1)) is None
    moved = rolling.rolled(desired, due)
    assert moved is not None and moved.series.topic == desired.series.topic
    after = held(moved)
    assert after == window(rule, start, after=due + rolling.LEAD)
    # Every occurrence still to come is held before and after the move: no gap between windows.
    assert after[0] <= before[-1] and after[0] >= before[rolling.ROLL_AFTER - 1]
    later = rolling.next_roll(moved)
    assert later is not None and later > due


def test_a_long_finite_series_ends_with_what_remains() -> None:
    rule = "FREQ=WEEKLY;BYDAY=MO;COUNT=70"
    now = MONDAY.astimezone(UTC) - timedelta(days=1)
    desired = desired_from_event(event(rule), now=now)
    assert desired.reason is not None and "more than 60" in desired.reason
    assert held(desired) == calendar(rule, MONDAY, after=now, limit=60)
    due = rolling.next_roll(desired)
    assert due is not None
    last = rolling.rolled(desired, due)
    assert last is not None
    assert held(last) == calendar(rule, MONDAY, after=due, limit=60)
    assert len(held(last)) == 40 and rolling.next_roll(last) is None
    assert rolling.held_through(last) == held(last)[-1]


def test_a_series_that_is_over_keeps_its_last_sixty_occurrences() -> None:
    rule = "FREQ=DAILY;COUNT=100"
    desired = desired_from_event(event(rule), now=MONDAY.astimezone(UTC) + timedelta(days=400))
    assert held(desired) == calendar(rule, MONDAY, after=MONDAY, limit=100)[40:]
    assert rolling.next_roll(desired) is None


def test_an_occurrence_about_to_start_is_left_to_the_meeting_not_the_window() -> None:
    """Zoom ignores a past start_time on a recurring meeting: a window starting at an
    occurrence that begins before the update could land would never be accepted."""
    rule = "FREQ=DAILY"
    now = MONDAY.astimezone(UTC) + timedelta(days=10) - timedelta(seconds=30)
    desired = desired_from_event(event(rule), now=now)
    assert desired.series.start == MONDAY.astimezone(UTC) + timedelta(days=11)


def test_a_window_never_starts_at_a_time_the_clocks_skip() -> None:
    """Daily at 02:30 in Berlin: on 28 March 2027 that time does not exist. A window placed
    that night starts the day after, so Zoom repeats 02:30, not the 03:30 it would read."""
    rule = "FREQ=DAILY"
    start = datetime(2027, 3, 1, 2, 30, tzinfo=BERLIN)
    desired = desired_from_event(event(rule, start), now=datetime(2027, 3, 28, 0, 0, tzinfo=UTC))
    assert desired.series.start == datetime(2027, 3, 29, 2, 30, tzinfo=BERLIN)
    assert held(desired)[0] == datetime(2027, 3, 29, 0, 30, tzinfo=UTC)


def test_an_edit_keeps_the_window_where_it_is_until_it_is_due_to_move() -> None:
    rule = "FREQ=WEEKLY;BYDAY=MO,WE"
    placed_at = MONDAY.astimezone(UTC) + timedelta(days=3)
    stored = desired_from_event(event(rule), now=placed_at)
    a_week_later = placed_at + timedelta(days=7)

    def again(changed: CalendarEvent, now: datetime = a_week_later) -> Desired:
        return rolling.keep_place(desired_from_event(changed, now=now), stored, now)

    renamed = again(event(rule, subject="Renamed"))
    assert renamed.series == replace(stored.series, topic="Renamed")
    cancelled = OccurrenceEdit(original_start=held(stored)[5], cancelled=True)
    assert again(event(rule, edits=(cancelled,))).series == stored.series
    # A changed series, or a window due to move, is placed afresh.
    other = again(event("FREQ=WEEKLY;BYDAY=MO,TH"))
    assert other.series.start == MONDAY.astimezone(UTC) + timedelta(days=14)
    moved_later = again(event(rule, MONDAY + timedelta(hours=1)))
    assert moved_later.series.start != stored.series.start
    due = rolling.next_roll(stored)
    assert due is not None
    assert again(event(rule), due) == rolling.rolled(stored, due)
