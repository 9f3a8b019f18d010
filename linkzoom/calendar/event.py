"""A calendar event as the add-in describes it, and the Zoom meeting it should have (pure).

JSON bodies (:mod:`linkzoom.calendar.json_input`) and iCalendar bodies
(:mod:`linkzoom.calendar.ical`) both become a :class:`CalendarEvent`;
:func:`desired_from_event` turns that into the :class:`~linkzoom.calendar.models.Desired`
meeting, choosing between an exact recurring meeting, a rolling window of a longer series
(:mod:`linkzoom.calendar.rolling`) and one with no fixed time.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from linkzoom.calendar import rolling
from linkzoom.calendar.models import (
    EXACT,
    NO_FIXED_TIME,
    NO_FIXED_TIME_MAPPING,
    RECURRING,
    SCHEDULED,
    WINDOW_MAPPING,
    Desired,
    OccurrenceEdit,
    Series,
    Window,
)
from linkzoom.calendar.recurrence import map_recurrence
from linkzoom.calendar.rrule import Rule
from linkzoom.zoom.text import clean_text, fit

MAX_EDITS = 1000
# No calendar needs times outside these years, and near year 1 or 9999 moving a time between
# zones overflows: such times are refused as input, not left to crash later.
MIN_YEAR, MAX_YEAR = 1900, 2999
# A year is longer than any event a meeting could serve; far longer spans overflow arithmetic.
MAX_LENGTH = timedelta(days=366)
TOO_LONG = "the event may last at most 366 days"
DEFAULT_TOPIC = "Zoom meeting"
# A moment: an event with a start and no length (DTSTART alone, or DTEND equal to it; RFC 5545
# §3.6.1 gives such an event no duration, and Outlook allows zero-minute appointments). Zoom
# schedules in whole minutes and shows a length, so the meeting lasts this long (Outlook's
# default meeting length); the calendar keeps showing the moment.
MOMENT = timedelta(minutes=30)


@dataclass(frozen=True, kw_only=True)
class CalendarEvent:
    """One event: ``start``/``end`` are aware (an all-day event runs from midnight to midnight
    in ``timezone``, an IANA name); ``edits`` hold EXDATEs and RECURRENCE-ID overrides."""

    subject: str
    start: datetime
    end: datetime
    timezone: str
    all_day: bool = False
    rules: tuple[Rule, ...] = ()
    extra_dates: bool = False
    edits: tuple[OccurrenceEdit, ...] = ()


def desired_from_event(event: CalendarEvent, *, now: datetime) -> Desired:
    """The meeting the event should have; see the module docstring. ``now`` places the window
    of a series longer than one Zoom meeting."""
    zone = ZoneInfo(event.timezone)
    start = _instant(event.start)
    duration = minutes_between(event.start, event.end)
    topic = _topic(event.subject)
    if not event.rules and not event.extra_dates:
        return Desired(
            series=Series(
                topic=topic, type=SCHEDULED, start=start, duration=duration, timezone=event.timezone
            )
        )
    mapped = map_recurrence(
        event.rules, start=event.start.astimezone(zone), extra_dates=event.extra_dates
    )
    if mapped.recurrence is None:
        return Desired(
            series=Series(
                topic=topic,
                type=NO_FIXED_TIME,
                start=None,
                duration=duration,
                timezone=event.timezone,
            ),
            mapping=NO_FIXED_TIME_MAPPING,
            reason=mapped.reason,
        )
    series = Series(
        topic=topic,
        type=RECURRING,
        start=start,
        duration=duration,
        timezone=event.timezone,
        recurrence=mapped.recurrence,
    )
    edits = _edits(event.edits, duration)
    if not mapped.window:
        return Desired(series=series, edits=edits, mapping=EXACT)
    window = Window(rule=event.rules[0], first=start)
    desired = Desired(
        series=series, edits=edits, mapping=WINDOW_MAPPING, reason=mapped.reason, window=window
    )
    return rolling.place(desired, now)


def out_of_range(moment: date) -> str | None:
    """Why ``moment`` (a date or date-time) cannot be an event's time; ``None`` if it can."""
    if MIN_YEAR <= moment.year <= MAX_YEAR:
        return None
    return f"must be between the years {MIN_YEAR} and {MAX_YEAR}"


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from ``start`` to ``end``, rounded up: Zoom counts in minutes. In UTC:
    Python subtracts two times of one zone by their wall clocks, ignoring a DST change."""
    span = end.astimezone(UTC) - start.astimezone(UTC)
    return max(1, math.ceil(span.total_seconds() / 60))


def before(first: datetime, second: datetime) -> bool:
    """``first < second`` as instants (see :func:`minutes_between`)."""
    return first.astimezone(UTC) < second.astimezone(UTC)


def _instant(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(microsecond=0)


def _topic(subject: str) -> str:
    return fit(clean_text(subject) or DEFAULT_TOPIC)


def _edits(edits: tuple[OccurrenceEdit, ...], duration: int) -> tuple[OccurrenceEdit, ...]:
    """One edit per occurrence (a cancellation beats a move), in UTC, no-op moves dropped."""
    merged: dict[datetime, OccurrenceEdit] = {}
    for edit in edits:
        original = _instant(edit.original_start)
        start = None if edit.start is None else _instant(edit.start)
        length = edit.duration
        if not edit.cancelled and start in (None, original) and length in (None, duration):
            continue
        normal = OccurrenceEdit(
            original_start=original,
            cancelled=edit.cancelled,
            start=None if edit.cancelled or start == original else start,
            duration=None if edit.cancelled or length == duration else length,
        )
        if original not in merged or normal.cancelled:
            merged[original] = normal
    return tuple(merged[key] for key in sorted(merged))
