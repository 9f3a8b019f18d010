"""RRULE to Zoom recurrence: exact where Zoom can say it, proven against dateutil's RFC 5545
expansion; a meeting with no fixed time everywhere else, never an error."""

from __future__ import annotations

from calendar import monthrange
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrule, rrulestr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from linkzoom.calendar.recurrence import HORIZON, map_recurrence, map_rule
from linkzoom.calendar.rrule import WEEKDAYS, parse_rule
from linkzoom.zoom.models import Recurrence
from tests.calendar.zoom_oracle import zoom_occurrences

ZONES = [
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "America/Sao_Paulo",
    "Asia/Kolkata",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Auckland",
    "Pacific/Kiritimati",  # UTC+14: most weekdays differ from UTC's
]


def expanded(text: str, start: datetime, limit: int = 61) -> list[datetime]:
    """RFC 5545's occurrences, by dateutil, from the rule text itself, in UTC."""
    rule = rrulestr(text, dtstart=start)
    assert isinstance(rule, rrule)
    return [moment.astimezone(UTC) for moment in islice(rule, limit)]


def first_window(recurrence: Recurrence) -> Recurrence:
    """A window's pattern over the series' first 60 occurrences."""
    assert recurrence.end_times is None
    return replace(recurrence, end_times=60)


def exists(moment: datetime) -> bool:
    """The wall-clock time is one the zone's clocks show (not skipped by a DST change)."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return (back.date(), back.time()) == (moment.date(), moment.time())


@st.composite
def local_starts(draw: st.DrawFn, *, max_day: int = 31) -> datetime:
    """A DTSTART at a time that exists (one the clocks skip is a case of its own)."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    day = draw(st.dates(min_value=date(2026, 1, 1), max_value=date(2031, 12, 31)))
    day = day.replace(day=min(day.day, max_day))
    moment = time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 15, 30, 45])))
    start = datetime.combine(day, moment, tzinfo=zone)
    assume(exists(start))
    return start


@st.composite
def zoom_expressible(draw: st.DrawFn) -> tuple[str, datetime]:
    """Rules Zoom can express, DTSTART on the rule, as an Outlook or Google calendar writes them."""
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    start = draw(local_starts(max_day=28 if freq == "MONTHLY" else 31))
    weekday = WEEKDAYS[start.weekday()]
    parts = [f"FREQ={freq}"]
    if freq == "DAILY":
        if draw(st.booleans()):
            parts.append(f"INTERVAL={draw(st.integers(1, 90))}")
        else:
            days = {weekday} | set(draw(st.lists(st.sampled_from(WEEKDAYS), max_size=6)))
            parts.append("BYDAY=" + ",".join(sorted(days, key=WEEKDAYS.index)))
    elif freq == "WEEKLY":
        interval = draw(st.integers(1, 12))
        days = {weekday} | set(draw(st.lists(st.sampled_from(WEEKDAYS), max_size=6)))
        wkst = draw(st.sampled_from(WEEKDAYS)) if interval == 1 or len(days) == 1 else "SU"
        parts += [f"INTERVAL={interval}", f"WKST={wkst}"]
        if len(days) > 1 or draw(st.booleans()):
            parts.append("BYDAY=" + ",".join(sorted(days, key=WEEKDAYS.index)))
    else:
        parts.append(f"INTERVAL={draw(st.integers(1, 3))}")
        position = (start.day - 1) // 7 + 1
        last = (start + timedelta(days=7)).month != start.month
        form = draw(st.sampled_from(["monthday", "implicit", "ordinal", "setpos"]))
        if form == "monthday":
            parts.append(f"BYMONTHDAY={start.day}")
        elif form in ("ordinal", "setpos"):
            if position > 4 or (last and draw(st.booleans())):
                position = -1
            if form == "ordinal":
                parts.append(f"BYDAY={position}{weekday}")
            else:
                parts.append(f"BYDAY={weekday};BYSETPOS={position}")
    count = draw(st.integers(1, 60))
    if draw(st.booleans()):
        parts.append(f"COUNT={count}")
    else:
        last_one = expanded(";".join([*parts, f"COUNT={count}"]), start)[-1]
        slack = timedelta(seconds=draw(st.integers(0, 3600)))
        parts.append(f"UNTIL={(last_one + slack).strftime('%Y%m%dT%H%M%SZ')}")
    return ";".join(parts), start


@settings(max_examples=400, deadline=None)
@given(zoom_expressible())
def test_zoom_gets_exactly_the_calendars_occurrences(case: tuple[str, datetime]) -> None:
    text, start = case
    mapping = map_rule(parse_rule(text), start=start)
    assert mapping.recurrence is not None, mapping.reason
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    ours = zoom_occurrences(mapping.recurrence, start=start.astimezone(UTC), zone=zone)
    assert ours == expanded(text, start)


@st.composite
def any_rule(draw: st.DrawFn) -> tuple[str, datetime]:
    freq = draw(st.sampled_from(["YEARLY", "MONTHLY", "WEEKLY", "DAILY", "HOURLY", "MINUTELY"]))
    parts = [f"FREQ={freq}", f"INTERVAL={draw(st.integers(1, 100))}"]
    end = draw(st.sampled_from(["count", "until", "none"]))
    start = draw(local_starts())
    if end == "count":
        parts.append(f"COUNT={draw(st.integers(1, 80))}")
    elif end == "until":
        until = start.astimezone(UTC) + timedelta(days=draw(st.integers(-5, 800)))
        parts.append(f"UNTIL={until.strftime('%Y%m%dT%H%M%SZ')}")
    if draw(st.booleans()):
        days = draw(
            st.lists(
                st.tuples(
                    st.sampled_from([None, 1, 2, 3, 4, 5, -1, -2]), st.sampled_from(WEEKDAYS)
                ),
                min_size=1,
                max_size=3,
            )
        )
        parts.append("BYDAY=" + ",".join(f"{n or ''}{d}" for n, d in days))
    if draw(st.booleans()):
        parts.append(f"BYMONTHDAY={draw(st.sampled_from([1, 15, 28, 29, 31, -1]))}")
    if draw(st.booleans()):
        parts.append(f"BYSETPOS={draw(st.sampled_from([1, 2, -1]))}")
    if draw(st.booleans()):
        parts.append(f"WKST={draw(st.sampled_from(WEEKDAYS))}")
    if draw(st.booleans()):
        parts.append(f"BYMONTH={draw(st.integers(1, 12))}")
    return ";".join(parts), start


@settings(max_examples=300, deadline=None)
@given(any_rule())
def test_any_rule_maps_exactly_to_a_window_or_to_no_fixed_time_never_an_error(
    case: tuple[str, datetime],
) -> None:
    text, start = case
    mapping = map_rule(parse_rule(text), start=start)
    if mapping.recurrence is None:
        assert mapping.reason
        return
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    if mapping.window:
        assert mapping.reason and not mapping.exact
        ours = zoom_occurrences(first_window(mapping.recurrence), start=start, zone=zone)
        assert ours == expanded(text, start)[:60]
        return
    ours = zoom_occurrences(mapping.recurrence, start=start.astimezone(UTC), zone=zone)
    assert ours == expanded(text, start)


BERLIN = ZoneInfo("Europe/Berlin")
MONDAY = datetime(2027, 3, 1, 10, 0, tzinfo=BERLIN)  # the 1st, a Monday


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("FREQ=DAILY;COUNT=5", Recurrence(type=1, repeat_interval=1, end_times=5)),
        ("FREQ=DAILY;INTERVAL=90;COUNT=2", Recurrence(type=1, repeat_interval=90, end_times=2)),
        (
            "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR;COUNT=10",
            Recurrence(type=2, repeat_interval=1, weekly_days="2,3,4,5,6", end_times=10),
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270330T080000Z",
            Recurrence(type=2, repeat_interval=1, weekly_days="2,4", end_times=9),
        ),
        (
            "FREQ=WEEKLY;COUNT=3",
            Recurrence(type=2, repeat_interval=1, weekly_days="2", end_times=3),
        ),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU;WKST=SU;COUNT=4",
            Recurrence(type=2, repeat_interval=2, weekly_days="2,3", end_times=4),
        ),
        (
            "FREQ=WEEKLY;BYDAY=MO;UNTIL=20270315",  # a DATE: through that day, inclusive
            Recurrence(type=2, repeat_interval=1, weekly_days="2", end_times=3),
        ),
        ("FREQ=MONTHLY;COUNT=4", Recurrence(type=3, repeat_interval=1, monthly_day=1, end_times=4)),
        (
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;COUNT=2",
            Recurrence(type=3, repeat_interval=3, monthly_day=1, end_times=2),
        ),
        (
            "FREQ=MONTHLY;BYDAY=1MO;COUNT=6",
            Recurrence(type=3, repeat_interval=1, monthly_week=1, monthly_week_day=2, end_times=6),
        ),
        (
            "FREQ=MONTHLY;BYDAY=MO;BYSETPOS=1;COUNT=6",
            Recurrence(type=3, repeat_interval=1, monthly_week=1, monthly_week_day=2, end_times=6),
        ),
        (
            "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=60",
            Recurrence(type=2, repeat_interval=1, weekly_days="2", end_times=60),
        ),
    ],
)
def test_rules_zoom_can_express(rule: str, expected: Recurrence) -> None:
    assert map_rule(parse_rule(rule), start=MONDAY).recurrence == expected


@pytest.mark.parametrize(
    "rule",
    [
        "FREQ=YEARLY;COUNT=3",
        "FREQ=HOURLY;COUNT=3",
        "FREQ=YEARLY",  # no end, and no Zoom form either
        "FREQ=DAILY;INTERVAL=91;COUNT=2",
        "FREQ=WEEKLY;INTERVAL=13;COUNT=2",
        "FREQ=MONTHLY;INTERVAL=4;COUNT=2",
        "FREQ=MONTHLY;BYMONTHDAY=1,15;COUNT=4",
        "FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=4",
        "FREQ=MONTHLY;BYDAY=MO;COUNT=4",  # every Monday of the month
        "FREQ=MONTHLY;BYDAY=-2MO;COUNT=4",
        "FREQ=WEEKLY;BYDAY=TU;COUNT=3",  # DTSTART (a Monday) is not an occurrence
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=MO;COUNT=4",  # Zoom's weeks start on Sunday
        "FREQ=DAILY;INTERVAL=2;BYDAY=MO,WE;COUNT=4",
        "FREQ=WEEKLY;BYMONTH=3;COUNT=3",
        "FREQ=DAILY;UNTIL=20200101T000000Z",  # over before it starts
    ],
)
def test_rules_zoom_cannot_express_get_no_fixed_time(rule: str) -> None:
    mapping = map_rule(parse_rule(rule), start=MONDAY)
    assert mapping.recurrence is None and mapping.reason


@pytest.mark.parametrize(
    ("rule", "start", "pattern", "reason"),
    [
        (
            "FREQ=WEEKLY;BYDAY=MO",
            MONDAY,
            Recurrence(type=2, repeat_interval=1, weekly_days="2"),
            "no end",
        ),
        ("FREQ=DAILY;COUNT=61", MONDAY, Recurrence(type=1, repeat_interval=1), "more than 60"),
        (
            "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH;WKST=SU;UNTIL=20300101",
            MONDAY,
            Recurrence(type=2, repeat_interval=2, weekly_days="2,5"),
            "more than 60",
        ),
        (
            "FREQ=MONTHLY;BYDAY=-1MO",
            datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN),
            Recurrence(type=3, repeat_interval=1, monthly_week=-1, monthly_week_day=2),
            "no end",
        ),
        # Every third month from March: March, June, September, December all have a 30th.
        (
            "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=30",
            datetime(2027, 3, 30, 10, 0, tzinfo=BERLIN),
            Recurrence(type=3, repeat_interval=3, monthly_day=30),
            "no end",
        ),
    ],
)
def test_series_longer_than_a_meeting_get_a_window_of_their_pattern(
    rule: str, start: datetime, pattern: Recurrence, reason: str
) -> None:
    mapping = map_rule(parse_rule(rule), start=start)
    assert mapping.window and mapping.recurrence == pattern
    assert mapping.reason is not None and reason in mapping.reason


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=MONTHLY;BYMONTHDAY=31", datetime(2027, 3, 31, 10, 0, tzinfo=BERLIN)),  # April
        # May, August, November, February: a 29 February only once in four years.
        ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=29", datetime(2027, 5, 29, 10, 0, tzinfo=BERLIN)),
        # June 2027 has four Mondays.
        ("FREQ=MONTHLY;INTERVAL=3;BYDAY=5MO", datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN)),
        ("FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,SU;WKST=MO", MONDAY),  # Zoom's weeks start on Sunday
    ],
)
def test_endless_rules_zoom_cannot_follow_everywhere_get_no_fixed_time(
    rule: str, start: datetime
) -> None:
    mapping = map_rule(parse_rule(rule), start=start)
    assert mapping.recurrence is None and mapping.reason


@pytest.mark.parametrize(
    ("rule", "start", "expected"),
    [
        # The 31st every other month from January: Jan, Mar, May, Jul all have it.
        (
            "FREQ=MONTHLY;INTERVAL=2;COUNT=4",
            datetime(2027, 1, 31, 10, 0, tzinfo=BERLIN),
            Recurrence(type=3, repeat_interval=2, monthly_day=31, end_times=4),
        ),
        (
            "FREQ=MONTHLY;BYMONTHDAY=30;UNTIL=20270131T235959Z",
            datetime(2026, 10, 30, 10, 0, tzinfo=BERLIN),  # Oct to Jan: no February
            Recurrence(type=3, repeat_interval=1, monthly_day=30, end_times=4),
        ),
        # The 5th Monday of March and May 2027 is each month's last one.
        (
            "FREQ=MONTHLY;INTERVAL=2;BYDAY=5MO;COUNT=2",
            datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN),
            Recurrence(type=3, repeat_interval=2, monthly_week=-1, monthly_week_day=2, end_times=2),
        ),
    ],
)
def test_days_some_months_lack_are_exact_when_no_month_of_the_span_lacks_them(
    rule: str, start: datetime, expected: Recurrence
) -> None:
    mapping = map_rule(parse_rule(rule), start=start)
    assert mapping.recurrence == expected
    ours = zoom_occurrences(expected, start=start.astimezone(UTC), zone=BERLIN)
    assert ours == expanded(rule, start)


@pytest.mark.parametrize(
    ("rule", "start"),
    [
        ("FREQ=MONTHLY;COUNT=3", datetime(2027, 1, 31, 10, 0, tzinfo=BERLIN)),  # February
        ("FREQ=MONTHLY;INTERVAL=2;COUNT=5", datetime(2027, 1, 31, 10, 0, tzinfo=BERLIN)),  # Sep
        ("FREQ=MONTHLY;BYMONTHDAY=29;COUNT=13", datetime(2027, 1, 29, 10, 0, tzinfo=BERLIN)),
        ("FREQ=MONTHLY;BYDAY=5MO;COUNT=2", datetime(2027, 3, 29, 10, 0, tzinfo=BERLIN)),  # April
    ],
)
def test_days_some_months_lack_fall_back_when_a_month_of_the_span_lacks_them(
    rule: str, start: datetime
) -> None:
    mapping = map_rule(parse_rule(rule), start=start)
    assert mapping.recurrence is None
    assert mapping.reason == (
        "a month of the series has no such day, and Zoom does not document what it does then"
    )


@st.composite
def month_edges(draw: st.DrawFn) -> tuple[str, datetime]:
    """Monthly rules on the 29th-31st or a 5th weekday, DTSTART on the rule."""
    zone = ZoneInfo(draw(st.sampled_from(ZONES)))
    interval, count = draw(st.integers(1, 3)), draw(st.none() | st.integers(1, 14))
    end = "" if count is None else f";COUNT={count}"
    if draw(st.booleans()):
        day = draw(st.integers(29, 31))
        year = draw(st.sampled_from([2027, 2028]))  # 2028: a 29 February
        months = [m for m in range(1, 13) if monthrange(year, m)[1] >= day]
        month = draw(st.sampled_from(months))
        start = datetime(year, month, day, 9, 30, tzinfo=zone)
        rule = f"FREQ=MONTHLY;INTERVAL={interval};BYMONTHDAY={day}{end}"
    else:
        start = draw(local_starts())
        while start.day < 29:  # the 5th of its weekday
            start += timedelta(days=7)
        rule = f"FREQ=MONTHLY;INTERVAL={interval};BYDAY=5{WEEKDAYS[start.weekday()]}{end}"
    return rule, start


@settings(max_examples=300, deadline=None)
@given(month_edges())
def test_month_edges_are_exact_or_fall_back_never_wrong(case: tuple[str, datetime]) -> None:
    text, start = case
    mapping = map_rule(parse_rule(text), start=start)
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    calendar = expanded(text, start, limit=HORIZON)
    if mapping.recurrence is None:
        # Only when RFC 5545 skipped a month Zoom's interval would have stepped to.
        months = [m.astimezone(zone).year * 12 + m.astimezone(zone).month for m in calendar]
        interval = parse_rule(text).interval
        assert months != [months[0] + k * interval for k in range(len(months))]
        return
    if mapping.window:
        ours = zoom_occurrences(first_window(mapping.recurrence), start=start, zone=zone)
        assert ours == calendar[:60]
        return
    assert zoom_occurrences(mapping.recurrence, start=start.astimezone(UTC), zone=zone) == calendar


def test_a_dtstart_the_clocks_skip_gets_no_fixed_time() -> None:
    """02:30 on 28 March 2027 does not exist in Berlin; RFC 5545 reads it as 03:30 that day
    and 02:30 after. Zoom would read the instant as 03:30 and repeat that every time."""
    start = datetime(2027, 3, 28, 2, 30, tzinfo=BERLIN)
    mapping = map_rule(parse_rule("FREQ=WEEKLY;COUNT=3"), start=start)
    assert mapping.recurrence is None
    assert mapping.reason is not None and "clocks skip" in mapping.reason
    assert expanded("FREQ=WEEKLY;COUNT=3", start)[1].astimezone(BERLIN).hour == 2


def test_several_rules_and_rdates_get_no_fixed_time() -> None:
    one = parse_rule("FREQ=WEEKLY;COUNT=3")
    assert map_recurrence([one, one], start=MONDAY).recurrence is None
    assert map_recurrence([one], start=MONDAY, extra_dates=True).recurrence is None
    assert map_recurrence([one], start=MONDAY).exact


def test_weekdays_are_the_meetings_own_zone() -> None:
    # Monday 08:00 in Kiritimati (UTC+14) is Sunday 18:00 UTC: Zoom must be told Monday (2).
    start = datetime(2027, 3, 1, 8, 0, tzinfo=ZoneInfo("Pacific/Kiritimati"))
    mapping = map_rule(parse_rule("FREQ=WEEKLY;BYDAY=MO;COUNT=2"), start=start)
    assert mapping.recurrence is not None and mapping.recurrence.weekly_days == "2"
    assert start.astimezone(UTC).weekday() == 6
