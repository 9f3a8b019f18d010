"""The JSON body of ``PUT …/zoom`` (:class:`~linkzoom.calendar.bodies.EventBody`, its types
checked by msgspec) as a :class:`~linkzoom.calendar.event.CalendarEvent` (pure).

``{subject, start, end, timezone, recurrence?, exdates?, all_day?}``: ``start``/``end`` are ISO
8601 with an offset (dates for all-day events), ``timezone`` an IANA or Windows name,
``recurrence`` an RRULE value (several may be given on separate lines), ``exdates`` instants
(or dates) of cancelled occurrences. Every problem is reported at once, by field.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from linkzoom.calendar.bodies import MAX_MOMENT, MOMENT_MESSAGE, ZONE_REQUIRED, EventBody
from linkzoom.calendar.event import (
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
from linkzoom.http.typed_body import convert_model
from linkzoom.problems import FieldError, ValidationFailed


class _Errors:
    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def __call__(self, field: str, message: str) -> None:
        self.items.append(FieldError(field=field, message=message))


def event_from_json(data: dict[str, Any]) -> CalendarEvent:
    """The body already parsed from JSON; raises :class:`ValidationFailed` naming every bad
    field."""
    return convert_model(data, EventBody, event_of)


def event_of(body: EventBody) -> CalendarEvent:
    """What a well-typed body means; raises :class:`ValidationFailed` naming every bad field."""
    fail = _Errors()
    subject = body.subject or ""
    all_day = body.all_day
    zone, zone_name = _zone(body.timezone, fail)
    start = _moment(body.start, "start", zone, all_day, fail, required=True)
    end = _moment(body.end, "end", zone, all_day, fail, required=not all_day)
    if all_day and start is not None and end is None:
        end = _midnight(start.date() + timedelta(days=1), start.tzinfo)
    if start is not None and end is not None and end == start and not all_day:
        end = start + MOMENT  # a zero-minute appointment
    if start is not None and end is not None and not before(start, end):
        fail("end", "must be after start")
    elif start is not None and end is not None and end - start > MAX_LENGTH:
        fail("end", TOO_LONG)
    rules = _rules(body.recurrence, fail)
    edits = _exdates(body.exdates, zone, all_day, fail)
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


def _zone(value: str | None, fail: _Errors) -> tuple[ZoneInfo | None, str | None]:
    if value is None or not value.strip():
        fail("timezone", ZONE_REQUIRED)
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
    if not isinstance(value, str) or len(value) > MAX_MOMENT:  # exdates' items are untyped
        fail(field, MOMENT_MESSAGE)
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(field, MOMENT_MESSAGE)
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


def _rules(value: str | None, fail: _Errors) -> tuple[Rule, ...]:
    if not value:
        return ()
    rules: list[Rule] = []
    for line in (part for part in value.splitlines() if part.strip()):
        try:
            rules.append(parse_rule(line))
        except RuleError as exc:
            fail("recurrence", str(exc))
    return tuple(rules)


def _exdates(
    value: list[Any] | None, zone: ZoneInfo | None, all_day: bool, fail: _Errors
) -> tuple[OccurrenceEdit, ...]:
    if value is None:
        return ()
    edits = []
    for index, item in enumerate(value):
        moment = _moment(item, f"exdates.{index}", zone, all_day, fail, required=True)
        if moment is not None:
            edits.append(OccurrenceEdit(original_start=moment, cancelled=True))
    return tuple(edits)
