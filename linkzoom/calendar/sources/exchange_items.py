"""Exchange calendar items (as exchangelib parses them) as :class:`CalendarEvent` values.

Pure: no server. The master's fields go through the same validation as the add-in's JSON body
(:func:`linkzoom.calendar.json_input.event_from_json`), so an event from the mailbox and the same
event from the add-in become the same desired meeting. The recurrence is mapped from
[MS-OXWSCAL] patterns to an RFC 5545 RRULE; modified occurrences become moved edits and deleted
occurrences cancelled ones, keyed by their original start as the mirror expects.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from linkzoom.calendar.event import CalendarEvent, minutes_between
from linkzoom.calendar.json_input import event_from_json
from linkzoom.calendar.models import OccurrenceEdit
from linkzoom.calendar.sources import patterns
from linkzoom.calendar.sources.patterns import WEEKDAYS, NotMirrorable, Pattern, rrule_of

_WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# "Day", "Weekday" and "WeekendDay" stand for day sets.
_DAY_SETS = {"Day": WEEKDAYS, "Weekday": WEEKDAYS[:5], "WeekendDay": WEEKDAYS[5:]}
_ALL_DAYS = (*_WEEKDAY_NAMES, "Day", "Weekday", "WeekendDay")  # exchangelib's WEEKDAYS order
_WEEK_NUMBERS = {"First": 1, "Second": 2, "Third": 3, "Fourth": 4, "Last": -1}
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_KINDS = {
    "DailyPattern": patterns.DAILY,
    "WeeklyPattern": patterns.WEEKLY,
    "AbsoluteMonthlyPattern": patterns.ABSOLUTE_MONTHLY,
    "RelativeMonthlyPattern": patterns.RELATIVE_MONTHLY,
    "AbsoluteYearlyPattern": patterns.ABSOLUTE_YEARLY,
    "RelativeYearlyPattern": patterns.RELATIVE_YEARLY,
}


def _name(value: Any, names: tuple[str, ...]) -> str:
    """exchangelib hands enum values back as 1-based numbers when parsed, names when built."""
    return names[value - 1] if isinstance(value, int) else str(value)


def _code(day: Any) -> str:
    return WEEKDAYS[_WEEKDAY_NAMES.index(_name(day, _WEEKDAY_NAMES))]


def recurrence_rule(recurrence: Any) -> str:
    """The RRULE of an exchangelib ``Recurrence`` (pattern + boundary)."""
    pattern, boundary = recurrence.pattern, recurrence.boundary
    kind = _KINDS.get(type(pattern).__name__)
    if kind is None:  # DailyRegeneration and the like: tasks' "n days after completion"
        raise NotMirrorable(
            f"the recurrence pattern {type(pattern).__name__} has no calendar equivalent"
        )
    days: tuple[str, ...] = ()
    index = None
    if kind == patterns.WEEKLY:
        days = tuple(_code(d) for d in pattern.weekdays)
    elif kind in (patterns.RELATIVE_MONTHLY, patterns.RELATIVE_YEARLY):
        day = _name(pattern.weekday, _ALL_DAYS)
        days = _DAY_SETS.get(day) or (_code(day),)
        index = _WEEK_NUMBERS[_name(pattern.week_number, tuple(_WEEK_NUMBERS))]
    month = getattr(pattern, "month", None)
    until = count = None
    boundary_kind = type(boundary).__name__
    if boundary_kind == "EndDatePattern":
        until = boundary.end.date() if isinstance(boundary.end, datetime) else boundary.end
    elif boundary_kind == "NumberedPattern":
        count = boundary.number
    return rrule_of(
        Pattern(
            kind=kind,
            interval=int(getattr(pattern, "interval", 1) or 1),
            days=days,
            first_day=_code(pattern.first_day_of_week or 1) if kind == patterns.WEEKLY else "SU",
            day_of_month=getattr(pattern, "day_of_month", None),
            month=_MONTHS.index(_name(month, _MONTHS)) + 1 if month is not None else None,
            index=index,
            until=until,
            count=count,
        )
    )


def event_of(item: Any) -> CalendarEvent:
    """The event an exchangelib ``CalendarItem`` (a single item or a recurring master) shows.
    Raises :class:`ValidationFailed` or :class:`NotMirrorable` when it cannot be mirrored."""
    zone = item._start_timezone
    zone_name = getattr(zone, "key", None) or "UTC"
    start, end = item.start, item.end
    body: dict[str, Any] = {"subject": item.subject or "", "timezone": zone_name}
    if item.is_all_day or (isinstance(start, date) and not isinstance(start, datetime)):
        body["all_day"] = True
        first = start.date() if isinstance(start, datetime) else start
        last = end.date() if isinstance(end, datetime) else end
        body["start"], body["end"] = (
            first.isoformat(),
            max(last, first + timedelta(days=1)).isoformat(),
        )
    else:
        body["start"], body["end"] = _iso(start), _iso(end)
    if item.recurrence is not None:
        body["recurrence"] = recurrence_rule(item.recurrence)
        deleted = item.deleted_occurrences or []
        if deleted:
            body["exdates"] = [_iso(occurrence.start) for occurrence in deleted]
    event = event_from_json(body)
    length = minutes_between(event.start, event.end)
    moved = []
    for occurrence in item.modified_occurrences or []:
        if occurrence.original_start is None or occurrence.start is None or occurrence.end is None:
            continue
        original, start, end = (
            _utc(occurrence.original_start),
            _utc(occurrence.start),
            _utc(occurrence.end),
        )
        duration = minutes_between(start, end)
        # An exception whose time is the series' own (its subject or body was edited) is no
        # change to the meeting.
        if start != original or duration != length:
            moved.append(OccurrenceEdit(original_start=original, start=start, duration=duration))
    return replace(event, edits=event.edits + tuple(moved)) if moved else event


def _utc(value: datetime) -> datetime:
    """A plain aware UTC datetime (exchangelib's ``EWSDateTime`` converts only to its own zones)."""
    return datetime.fromtimestamp(value.timestamp(), UTC)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat()
