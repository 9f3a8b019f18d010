"""A ``text/calendar`` body as a :class:`~linkzoom.calendar.event.CalendarEvent` (pure).

The body is one VCALENDAR holding the event's master VEVENT, its overrides (VEVENTs with a
RECURRENCE-ID) and the VTIMEZONEs they use; ``X-`` components are ignored, anything else is
refused. Times are read as wall-clock values in their TZID, which may be an IANA name, a Windows
name as Exchange writes it, or any name a VTIMEZONE defines (see :mod:`linkzoom.calendar.zones`).
Floating times and all-day dates are read in ``X-WR-TIMEZONE`` or the caller's default zone. The
end is DTEND or DURATION (nominal days keep the wall-clock time, as RFC 5545 says); an event
with no length (neither, or DTEND equal to DTSTART) is a moment and gets a meeting of
:data:`~linkzoom.calendar.event.MOMENT`, an all-day one a day. A body holding only
RECURRENCE-ID occurrences (someone invited to some of a series) mirrors what is there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar

from linkzoom.calendar.event import (
    MAX_EDITS,
    MAX_LENGTH,
    MOMENT,
    TOO_LONG,
    CalendarEvent,
    before,
    minutes_between,
    out_of_range,
)
from linkzoom.calendar.models import OccurrenceEdit
from linkzoom.calendar.rrule import Rule, RuleError, parse_rule
from linkzoom.calendar.zones import named_zone, zone_like
from linkzoom.problems import ValidationFailed

SUPPORTED = frozenset({"VEVENT", "VTIMEZONE"})


def _fail(field: str, message: str) -> ValidationFailed:
    return ValidationFailed.one(field, message)


def event_from_ical(data: bytes, *, default_timezone: str | None = None) -> CalendarEvent:
    """Parse the body; raises :class:`ValidationFailed` naming the component or property."""
    try:
        calendars = icalendar.Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises assorted errors on malformed input
        raise _fail("body", f"is not valid iCalendar ({type(exc).__name__})") from None
    if len(calendars) != 1 or calendars[0].name != "VCALENDAR":
        raise _fail("body", "must hold exactly one VCALENDAR")
    calendar = calendars[0]
    components = calendar.subcomponents
    for component in components:
        name = component.name or ""
        if name not in SUPPORTED and not name.startswith("X-"):
            raise _fail(f"body.{name}", "is not supported: send one event's VEVENTs")
    events = [c for c in components if c.name == "VEVENT"]
    masters = [e for e in events if "RECURRENCE-ID" not in e]
    if len(masters) > 1 or not events:
        raise _fail("body.VEVENT", "must be one event: its master VEVENT and its overrides")
    if len({str(e.get("UID")) for e in events}) != 1:
        raise _fail("VEVENT.UID", "every VEVENT must belong to the same event (one UID)")
    for event in events:
        for broken, message in event.errors:
            raise _fail(f"VEVENT.{broken}", f"is malformed: {message}")
    floating = calendar.get("X-WR-TIMEZONE") or default_timezone
    reader = _Reader(
        {str(c.get("TZID")): c for c in components if c.name == "VTIMEZONE"},
        named_zone(str(floating)) if floating else None,
    )
    if not masters:
        # Only some occurrences, as a CalDAV server stores them for someone invited to those
        # alone: mirror what is there.
        return reader.instances(events)
    return reader.event(masters[0], [e for e in events if e is not masters[0]])


class _Reader:
    def __init__(self, timezones: dict[str, Any], floating: ZoneInfo | None) -> None:
        self._timezones = timezones
        self._floating = floating
        self._zones: dict[str, ZoneInfo] = {}

    def event(self, master: Any, overrides: list[Any]) -> CalendarEvent:
        if str(master.get("STATUS", "")).upper() == "CANCELLED":
            raise _fail("VEVENT.STATUS", "the event is cancelled: DELETE its Zoom meeting instead")
        if "DTSTART" not in master:
            raise _fail("VEVENT.DTSTART", "is required")
        raw_start = self.moment(master["DTSTART"], "VEVENT.DTSTART")
        zone = self.event_zone(master["DTSTART"], raw_start, recurring="RRULE" in master)
        start = _aware(raw_start, zone)
        end = self.end(master, start, zone, "VEVENT")
        if end is None or end == start:
            # No length: a DATE-TIME start is a moment (RFC 5545 3.6.1), a DATE one day.
            if isinstance(raw_start, datetime):
                end = start + MOMENT
            else:
                end = _aware(raw_start + timedelta(days=1), zone)
        if not before(start, end):
            raise _fail("VEVENT.DTEND", "must be after DTSTART")
        if end - start > MAX_LENGTH:
            raise _fail("VEVENT.DTEND", TOO_LONG)
        edits = [*self.exdates(master, zone), *self.overrides(overrides, zone)]
        if len(edits) > MAX_EDITS:
            raise _fail("VEVENT.EXDATE", f"at most {MAX_EDITS} changed occurrences are accepted")
        return CalendarEvent(
            subject=str(master.get("SUMMARY", "")),
            start=start,
            end=end,
            timezone=zone.key,
            all_day=not isinstance(raw_start, datetime),
            rules=self.rules(master),
            extra_dates=any(name in master for name in ("RDATE", "EXRULE"))
            or any(_this_and_future(o) for o in overrides),
            edits=tuple(edits),
        )

    def instances(self, events: list[Any]) -> CalendarEvent:
        """Occurrences without their series: one is an event of its own; several, whose rule
        is not here, a meeting with no fixed time (what Zoom offers for times it cannot list)."""
        live = [e for e in events if str(e.get("STATUS", "")).upper() != "CANCELLED"]
        if not live:
            raise _fail("VEVENT.STATUS", "every occurrence is cancelled: DELETE its Zoom meeting")
        found = sorted((self.event(e, []) for e in live), key=lambda event: event.start)
        first = found[0]
        return first if len(found) == 1 else replace(first, extra_dates=True)

    def moment(self, prop: Any, field: str, tzid: object = None) -> datetime | date:
        """A DATE, or an aware DATE-TIME read in its TZID (wall-clock time kept)."""
        if isinstance(prop, list):  # icalendar's answer for a property given twice
            raise _fail(field, "must appear once")
        value = getattr(prop, "dt", None)
        if isinstance(value, date) and (problem := out_of_range(value)) is not None:
            raise _fail(field, problem)
        tzid = tzid or prop.params.get("TZID")
        if isinstance(value, datetime):
            wall = value.replace(tzinfo=None)
            if tzid:
                return wall.replace(tzinfo=self.zone(str(tzid), field, wall))
            if value.tzinfo is not None:
                return value
            if self._floating is None:
                raise _fail(field, "is a floating time: give it a TZID or set X-WR-TIMEZONE")
            return wall.replace(tzinfo=self._floating)
        if isinstance(value, date):
            return value
        raise _fail(field, "must be a date or a date-time")

    def zone(self, tzid: str, field: str, around: datetime) -> ZoneInfo:
        if tzid not in self._zones:
            zone = named_zone(tzid)
            definition = self._timezones.get(tzid)
            if zone is None and definition is not None:
                zone = _defined_zone(definition.to_ical(), around.year)
            if zone is None:
                raise _fail(field, f"names a time zone we cannot identify: {tzid[:80]!r}")
            self._zones[tzid] = zone
        return self._zones[tzid]

    def event_zone(self, prop: Any, start: datetime | date, *, recurring: bool) -> ZoneInfo:
        """The zone the meeting lives in: DTSTART's own; for UTC or all-day starts, the
        floating zone (a UTC series must stay in UTC to repeat at the same instant)."""
        if isinstance(start, datetime) and prop.params.get("TZID"):
            tz = start.tzinfo
            assert isinstance(tz, ZoneInfo)
            return tz
        if isinstance(start, datetime) and (recurring or self._floating is None):
            return ZoneInfo("UTC")
        if self._floating is None:
            raise _fail("VEVENT.DTSTART", "an all-day event needs X-WR-TIMEZONE")
        return self._floating

    def end(self, event: Any, start: datetime, zone: ZoneInfo, where: str) -> datetime | None:
        if "DTEND" in event:
            return _aware(self.moment(event["DTEND"], f"{where}.DTEND"), zone)
        if "DURATION" in event:
            span = getattr(event["DURATION"], "dt", None)  # a list when given twice
            if isinstance(event["DURATION"], list):
                raise _fail(f"{where}.DURATION", "must appear once")
            if not isinstance(span, timedelta):
                raise _fail(f"{where}.DURATION", "must be a duration")
            if abs(span) > MAX_LENGTH:
                raise _fail(f"{where}.DURATION", TOO_LONG)
            # Days are nominal (same wall-clock time), hours exact (RFC 5545 3.3.6).
            wall = start.astimezone(zone).replace(tzinfo=None) + timedelta(days=span.days)
            return wall.replace(tzinfo=zone).astimezone(UTC) + timedelta(seconds=span.seconds)
        return None

    def rules(self, event: Any) -> tuple[Rule, ...]:
        values = event.get("RRULE")
        if values is None:
            return ()
        texts = [v.to_ical().decode() for v in (values if isinstance(values, list) else [values])]
        try:
            # An empty RRULE (Google's public holiday calendars write them) repeats nothing:
            # RFC 5545 has no such value, and the producer plainly meant a single event.
            return tuple(parse_rule(text) for text in texts if text.strip())
        except RuleError as exc:
            raise _fail("VEVENT.RRULE", str(exc)) from None

    def exdates(self, event: Any, zone: ZoneInfo) -> list[OccurrenceEdit]:
        values = event.get("EXDATE")
        lists = [] if values is None else values if isinstance(values, list) else [values]
        return [
            OccurrenceEdit(
                original_start=_aware(
                    self.moment(item, "VEVENT.EXDATE", listed.params.get("TZID")), zone
                ),
                cancelled=True,
            )
            for listed in lists
            for item in listed.dts
        ]

    def overrides(self, overrides: list[Any], zone: ZoneInfo) -> list[OccurrenceEdit]:
        edits = []
        for event in overrides:
            original = _aware(self.moment(event["RECURRENCE-ID"], "VEVENT.RECURRENCE-ID"), zone)
            if str(event.get("STATUS", "")).upper() == "CANCELLED":
                edits.append(OccurrenceEdit(original_start=original, cancelled=True))
                continue
            start = original
            if "DTSTART" in event:
                start = _aware(self.moment(event["DTSTART"], "VEVENT.DTSTART"), zone)
            end = self.end(event, start, zone, "VEVENT")
            if end is not None and end == start:
                end = start + MOMENT  # an occurrence made a moment
            if end is not None and not before(start, end):
                raise _fail("VEVENT.DTEND", "must be after DTSTART")
            if end is not None and end - start > MAX_LENGTH:
                raise _fail("VEVENT.DTEND", TOO_LONG)
            duration = None if end is None else minutes_between(start, end)
            edits.append(OccurrenceEdit(original_start=original, start=start, duration=duration))
        return edits


@lru_cache(maxsize=256)
def _defined_zone(vtimezone: bytes, year: int) -> ZoneInfo | None:
    """The IANA zone a VTIMEZONE describes around ``year`` (cached: matching takes a while, and
    a user's calendar sends the same definition again and again)."""
    try:
        component = icalendar.Timezone.from_ical(vtimezone)
        assert isinstance(component, icalendar.Timezone)
        definition = component.to_tz(lookup_tzid=False)
    except Exception:  # a VTIMEZONE icalendar cannot turn into rules
        return None
    return zone_like(definition, datetime(year, 7, 1, tzinfo=UTC))


def _aware(value: datetime | date, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.combine(value, time(0, 0), tzinfo=zone)


def _this_and_future(override: Any) -> bool:
    return str(override["RECURRENCE-ID"].params.get("RANGE", "")).upper() == "THISANDFUTURE"
