"""Series longer than one Zoom meeting: the window of their occurrences that Zoom holds (pure).

A type-8 Zoom meeting holds at most 60 occurrences, and the most common recurring meeting of
all, a weekly one with no end, has more. Such a series (``Desired.window``) is one Zoom meeting
whose recurrence covers a *window*: the next ``WINDOW`` occurrences, starting with the first one
at least ``LEAD`` ahead. Within it Zoom knows every time exactly (its calendar, reminders and
reports too).

Once ``ROLL_AFTER`` occurrences of the window have ended, the reconciler moves it on
(:func:`rolled`): the window is placed afresh, and one PATCH sends the new start and recurrence
(together, as Zoom requires), from which Zoom regenerates the occurrences. The meeting, its id
and its join link stay. Zoom so always holds at least the next ``WINDOW - ROLL_AFTER``
occurrences (all that remain, near the end of a finite series), and a series costs one update
per ``ROLL_AFTER`` occurrences: a weekly meeting every seven months, a daily one every month,
far inside any daily write limit. Occurrence edits in the new window are applied again after
the regeneration, as after any series change (:mod:`linkzoom.calendar.reconcile`).

Zoom ignores a past ``start_time`` on a recurring meeting (SPEC23 PATCH), so a window must
begin far enough ahead for the update to arrive first: an occurrence starting within ``LEAD``
of the move is left to the meeting itself (its link still serves it), not to the window.

A calendar edit of a windowed event keeps the window where it is (:func:`keep_place`) unless
the series itself changed or the window is due to move: a new subject is then a topic change
at Zoom, not a regeneration of every occurrence.
"""

from __future__ import annotations

from collections import deque
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from linkzoom.calendar.models import RECURRING, Desired
from linkzoom.calendar.recurrence import MAX_OCCURRENCES, expand_from, keeps_wall_clock

WINDOW = MAX_OCCURRENCES
ROLL_AFTER = 30
LEAD = timedelta(minutes=1)


def place(desired: Desired, now: datetime, *, anchor: datetime | None = None) -> Desired:
    """``desired`` with its window at the next ``WINDOW`` occurrences from ``now + LEAD``; a
    series that is over keeps its last ones (a meeting of past times, as an exact series has).
    ``anchor``: an earlier occurrence to expand from (see ``_starts``)."""
    if desired.window is None:
        return desired
    ahead = _starts(desired, after=now + LEAD, limit=WINDOW + 1, anchor=anchor)
    # A start Zoom would misread (see keeps_wall_clock) is left to the meeting, like one too
    # near; the clocks skip at most once a season, so the next occurrence reads right.
    if len(ahead) > 1 and not keeps_wall_clock(ahead[0]):
        ahead = ahead[1:]
    starts = ahead[:WINDOW] or _last(desired)
    recurrence = desired.series.recurrence
    assert recurrence is not None, "a window has Zoom's pattern"
    series = replace(
        desired.series,
        start=starts[0].astimezone(UTC),
        recurrence=replace(recurrence, end_times=len(starts)),
    )
    return replace(desired, series=series)


def next_roll(desired: Desired) -> datetime | None:
    """When the window moves on: once its ``ROLL_AFTER``-th occurrence has ended; ``None``
    when it already reaches the series' end (or there is no window)."""
    if desired.window is None or desired.deleted or desired.series.start is None:
        return None
    start = desired.series.start
    starts = _starts(desired, after=start, limit=WINDOW + 1, anchor=start)
    if len(starts) <= WINDOW:
        return None
    return starts[ROLL_AFTER - 1].astimezone(UTC) + timedelta(minutes=desired.series.duration)


def rolled(desired: Desired, now: datetime) -> Desired | None:
    """The window moved on, if it is time (see :func:`next_roll`); ``None`` otherwise."""
    due = next_roll(desired)
    if due is None or now < due:
        return None
    moved = place(desired, now, anchor=desired.series.start)
    return None if moved == desired else moved


def keep_place(desired: Desired, stored: Desired, now: datetime) -> Desired:
    """``desired`` (placed afresh from the calendar) placed where ``stored`` has its window,
    when both are the same series and that window is not due to move."""
    if desired.window is None or stored.window != desired.window or stored.deleted:
        return desired
    want, have = desired.series, stored.series
    if have.type != RECURRING or have.timezone != want.timezone or have.recurrence is None:
        return desired
    assert want.recurrence is not None
    if replace(have.recurrence, end_times=None) != replace(want.recurrence, end_times=None):
        return desired
    due = next_roll(stored)
    if due is not None and now >= due:
        return desired
    return replace(desired, series=replace(want, start=have.start, recurrence=have.recurrence))


def held_through(desired: Desired) -> datetime | None:
    """The start of the last occurrence Zoom holds for a windowed series."""
    series = desired.series
    if desired.window is None or series.start is None or series.recurrence is None:
        return None
    count = series.recurrence.end_times or WINDOW
    starts = _starts(desired, after=series.start, limit=count, anchor=series.start)
    return starts[-1].astimezone(UTC) if starts else None


def _starts(
    desired: Desired, *, after: datetime, limit: int, anchor: datetime | None = None
) -> list[datetime]:
    """The series' occurrences at or after ``after``. ``anchor``, an occurrence, saves
    dateutil's walk from DTSTART through the series' past (7 ms for ten years of a daily rule):
    expanding from any occurrence gives the same later ones (the same period phase, weekday and
    day). Not with a COUNT, which counts from DTSTART."""
    window = desired.window
    assert window is not None
    zone = ZoneInfo(desired.series.timezone)
    start = window.first.astimezone(zone)
    if anchor is not None and window.rule.count is None and start <= anchor <= after:
        local = anchor.astimezone(zone)
        if keeps_wall_clock(local):
            start = local
    return expand_from(window.rule, start=start, after=after, limit=limit)


def _last(desired: Desired) -> list[datetime]:
    """The last ``WINDOW`` occurrences of a series with none ahead (so a finite one)."""
    window = desired.window
    assert window is not None
    return list(deque(_starts(desired, after=window.first, limit=10**9), maxlen=WINDOW))
