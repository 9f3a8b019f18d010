"""Microsoft Graph events (their JSON) as :class:`CalendarEvent` values (pure: no server).

A series comes as its master (``type: seriesMaster``, with ``recurrence``, a
``patternedRecurrence``) and its instances in a window (``GET …/events/{id}/instances``):
``occurrence`` and ``exception`` items, each with its ``originalStart``. An exception whose
time differs from the series' becomes a moved occurrence; an occurrence the rule makes in the
window but that is not among the instances was deleted, and becomes a cancelled one (an
attendee's copy may also keep it with ``isCancelled: true``). The master's fields go through
the add-in's JSON validation, so the same event from the mailbox and from the add-in is the
same desired meeting.

Times: the source asks for UTC (``Prefer: outlook.timezone="UTC"``); the series' own zone is
``originalStartTimeZone`` (a Windows or IANA name), whose wall clock the rule keeps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import rrule as du

from linkzoom.calendar.event import CalendarEvent, minutes_between
from linkzoom.calendar.json_input import event_from_json
from linkzoom.calendar.models import OccurrenceEdit
from linkzoom.calendar.sources import patterns
from linkzoom.calendar.sources.patterns import WEEKDAYS, NotMirrorable, Pattern, rrule_of
from linkzoom.calendar.zones import named_zone

# Graph's dayOfWeek and weekIndex enumerations (the patternedRecurrence resource).
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}
_KINDS = {
    "daily": patterns.DAILY,
    "weekly": patterns.WEEKLY,
    "absoluteMonthly": patterns.ABSOLUTE_MONTHLY,
    "relativeMonthly": patterns.RELATIVE_MONTHLY,
    "absoluteYearly": patterns.ABSOLUTE_YEARLY,
    "relativeYearly": patterns.RELATIVE_YEARLY,
}
SERIES_MASTER, EXCEPTION = "seriesMaster", "exception"


def utc_of(value: dict[str, Any] | None) -> datetime:
    """A ``dateTimeTimeZone`` as an aware UTC instant."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise ValueError("a time without its dateTime")
    moment = datetime.fromisoformat(value["dateTime"].removesuffix("Z"))
    zone = named_zone(str(value.get("timeZone") or "UTC")) or ZoneInfo("UTC")
    return moment.replace(tzinfo=zone).astimezone(UTC)


def instant(text: str) -> datetime:
    """A ``DateTimeOffset`` (``originalStart``) as an aware UTC instant."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def rule_of(recurrence: dict[str, Any]) -> str:
    pattern, span = recurrence.get("pattern") or {}, recurrence.get("range") or {}
    kind = _KINDS.get(str(pattern.get("type")))
    if kind is None:
        raise NotMirrorable(f"the recurrence pattern {pattern.get('type')!r} is not one we know")
    days = tuple(WEEKDAYS[_DAYS.index(d)] for d in pattern.get("daysOfWeek") or () if d in _DAYS)
    first = str(pattern.get("firstDayOfWeek") or "sunday")
    until = count = None
    if span.get("type") == "endDate" and span.get("endDate"):
        until = date.fromisoformat(str(span["endDate"]))
    elif span.get("type") == "numbered":
        count = int(span.get("numberOfOccurrences") or 0) or None
    relative = kind in (patterns.RELATIVE_MONTHLY, patterns.RELATIVE_YEARLY)
    return rrule_of(
        Pattern(
            kind=kind,
            interval=int(pattern.get("interval") or 1),
            days=days,
            first_day=WEEKDAYS[_DAYS.index(first)] if first in _DAYS else "SU",
            day_of_month=pattern.get("dayOfMonth"),
            month=pattern.get("month"),
            index=_INDEX.get(str(pattern.get("index") or "first")) if relative else None,
            until=until,
            count=count,
        )
    )


def zone_of(master: dict[str, Any]) -> str:
    """The series' own zone: its original start zone, else the recurrence's, else UTC."""
    span = (master.get("recurrence") or {}).get("range") or {}
    for name in (master.get("originalStartTimeZone"), span.get("recurrenceTimeZone")):
        if isinstance(name, str) and named_zone(name) is not None:
            return name
    return "UTC"


def event_of(
    master: dict[str, Any], instances: list[dict[str, Any]], *, window: tuple[datetime, datetime]
) -> CalendarEvent:
    """The event a single instance, or a series master with its instances in ``window``,
    shows. Raises ``ValidationFailed`` or :class:`NotMirrorable` when it cannot be mirrored."""
    zone_name = zone_of(master)
    zone = named_zone(zone_name) or ZoneInfo("UTC")
    start, end = utc_of(master.get("start")), utc_of(master.get("end"))
    body: dict[str, Any] = {"subject": master.get("subject") or "", "timezone": zone_name}
    if master.get("isAllDay"):
        # Midnight to midnight in the event's zone; Graph gives the dates in the zone asked.
        first = datetime.fromisoformat(master["start"]["dateTime"]).date()
        last = datetime.fromisoformat(master["end"]["dateTime"]).date()
        body |= {
            "all_day": True,
            "start": first.isoformat(),
            "end": max(last, first + timedelta(days=1)).isoformat(),
        }
    else:
        body |= {"start": start.isoformat(), "end": end.isoformat()}
    recurrence = master.get("recurrence")
    rule = rule_of(recurrence) if master.get("type") == SERIES_MASTER and recurrence else None
    if rule is not None:
        body["recurrence"] = rule
    event = event_from_json(body)
    if rule is None:
        return event
    length = minutes_between(event.start, event.end)
    present: set[datetime] = set()
    edits: list[OccurrenceEdit] = []
    for instance in instances:
        if not instance.get("originalStart"):
            continue
        original = instant(instance["originalStart"])
        present.add(original)
        if instance.get("isCancelled"):
            edits.append(OccurrenceEdit(original_start=original, cancelled=True))
            continue
        if instance.get("type") != EXCEPTION:
            continue
        moved, moved_end = utc_of(instance.get("start")), utc_of(instance.get("end"))
        duration = minutes_between(moved, moved_end)
        if moved != original or duration != length:  # an edit of its subject alone is no change
            edits.append(OccurrenceEdit(original_start=original, start=moved, duration=duration))
    for original in _made_by_rule(rule, event.start.astimezone(zone), window):
        if original not in present:
            edits.append(OccurrenceEdit(original_start=original, cancelled=True))
    return replace(event, edits=event.edits + tuple(sorted(edits, key=_by_start)))


def _by_start(edit: OccurrenceEdit) -> datetime:
    return edit.original_start


def _made_by_rule(rule: str, start: datetime, window: tuple[datetime, datetime]) -> list[datetime]:
    """The rule's occurrences in ``window`` as UTC instants. Expanded on the wall clock of the
    series' zone (a 09:00 meeting stays at 09:00 across a DST change), the way Exchange does."""
    zone = start.tzinfo
    assert zone is not None
    text = rule
    if "UNTIL=" in text:  # a date: the whole of that day, on the same wall clock
        head, _, tail = text.partition("UNTIL=")
        day, _, rest = tail.partition(";")
        last = datetime.combine(datetime.strptime(day[:8], "%Y%m%d").date(), time(23, 59, 59))
        text = head + "UNTIL=" + last.strftime("%Y%m%dT%H%M%S") + (";" + rest if rest else "")
    generator = du.rrulestr(text, dtstart=start.replace(tzinfo=None))
    low = window[0].astimezone(zone).replace(tzinfo=None) - timedelta(days=1)
    high = window[1].astimezone(zone).replace(tzinfo=None) + timedelta(days=1)
    found = []
    for wall in generator.between(low, high, inc=True):
        moment = wall.replace(tzinfo=zone).astimezone(UTC)
        if window[0] <= moment < window[1]:
            found.append(moment)
    return found
