"""Whatever a client sends as an event, the answer is a field-level problem or a meeting Zoom
accepts: generated JSON and iCalendar bodies, near-misses included, through the parsers, the
desired meeting, its stored form and the create request (checked against Zoom's published spec
and the sandbox's own validation). Nothing else may be raised: that would be a 500."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from linkzoom.calendar import codec, wire
from linkzoom.calendar.event import CalendarEvent, desired_from_event
from linkzoom.calendar.ical import event_from_ical
from linkzoom.calendar.json_input import event_from_json
from linkzoom.http.errors import ProblemResponse
from linkzoom.problems import ValidationFailed
from linkzoom.sandbox.validation import parse_meeting_input
from linkzoom.zoom.meeting_defaults import MeetingDefaults
from tests.zoom.spec import validate_request_body

fuzz = settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

ZONES = [UTC, timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]
ZONE_NAMES = ["Europe/Berlin", "Pacific/Kiritimati", "Etc/GMT+12", "W. Europe Standard Time"]
ZONE_NAMES += ["", "localtime", "../etc/passwd", "Factory", "EST5EDT", "right/UTC"]


def renders(problem: ValidationFailed) -> None:
    body = ProblemResponse(problem.to_json("http://linkzoom.test", instance="/")).body
    assert json.loads(bytes(body))["status"] == 422


def zoom_accepts(event: CalendarEvent) -> None:
    desired = desired_from_event(event, now=NOW)
    json.dumps(codec.desired_to_json(desired))
    assert codec.desired_from_json(codec.desired_to_json(desired)) == desired
    body = wire.create_request(desired.series, marker="m", defaults=MeetingDefaults()).to_json()
    validate_request_body("POST", "/users/{userId}/meetings", body)
    parse_meeting_input(body)


# --- JSON ------------------------------------------------------------------------------------

# Any code point, lone surrogates included: JSON's \\ud800 escapes decode to them.
any_text = st.text(st.characters(exclude_categories=()), max_size=20)
times = st.one_of(
    st.none(),
    st.integers(),
    any_text,
    st.datetimes(timezones=st.sampled_from(ZONES)).map(lambda d: d.isoformat()),
    st.dates().map(lambda d: d.isoformat()),
)
rule_parts = st.tuples(
    st.sampled_from(["DAILY", "WEEKLY", "MONTHLY", "YEARLY", "HOURLY", "SECONDLY"]),
    st.one_of(st.none(), st.integers(-2, 10**12)),
    st.one_of(st.none(), st.integers(-2, 10**12)),
    st.one_of(st.none(), st.sampled_from(["MO", "-1FR", "5SU", "TU,TH", "+53MO", "0MO"])),
    st.one_of(st.none(), st.sampled_from(["00010101T000000Z", "99991231T235959Z", "20270101"])),
)


def rule_text(parts: tuple[str, int | None, int | None, str | None, str | None]) -> str:
    freq, interval, count, byday, until = parts
    named = [("INTERVAL", interval), ("COUNT", count), ("BYDAY", byday), ("UNTIL", until)]
    return ";".join([f"FREQ={freq}", *(f"{k}={v}" for k, v in named if v is not None)])


json_bodies = st.fixed_dictionaries(
    {},
    optional={
        "subject": st.one_of(any_text, st.integers(), st.none()),
        "start": times,
        "end": times,
        "timezone": st.one_of(
            st.sampled_from(ZONE_NAMES),
            any_text,
            st.integers(),
        ),
        "recurrence": st.one_of(
            st.none(),
            any_text,
            rule_parts.map(rule_text),
            st.tuples(rule_parts.map(rule_text), any_text).map(lambda r: f"{r[0]};{r[1]}=1"),
        ),
        "exdates": st.one_of(st.none(), st.lists(times, max_size=3), any_text),
        "all_day": st.one_of(st.booleans(), st.none(), st.integers()),
    },
)


@fuzz
@given(json_bodies)
@example({"recurrence": "FREQ=DAILY;X\ud800=1"})  # quoted back in the problem: was a 500
def test_any_json_body_is_a_problem_or_a_meeting_zoom_accepts(body: dict[str, Any]) -> None:
    try:
        event = event_from_json(body)
    except ValidationFailed as problem:
        renders(problem)
        return
    zoom_accepts(event)


# --- iCalendar -------------------------------------------------------------------------------

TZIDS = ["Europe/Berlin", "W. Europe Standard Time", "Custom", "", "Nowhere/Else", '"quoted"']
STAMPS = ["20270504T100000", "20270504T100000Z", "20270504", "00010101T000000", "99991231T235959Z"]
STAMPS += ["20270504T250000", "2027", "", "20270230T100000", "18991231T000000"]
CUSTOM_ZONE = (
    "BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\nDTSTART:16010101T030000\r\n"
    "TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\n"
    "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:+0100\r\n"
    "TZOFFSETTO:+0200\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE"
)
HEADERS = ["", CUSTOM_ZONE, "BEGIN:VTIMEZONE\r\nTZID:Custom\r\nEND:VTIMEZONE"]
HEADERS += ["BEGIN:VTODO\r\nEND:VTODO", "X-WR-TIMEZONE:Europe/Berlin", "X-WR-TIMEZONE:Bad/Zone"]
DURATIONS = ["", "DURATION:PT1H", "DURATION:P1D", "DURATION:-PT1H", "DURATION:P9999999W"]
DURATIONS += ["DURATION:PT0S", "DURATION:junk"]
RULES = ["", "RRULE:FREQ=WEEKLY;COUNT=5", "RRULE:FREQ=DAILY;UNTIL=99991231T235959Z"]
RULES += ["RRULE:FREQ=MONTHLY;BYDAY=-1FR", "RRULE:FREQ=YEARLY", "RRULE:junk"]
RULES += ["RRULE:FREQ=WEEKLY;BYDAY=MO,TU;COUNT=100000", "RRULE:FREQ=WEEKLY;UNTIL=00010101T000000Z"]
EXTRAS = ["SUMMARY:Hi", "SUMMARY:\\n\\,x", "STATUS:CANCELLED", "RDATE:20270601T100000Z"]
EXTRAS += ["EXRULE:FREQ=DAILY", "X-FOO:bar", "UID:2", "garbage", "SUMMARY;LANGUAGE=en:x"]


def moment(name: str) -> st.SearchStrategy[str]:
    stamps = st.sampled_from(STAMPS)
    return st.one_of(
        st.builds(lambda t, v: f"{name};TZID={t}:{v}", st.sampled_from(TZIDS), stamps),
        st.builds(lambda v: f"{name}:{v}", stamps),
        st.builds(lambda v: f"{name};VALUE=DATE:{v}", stamps),
        st.builds(lambda v: f"{name};VALUE=PERIOD:{v}/PT1H", stamps),
        st.just(""),
    )


def ending() -> st.SearchStrategy[str]:
    return st.one_of(moment("DTEND"), st.sampled_from(DURATIONS))


extras = st.lists(st.sampled_from(EXTRAS), max_size=3)
overrides = st.builds(
    lambda *parts: "\r\n".join(["BEGIN:VEVENT", "UID:1", *parts[:3], *parts[3], "END:VEVENT"]),
    moment("RECURRENCE-ID"),
    moment("DTSTART"),
    ending(),
    extras,
)


@st.composite
def calendars(draw: st.DrawFn) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        draw(st.sampled_from(HEADERS)),
        "BEGIN:VEVENT",
        "UID:1",
        draw(moment("DTSTART")),
        draw(ending()),
        draw(st.sampled_from(RULES)),
        draw(moment("EXDATE")),
        *draw(extras),
        "END:VEVENT",
        *draw(st.lists(overrides, max_size=2)),
        "END:VCALENDAR",
    ]
    return "\r\n".join(line for line in lines if line).encode()


@fuzz
@given(st.one_of(calendars(), st.binary(max_size=60)), st.sampled_from([None, "Europe/Berlin"]))
def test_any_calendar_body_is_a_problem_or_a_meeting_zoom_accepts(
    body: bytes, default_timezone: str | None
) -> None:
    try:
        event = event_from_ical(body, default_timezone=default_timezone)
    except ValidationFailed as problem:
        renders(problem)
        return
    zoom_accepts(event)
