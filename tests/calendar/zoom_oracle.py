"""Zoom's recurrence semantics as Zoom documents them, written for the tests alone.

This is the other side of the proof in ``test_recurrence.py``: an independent reading of what
a ``recurrence`` object means (not the sandbox's code, which is a third opinion). Zoom keeps the
meeting's wall-clock time in its time zone; weekdays are 1 = Sunday … 7 = Saturday, and weeks
begin on Sunday; a monthly day a month lacks has no occurrence that month; ``end_times`` counts
occurrences from the start.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from linkzoom.zoom.models import Recurrence


def zoom_occurrences(recurrence: Recurrence, *, start: datetime, zone: ZoneInfo) -> list[datetime]:
    local = start.astimezone(zone)
    wall = local.time().replace(tzinfo=None)
    assert recurrence.end_times is not None and recurrence.end_date_time is None
    found: list[datetime] = []
    for day in _dates(recurrence, local.date()):
        if len(found) == recurrence.end_times:
            break
        found.append(datetime.combine(day, wall, tzinfo=zone).astimezone(UTC))
    return found


def _dates(recurrence: Recurrence, first: date) -> Iterator[date]:
    every = recurrence.repeat_interval or 1
    if recurrence.type == 1:
        for step in range(10_000):
            yield first + timedelta(days=step * every)
    elif recurrence.type == 2:
        assert recurrence.weekly_days
        days = sorted(int(d) for d in recurrence.weekly_days.split(","))
        sunday = first - timedelta(days=(first.weekday() + 1) % 7)
        for week in range(0, 10_000, every):
            for zoom_day in days:
                day = sunday + timedelta(weeks=week, days=zoom_day - 1)
                if day >= first:
                    yield day
    else:
        for months in range(0, 10_000, every):
            year, month = divmod(first.month - 1 + months, 12)
            monthly = _monthly(recurrence, first.year + year, month + 1)
            if monthly is not None and monthly >= first:
                yield monthly


def _monthly(recurrence: Recurrence, year: int, month: int) -> date | None:
    length = calendar.monthrange(year, month)[1]
    if recurrence.monthly_day is not None:
        return (
            date(year, month, recurrence.monthly_day) if recurrence.monthly_day <= length else None
        )
    assert recurrence.monthly_week is not None and recurrence.monthly_week_day is not None
    weekday = (recurrence.monthly_week_day + 5) % 7  # Zoom's 1 = Sunday -> Python's 6
    matches = [
        date(year, month, d)
        for d in range(1, length + 1)
        if date(year, month, d).weekday() == weekday
    ]
    return matches[-1] if recurrence.monthly_week == -1 else matches[recurrence.monthly_week - 1]
