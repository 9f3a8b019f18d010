"""Expansion of Zoom's ``recurrence`` object into occurrence start instants (pure).

Zoom keeps the wall-clock time of a recurring meeting in the meeting's time zone, so occurrences
are computed on local dates and converted to UTC one by one (a weekly 09:00 New York meeting
stays at 09:00 across a DST change). Weekdays follow Zoom's numbering, 1 = Sunday … 7 = Saturday,
and weeks start on Sunday. A monthly day that a month lacks (the 31st in April) is skipped.

Limits are Zoom's (SPEC23): ``repeat_interval`` up to 90 days / 12 weeks / 3 months,
``end_times`` up to 60 (default 1). ``end_date_time`` ranges are also cut at 60 occurrences; Zoom
documents no cap for them, so this is the sandbox's choice.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from .clock import parse_instant, zoom_time

DAILY, WEEKLY, MONTHLY = 1, 2, 3
MAX_REPEAT_INTERVAL = {DAILY: 90, WEEKLY: 12, MONTHLY: 3}
MAX_END_TIMES = 60
MAX_OCCURRENCES = 60
_MAX_CANDIDATES = 5000


@dataclass(frozen=True, kw_only=True)
class Recurrence:
    """A validated recurrence object; see :mod:`.validation` for how one is parsed."""

    type: int
    repeat_interval: int = 1
    weekly_days: tuple[int, ...] = ()
    monthly_day: int | None = None
    monthly_week: int | None = None
    monthly_week_day: int | None = None
    end_times: int | None = None
    end_date_time: datetime | None = None

    def to_json(self) -> dict[str, Any]:
        """The object as Zoom echoes it in meeting responses."""
        body: dict[str, Any] = {"type": self.type, "repeat_interval": self.repeat_interval}
        if self.type == WEEKLY:
            body["weekly_days"] = ",".join(str(d) for d in self.weekly_days)
        if self.type == MONTHLY:
            if self.monthly_week is not None:
                body["monthly_week"] = self.monthly_week
                body["monthly_week_day"] = self.monthly_week_day
            elif self.monthly_day is not None:
                body["monthly_day"] = self.monthly_day
        if self.end_date_time is not None:
            body["end_date_time"] = zoom_time(self.end_date_time)
        else:
            body["end_times"] = self.end_times or 1
        return body

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> Recurrence:
        """Read back what :meth:`to_json` wrote (trusted input, e.g. the state file)."""
        days = str(body.get("weekly_days") or "")
        end = body.get("end_date_time")
        return cls(
            type=int(body["type"]),
            repeat_interval=int(body.get("repeat_interval", 1)),
            weekly_days=tuple(int(d) for d in days.split(",") if d),
            monthly_day=body.get("monthly_day"),
            monthly_week=body.get("monthly_week"),
            monthly_week_day=body.get("monthly_week_day"),
            end_times=body.get("end_times"),
            end_date_time=parse_instant(end) if end else None,
        )


def expand(recurrence: Recurrence, *, start: datetime, zone: ZoneInfo) -> list[datetime]:
    """Occurrence start instants (UTC) of a series anchored at ``start``, in order."""
    local_start = start.astimezone(zone)
    wall_time = local_start.time().replace(tzinfo=None)
    count = (
        MAX_OCCURRENCES
        if recurrence.end_date_time is not None
        else min(recurrence.end_times or 1, MAX_END_TIMES)
    )
    instants: list[datetime] = []
    for index, day in enumerate(_candidate_dates(recurrence, local_start.date())):
        if index >= _MAX_CANDIDATES or len(instants) >= count:
            break
        instant = datetime.combine(day, wall_time, tzinfo=zone).astimezone(UTC)
        if recurrence.end_date_time is not None and instant > recurrence.end_date_time:
            break
        instants.append(instant)
    return instants


def _candidate_dates(recurrence: Recurrence, first: date) -> Iterator[date]:
    interval = max(recurrence.repeat_interval, 1)
    if recurrence.type == DAILY:
        step = 0
        while True:
            yield first + timedelta(days=step * interval)
            step += 1
    elif recurrence.type == WEEKLY:
        days = sorted(set(recurrence.weekly_days)) or [_zoom_weekday(first)]
        sunday = first - timedelta(days=_zoom_weekday(first) - 1)
        week = 0
        while True:
            base = sunday + timedelta(weeks=week * interval)
            for zoom_day in days:
                candidate = base + timedelta(days=zoom_day - 1)
                if candidate >= first:
                    yield candidate
            week += 1
    else:
        month_index = first.year * 12 + first.month - 1
        # Bounded: a monthly day some months lack must not spin forever.
        for _ in range(_MAX_CANDIDATES):
            year, month0 = divmod(month_index, 12)
            monthly = _monthly_date(recurrence, year, month0 + 1, first.day)
            if monthly is not None and monthly >= first:
                yield monthly
            month_index += interval


def _monthly_date(recurrence: Recurrence, year: int, month: int, anchor_day: int) -> date | None:
    last_day = calendar.monthrange(year, month)[1]
    if recurrence.monthly_week is not None and recurrence.monthly_week_day is not None:
        python_weekday = (recurrence.monthly_week_day - 2) % 7
        if recurrence.monthly_week == -1:
            day = last_day - (date(year, month, last_day).weekday() - python_weekday) % 7
        else:
            first_match = 1 + (python_weekday - date(year, month, 1).weekday()) % 7
            day = first_match + 7 * (recurrence.monthly_week - 1)
            if day > last_day:
                return None
        return date(year, month, day)
    wanted = recurrence.monthly_day or anchor_day
    return date(year, month, wanted) if wanted <= last_day else None


def _zoom_weekday(day: date) -> int:
    """Zoom's weekday number: 1 = Sunday … 7 = Saturday."""
    return day.isoweekday() % 7 + 1
