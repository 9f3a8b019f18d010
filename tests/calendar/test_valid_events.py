"""Every event RFC 5545 calls valid is accepted: generated VEVENTs — timed or all-day, in UTC,
an IANA or a Windows zone, with DTEND, DURATION or neither, with rules, EXDATEs and overrides
(moved, shortened to a moment, cancelled), or only some occurrences of a series — are each
mirrored exactly or explicitly fall back to a meeting with no fixed time; none is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.ical import event_from_ical
from linkzoom.calendar.models import EXACT, NO_FIXED_TIME, NO_FIXED_TIME_MAPPING, WINDOW_MAPPING
from tests.calendar.test_input_fuzz import zoom_accepts

valid = settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

ZONES = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata", "W. Europe Standard Time"]
IANA = {"W. Europe Standard Time": "Europe/Berlin"}
RULES = [
    None,
    "FREQ=DAILY;COUNT=10",
    "FREQ=WEEKLY;BYDAY=MO,WE;COUNT=12",
    "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;UNTIL=20271231T235959Z",
    "FREQ=MONTHLY;BYMONTHDAY=15;COUNT=6",
    "FREQ=MONTHLY;BYDAY=2TH;COUNT=6",
    "FREQ=YEARLY;COUNT=3",
    "FREQ=WEEKLY;BYDAY=FR",  # no end: the most common series of all
    "FREQ=DAILY;INTERVAL=3;COUNT=5",
]


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


@st.composite
def vevents(draw: st.DrawFn) -> bytes:
    zone = draw(st.sampled_from(ZONES))
    wall = draw(
        st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31))
    ).replace(second=0, microsecond=0)
    all_day = draw(st.booleans())
    rule = draw(st.sampled_from(RULES))
    if all_day:
        start = f"DTSTART;VALUE=DATE:{wall:%Y%m%d}"
        length = draw(st.sampled_from([None, "DTEND", "DURATION"]))
        span = timedelta(days=draw(st.integers(1, 3)))
        end = {
            None: None,
            "DTEND": f"DTEND;VALUE=DATE:{wall + span:%Y%m%d}",
            "DURATION": f"DURATION:P{span.days}D",
        }[length]
    else:
        param = "" if zone == "UTC" else f";TZID={zone}"
        suffix = "Z" if zone == "UTC" else ""
        start = f"DTSTART{param}:{stamp(wall)}{suffix}"
        minutes = draw(st.integers(0, 600))
        length = draw(st.sampled_from([None, "DTEND", "DURATION"]))
        end = {
            None: None,
            "DTEND": f"DTEND{param}:{stamp(wall + timedelta(minutes=minutes))}{suffix}",
            "DURATION": f"DURATION:PT{minutes}M",
        }[length]
        if length == "DTEND" and minutes and zone != "UTC":
            # A local time in a DST gap is read with the offset before the gap (RFC 5545 3.3.5,
            # zoneinfo's fold=0), so a DTEND under an hour after a DTSTART in the gap can come
            # first in time: an invalid event (3.6.1), not one the reader may not refuse.
            tz = ZoneInfo(IANA.get(zone, zone))
            instants = [(wall + timedelta(minutes=m)).replace(tzinfo=tz) for m in (0, minutes)]
            assume(instants[0].astimezone(UTC) < instants[1].astimezone(UTC))
    master = ["BEGIN:VEVENT", "UID:gen@tests", "DTSTAMP:20260101T000000Z", start, "SUMMARY:Gen"]
    master += [end] if end else []
    others: list[str] = []
    live = 0  # overrides that still happen
    if rule and not all_day:
        master.append(f"RRULE:{rule}")
        first = wall.replace(tzinfo=ZoneInfo(IANA.get(zone, zone)))
        occurrences = list(rrulestr(rule, dtstart=first, cache=False).xafter(first, 8, inc=True))
        picked = (
            draw(st.lists(st.sampled_from(occurrences), max_size=3, unique=True))
            if occurrences
            else []  # an UNTIL before the start: a series with no occurrence at all
        )
        for n, occurrence in enumerate(picked):
            original = occurrence.astimezone(UTC)
            kind = draw(st.sampled_from(["exdate", "moved", "moment", "cancelled"]))
            if kind == "exdate":
                master.append(f"EXDATE:{stamp(original)}Z")
                continue
            override = ["BEGIN:VEVENT", "UID:gen@tests", f"RECURRENCE-ID:{stamp(original)}Z"]
            if kind == "cancelled":
                override += ["STATUS:CANCELLED", f"DTSTART:{stamp(original)}Z"]
            else:
                live += 1
                moved = original + timedelta(hours=n + 1)
                minutes = 0 if kind == "moment" else 45
                override += [
                    f"DTSTART:{stamp(moved)}Z",
                    f"DTEND:{stamp(moved + timedelta(minutes=minutes))}Z",
                ]
            others += [*override, "END:VEVENT"]
    master.append("END:VEVENT")
    body = master + others
    if live and draw(st.booleans()):
        body = others  # only some occurrences (an invitation to those): no master to see
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//tests//EN"]
    if all_day:
        lines.append("X-WR-TIMEZONE:Europe/Berlin")
    return "\r\n".join([*lines, *body, "END:VCALENDAR", ""]).encode()


@valid
@given(vevents())
def test_no_valid_event_is_refused_and_each_is_exact_or_an_explicit_fallback(body: bytes) -> None:
    event = event_from_ical(body)  # raises ValidationFailed if a valid event were refused
    desired = desired_from_event(event, now=NOW)
    if desired.series.type == NO_FIXED_TIME:
        assert desired.mapping == NO_FIXED_TIME_MAPPING and desired.reason  # said, not silent
    else:
        assert desired.mapping in (None, EXACT, WINDOW_MAPPING)
        assert desired.series.duration >= 1
        assert (desired.mapping == WINDOW_MAPPING) == (desired.reason is not None)
    zoom_accepts(event)
