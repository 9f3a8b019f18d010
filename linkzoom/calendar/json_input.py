"""The JSON body of ``PUT …/zoom`` as a :class:`~linkzoom.calendar.event.CalendarEvent` (pure).

``{subject, start, end, timezone, recurrence?, exdates?, all_day?}``: ``start``/``end`` are ISO
8601 with an offset (dates for all-day events), ``timezone`` an IANA or Windows name,
``recurrence`` an RRULE value (several may be given on separate lines), ``exdates`` instants
(or dates) of cancelled occurrences. Every problem is reported at once, by field.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from linkzoom.calendar.event import (
    MAX_EDITS,
    MAX_LENGTH,
    MOMENT,
    TOO_LONG,
    CalendarEvent,
    before,
    out_of_range,
)
from linkzoom.calendar.models import OccurrenceEdit
from linkzoom.calendar.rrule import Rule, RuleError, parse_rule
from linkzoom.calendar.zones import named_zone
from linkzoom.problems import FieldError, ValidationFailed

MAX_SUBJECT = 10_000
MAX_RULE_TEXT = 2_000


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def __call__(self, field: str, message: str) -> None:
        self.items.append(FieldError(field=field, message=message))


def event_from_json(data: dict[str, Any]) -> CalendarEvent:
    """Validate the body; raises :class:`ValidationFailed` naming every bad field."""
    fail = _Errors()
    subject = data.get("subject", "")
    if subject is None:
        subject = ""
    if not isinstance(subject, str):
        fail("subject", "must be a string")
        subject = ""
    elif len(subject) > MAX_SUBJECT:
        fail("subject", f"must be at most {MAX_SUBJECT} characters")
    all_day = data.get("all_day", False)
    if not isinstance(all_day, bool):
        fail("all_day", "must be true or false")
        all_day = False
    zone, zone_name = _zone(data.get("timezone"), fail)
    start = _moment(data.get("start"), "start", zone, all_day, fail, required=True)
    end = _moment(data.get("end"), "end", zone, all_day, fail, required=not all_day)
    if all_day and start is not None and end is None:
        end = _midnight(start.date() + timedelta(days=1), start.tzinfo)
    if start is not None and end is not None and end == start and not all_day:
        end = start + MOMENT  # a zero-minute appointment
    if start is not None and end is not None and not before(start, end):
        fail("end", "must be after start")
    elif start is not None and end is not None and end - start > MAX_LENGTH:
        fail("end", TOO_LONG)
    rules = _rules(data.get("recurrence"), fail)
    edits = _exdates(data.get("exdates"), zone, all_day, fail)
    if fail.items:
        raise ValidationFailed(fail.items)
    assert start is not None and end is not None and zone_name is not None
    return CalendarEvent(
        subject=subject,
        start=start,
        end=end,
        timezone=zone_name,
        all_day=all_day,
        rules=rules,
        edits=edits,
    )


def _zone(value: object, fail: _Errors) -> tuple[ZoneInfo | None, str | None]:
    if not isinstance(value, str) or not value.strip():
        fail("timezone", "is required: an IANA name such as Europe/Berlin")
        return None, None
    zone = named_zone(value) if len(value) <= 200 else None
    if zone is None:
        fail("timezone", "is not a time zone we know (IANA or Windows name)")
        return None, None
    return zone, zone.key


def _moment(
    value: object,
    field: str,
    zone: ZoneInfo | None,
    all_day: bool,
    fail: _Errors,
    *,
    required: bool,
) -> datetime | None:
    if value is None:
        if required:
            fail(field, "is required")
        return None
    if not isinstance(value, str) or len(value) > 64:
        fail(field, "must be an ISO 8601 date-time with an offset")
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(field, "must be an ISO 8601 date-time with an offset")
        return None
    if (problem := out_of_range(parsed)) is not None:
        fail(field, problem)
        return None
    if zone is None:
        return None  # the time zone is already reported
    if all_day:
        day = parsed.astimezone(zone).date() if parsed.tzinfo else parsed.date()
        return _midnight(day, zone)
    if parsed.tzinfo is None:
        fail(field, "must carry a UTC offset, such as 2030-05-06T14:00:00+02:00")
        return None
    return parsed.astimezone(zone)


def _midnight(day: date, zone: Any) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def _rules(value: object, fail: _Errors) -> tuple[Rule, ...]:
    if value is None or value == "":
        return ()
    if not isinstance(value, str) or len(value) > MAX_RULE_TEXT:
        fail("recurrence", "must be an RRULE value such as FREQ=WEEKLY;BYDAY=MO;COUNT=10")
        return ()
    rules: list[Rule] = []
    for line in (part for part in value.splitlines() if part.strip()):
        try:
            rules.append(parse_rule(line))
        except RuleError as exc:
            fail("recurrence", str(exc))
    return tuple(rules)


def _exdates(
    value: object, zone: ZoneInfo | None, all_day: bool, fail: _Errors
) -> tuple[OccurrenceEdit, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_EDITS:
        fail("exdates", f"must be a list of at most {MAX_EDITS} ISO 8601 instants")
        return ()
    edits = []
    for index, item in enumerate(value):
        moment = _moment(item, f"exdates.{index}", zone, all_day, fail, required=True)
        if moment is not None:
            edits.append(OccurrenceEdit(original_start=moment, cancelled=True))
    return tuple(edits)
