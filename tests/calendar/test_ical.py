"""``text/calendar`` bodies as Exchange, Outlook and others write them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.ical import event_from_ical
from linkzoom.calendar.models import EXACT, NO_FIXED_TIME_MAPPING, SCHEDULED, OccurrenceEdit
from linkzoom.problems import ValidationFailed

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

EUROPE_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:{tzid}
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE
"""

EXCHANGE = """BEGIN:VCALENDAR
METHOD:REQUEST
PRODID:Microsoft Exchange Server 2010
VERSION:2.0
{vtimezone}BEGIN:VEVENT
RRULE:FREQ=WEEKLY;UNTIL=20270330T080000Z;INTERVAL=1;BYDAY=MO,WE;WKST=MO
EXDATE;TZID={param}:20270308T100000
UID:040000008200E00074C5B7101A82E00800000000
SUMMARY;LANGUAGE=en-US:Weekly sync
DTSTART;TZID={param}:20270301T100000
DTEND;TZID={param}:20270301T103000
DTSTAMP:20270101T000000Z
END:VEVENT
BEGIN:VEVENT
UID:040000008200E00074C5B7101A82E00800000000
RECURRENCE-ID;TZID={param}:20270310T100000
SUMMARY:Weekly sync (moved)
DTSTART;TZID={param}:20270310T140000
DTEND;TZID={param}:20270310T150000
END:VEVENT
BEGIN:VEVENT
UID:040000008200E00074C5B7101A82E00800000000
RECURRENCE-ID;TZID={param}:20270315T100000
STATUS:CANCELLED
DTSTART;TZID={param}:20270315T100000
DTEND;TZID={param}:20270315T103000
END:VEVENT
END:VCALENDAR
"""


def exchange(tzid: str, *, with_vtimezone: bool = True) -> bytes:
    vtimezone = EUROPE_VTIMEZONE.format(tzid=tzid) if with_vtimezone else ""
    # Parameter values with ":" "," or ";" are quoted, as Outlook writes them.
    param = f'"{tzid}"' if any(c in tzid for c in ":,;") else tzid
    body = EXCHANGE.format(param=param, vtimezone=vtimezone)
    return body.replace("\n", "\r\n").encode()


def calendar(*lines: str) -> bytes:
    return "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", *lines, "END:VCALENDAR", ""]).encode()


def vevent(*lines: str) -> str:
    return "\r\n".join(["BEGIN:VEVENT", "UID:u1", *lines, "END:VEVENT"])


@pytest.mark.parametrize(
    "tzid",
    [
        "W. Europe Standard Time",  # Exchange's Windows name
        "Europe/Berlin",
        "(UTC+01:00) Amsterdam, Berlin, Bern, Rome, Stockholm, Vienna",  # only its VTIMEZONE says
        "/mozilla.org/20050126_1/Europe/Berlin",
    ],
)
def test_an_exchange_series_with_its_overrides(tzid: str) -> None:
    event = event_from_ical(exchange(tzid))
    berlin = ZoneInfo(event.timezone)
    assert datetime(2027, 7, 1, tzinfo=UTC).astimezone(berlin).utcoffset() == (
        datetime(2027, 7, 1, tzinfo=UTC).astimezone(ZoneInfo("Europe/Berlin")).utcoffset()
    )
    desired = desired_from_event(event, now=NOW)
    assert desired.mapping == EXACT and desired.series.topic == "Weekly sync"
    assert desired.series.start == datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
    assert desired.series.recurrence is not None
    assert desired.series.recurrence.weekly_days == "2,4"
    assert desired.series.recurrence.end_times == 9  # through 30 March, 10:00 in Berlin
    assert desired.edits == (
        OccurrenceEdit(original_start=datetime(2027, 3, 8, 9, tzinfo=UTC), cancelled=True),
        OccurrenceEdit(
            original_start=datetime(2027, 3, 10, 9, tzinfo=UTC),
            start=datetime(2027, 3, 10, 13, tzinfo=UTC),
            duration=60,
        ),
        OccurrenceEdit(original_start=datetime(2027, 3, 15, 9, tzinfo=UTC), cancelled=True),
    )


def test_a_windows_name_needs_no_vtimezone() -> None:
    event = event_from_ical(exchange("Pacific Standard Time", with_vtimezone=False))
    assert event.timezone == "America/Los_Angeles"


def test_duration_instead_of_dtend_keeps_exact_hours_across_dst() -> None:
    body = calendar(
        vevent("DTSTART;TZID=Europe/Berlin:20270328T013000", "DURATION:PT1H", "SUMMARY:Night")
    )
    desired = desired_from_event(event_from_ical(body), now=NOW)
    assert desired.series.duration == 60
    assert desired.series.start == datetime(2027, 3, 28, 0, 30, tzinfo=UTC)


def test_all_day_event_in_the_calendars_zone() -> None:
    body = calendar(
        "X-WR-TIMEZONE:America/New_York",
        vevent("DTSTART;VALUE=DATE:20270101", "SUMMARY:Holiday"),
    )
    event = event_from_ical(body)
    assert event.all_day and event.timezone == "America/New_York"
    desired = desired_from_event(event, now=NOW)
    assert desired.series.start == datetime(2027, 1, 1, 5, tzinfo=UTC)
    assert desired.series.duration == 24 * 60


def test_all_day_event_uses_the_users_zone_when_the_calendar_has_none() -> None:
    body = calendar(vevent("DTSTART;VALUE=DATE:20270101", "DTEND;VALUE=DATE:20270102"))
    event = event_from_ical(body, default_timezone="Asia/Tokyo")
    assert event.timezone == "Asia/Tokyo"


def test_utc_series_stays_in_utc_and_rdate_means_no_fixed_time() -> None:
    body = calendar(
        vevent(
            "DTSTART:20270101T090000Z",
            "DTEND:20270101T093000Z",
            "RRULE:FREQ=DAILY;COUNT=3",
            "RDATE:20270110T090000Z",
        )
    )
    event = event_from_ical(body)
    assert event.timezone == "UTC"
    assert desired_from_event(event, now=NOW).mapping == NO_FIXED_TIME_MAPPING


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"this is not a calendar", "body"),
        (calendar(), "body.VEVENT"),
        (
            calendar(vevent("DTSTART:20270101T090000Z"), "BEGIN:VTODO", "UID:t", "END:VTODO"),
            "body.VTODO",
        ),
        (calendar(vevent("DTSTART:garbage", "DTEND:20270101T090000Z")), "VEVENT.DTSTART"),
        (calendar(vevent("DTEND:20270101T090000Z")), "VEVENT.DTSTART"),
        (
            calendar(
                vevent("DTSTART:20270101T090000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAYY=MO")
            ),
            "VEVENT.RRULE",
        ),
        (
            calendar(
                vevent("DTSTART:20270101T090000Z", "DURATION:PT1H"),
                vevent("DTSTART:20270102T090000Z", "DURATION:PT1H"),
            ),
            "body.VEVENT",
        ),  # two masters for one UID
        (
            calendar(
                vevent(
                    "RECURRENCE-ID:20270101T090000Z", "DTSTART:20270101T090000Z", "STATUS:CANCELLED"
                )
            ),
            "VEVENT.STATUS",
        ),  # only cancelled occurrences
        (calendar(vevent("DTSTART:20270101T090000Z", "DTEND:20270101T080000Z")), "VEVENT.DTEND"),
        (
            calendar(vevent("DTSTART;TZID=Mars/Base:20270101T090000", "DURATION:PT1H")),
            "VEVENT.DTSTART",
        ),
        (calendar(vevent("DTSTART:20270101T090000", "DURATION:PT1H")), "VEVENT.DTSTART"),
        (
            calendar(vevent("DTSTART:20270101T090000Z", "DURATION:PT1H", "RRULE:FREQ=NEVER")),
            "VEVENT.RRULE",
        ),
        (
            calendar(vevent("DTSTART:20270101T090000Z", "DURATION:PT1H", "STATUS:CANCELLED")),
            "VEVENT.STATUS",
        ),
        (
            calendar(
                vevent("DTSTART:20270101T090000Z", "DURATION:PT1H"),
                "BEGIN:VEVENT\r\nUID:other\r\nDTSTART:20270101T090000Z\r\nDURATION:PT1H\r\nEND:VEVENT",
            ),
            "body.VEVENT",
        ),
        (
            calendar(vevent("DTSTART:20270101T090000Z", "DURATION:PT1H"))
            + calendar(vevent("DTSTART:20270101T090000Z", "DURATION:PT1H")),
            "body",
        ),
        # Regressions: each of these was a 500 (date arithmetic overflowed).
        (calendar(vevent("DTSTART:00010101T000000Z", "DURATION:PT1H")), "VEVENT.DTSTART"),
        (calendar(vevent("DTSTART:20270101T090000Z", "DURATION:P9999999W")), "VEVENT.DURATION"),
        (calendar(vevent("DTSTART:20270101T090000Z", "DTEND:29990101T090000Z")), "VEVENT.DTEND"),
        # Regressions: a property given twice was a 500 (icalendar answers a list), found by
        # bench/ical_corpus.py in icalendar's own test calendars.
        (
            calendar(vevent("DTSTART:20270101T090000Z", "DTSTART:20270102T090000Z")),
            "VEVENT.DTSTART",
        ),
        (
            calendar(
                vevent(
                    "DTSTART:20270101T090000Z", "DTEND:20270101T100000Z", "DTEND:20270101T110000Z"
                )
            ),
            "VEVENT.DTEND",
        ),
        (
            calendar(vevent("DTSTART:20270101T090000Z", "DURATION:PT1H", "DURATION:PT2H")),
            "VEVENT.DURATION",
        ),
        (
            calendar(
                vevent("DTSTART:20270101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"),
                vevent(
                    "RECURRENCE-ID:20270102T090000Z",
                    "RECURRENCE-ID:20270103T090000Z",
                    "DTSTART:20270102T100000Z",
                    "DURATION:PT1H",
                ),
            ),
            "VEVENT.RECURRENCE-ID",
        ),
        (
            calendar(
                vevent(
                    "DTSTART:20270101T090000Z",
                    "DURATION:PT1H",
                    "RRULE:FREQ=DAILY;COUNT=3",
                    "EXDATE:20270102T090000Z",
                    "EXDATE:20270103T090000Z",
                ),
            ),
            None,
        ),  # EXDATE may repeat: valid, and mirrored
    ],
)
def test_bad_calendars_name_the_property(body: bytes, field: str | None) -> None:
    if field is None:
        assert event_from_ical(body).edits
        return
    with pytest.raises(ValidationFailed) as caught:
        event_from_ical(body)
    assert [e.field for e in caught.value.errors] == [field]


# -- valid events that were refused (RFC 5545 calls them valid) -----------------------------


@pytest.mark.parametrize("end", [None, "DTEND:20270104T090000Z"])
def test_a_moment_gets_a_meeting_of_half_an_hour(end: str | None) -> None:
    # RFC 5545 3.6.1: a DATE-TIME DTSTART without DTEND or DURATION is a moment.
    lines = ["DTSTART:20270104T090000Z", "SUMMARY:Call Bob", *([end] if end else [])]
    event = event_from_ical(calendar(vevent(*lines)))
    assert event.start == datetime(2027, 1, 4, 9, tzinfo=UTC)
    assert event.end == datetime(2027, 1, 4, 9, 30, tzinfo=UTC)
    assert desired_from_event(event, now=NOW).series.duration == 30


def test_a_date_without_an_end_is_one_day() -> None:
    body = calendar("X-WR-TIMEZONE:Europe/Berlin", vevent("DTSTART;VALUE=DATE:20270104"))
    event = event_from_ical(body)
    assert event.all_day and (event.end - event.start).days == 1


def test_an_occurrence_made_a_moment_inside_an_ordinary_series() -> None:
    body = calendar(
        vevent("DTSTART:20270104T090000Z", "DTEND:20270104T100000Z", "RRULE:FREQ=DAILY;COUNT=5"),
        vevent(
            "RECURRENCE-ID:20270106T090000Z", "DTSTART:20270106T090000Z", "DTEND:20270106T090000Z"
        ),
    )
    event = event_from_ical(body)
    moved = datetime(2027, 1, 6, 9, tzinfo=UTC)
    assert event.edits == (OccurrenceEdit(original_start=moved, start=moved, duration=30),)
    assert desired_from_event(event, now=NOW).mapping == EXACT


def test_one_occurrence_without_its_series_is_an_event_of_its_own() -> None:
    # What a CalDAV server stores for someone invited to one occurrence only.
    body = calendar(
        vevent(
            "RECURRENCE-ID:20270111T090000Z",
            "DTSTART:20270111T100000Z",
            "DTEND:20270111T110000Z",
            "SUMMARY:Planning (this week only)",
        )
    )
    event = event_from_ical(body)
    assert (event.start, event.end) == (
        datetime(2027, 1, 11, 10, tzinfo=UTC),
        datetime(2027, 1, 11, 11, tzinfo=UTC),
    )
    desired = desired_from_event(event, now=NOW)
    assert desired.series.type == SCHEDULED and desired.series.start == event.start


def test_several_occurrences_without_their_series_fall_back_to_no_fixed_time() -> None:
    body = calendar(
        vevent("RECURRENCE-ID:20270118T090000Z", "DTSTART:20270118T090000Z", "DURATION:PT1H"),
        vevent("RECURRENCE-ID:20270111T090000Z", "DTSTART:20270111T090000Z", "DURATION:PT1H"),
        vevent("RECURRENCE-ID:20270125T090000Z", "STATUS:CANCELLED", "DTSTART:20270125T090000Z"),
    )
    event = event_from_ical(body)
    assert event.start == datetime(2027, 1, 11, 9, tzinfo=UTC)  # the earliest live one
    assert desired_from_event(event, now=NOW).mapping == NO_FIXED_TIME_MAPPING


def test_an_empty_rrule_as_google_writes_it_is_a_single_event() -> None:
    # recurring_ical_events' Germany_Holidays.ics (a Google calendar export) has "RRULE:".
    found = event_from_ical(
        calendar(vevent("DTSTART;VALUE=DATE:20271003", "RRULE:", "SUMMARY:Tag der Einheit")),
        default_timezone="Europe/Berlin",
    )
    assert found.rules == () and found.all_day and not found.extra_dates
