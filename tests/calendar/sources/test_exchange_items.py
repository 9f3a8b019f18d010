"""Exchange items as exchangelib parses them, as calendar events: recurrence patterns to RRULE,
occurrence edits, all-day items and the marks that say an item has Zoom."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from exchangelib import EWSTimeZone
from exchangelib.items import CalendarItem
from exchangelib.recurrence import (
    AbsoluteMonthlyPattern,
    AbsoluteYearlyPattern,
    DailyPattern,
    DailyRegeneration,
    DeletedOccurrence,
    EndDatePattern,
    NoEndPattern,
    NumberedPattern,
    Occurrence,
    Recurrence,
    RelativeMonthlyPattern,
    RelativeYearlyPattern,
    WeeklyPattern,
)

from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.rrule import parse_rule
from linkzoom.calendar.sources.base import Marks, marks_of
from linkzoom.calendar.sources.exchange_items import event_of, recurrence_rule
from linkzoom.calendar.sources.patterns import NotMirrorable

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

START = date(2026, 12, 7)


@pytest.mark.parametrize(
    ("pattern", "boundary", "rule"),
    [
        (DailyPattern(interval=1), NoEndPattern(start=START), "FREQ=DAILY"),
        (
            WeeklyPattern(interval=2, weekdays=["Monday", "Wednesday"], first_day_of_week="Monday"),
            EndDatePattern(start=START, end=date(2027, 3, 1)),
            "FREQ=WEEKLY;BYDAY=MO,WE;WKST=MO;INTERVAL=2;UNTIL=20270301",
        ),
        # Parsed from XML, exchangelib gives enum values as 1-based numbers.
        (
            WeeklyPattern(interval=1, weekdays=[5], first_day_of_week=7),
            NumberedPattern(start=START, number=10),
            "FREQ=WEEKLY;BYDAY=FR;WKST=SU;COUNT=10",
        ),
        (
            AbsoluteMonthlyPattern(interval=3, day_of_month=15),
            NoEndPattern(start=START),
            "FREQ=MONTHLY;BYMONTHDAY=15;INTERVAL=3",
        ),
        (
            RelativeMonthlyPattern(interval=1, weekday="Tuesday", week_number="Second"),
            NoEndPattern(start=START),
            "FREQ=MONTHLY;BYDAY=2TU",
        ),
        (
            RelativeMonthlyPattern(interval=1, weekday="Weekday", week_number="Last"),
            NoEndPattern(start=START),
            "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
        ),
        (
            AbsoluteYearlyPattern(day_of_month=3, month="March"),
            NoEndPattern(start=START),
            "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=3",
        ),
        (
            RelativeYearlyPattern(weekday="Thursday", week_number="Fourth", month=11),
            NoEndPattern(start=START),
            "FREQ=YEARLY;BYMONTH=11;BYDAY=4TH",
        ),
    ],
)
def test_every_calendar_pattern_is_an_rrule_the_mirror_reads(
    pattern: object, boundary: object, rule: str
) -> None:
    text = recurrence_rule(Recurrence(pattern=pattern, boundary=boundary))
    assert text == rule
    parse_rule(text)  # the project's own RRULE reader accepts it


def test_a_task_style_regeneration_cannot_be_mirrored() -> None:
    with pytest.raises(NotMirrorable):
        recurrence_rule(
            Recurrence(pattern=DailyRegeneration(interval=2), boundary=NoEndPattern(start=START))
        )


def _item(**fields: object) -> CalendarItem:
    zone = EWSTimeZone("Europe/Berlin")
    defaults: dict[str, object] = {
        "subject": "Weekly planning",
        "start": datetime(2026, 12, 7, 9, 0, tzinfo=UTC),
        "end": datetime(2026, 12, 7, 10, 0, tzinfo=UTC),
        "is_all_day": False,
        "_start_timezone": zone,
    }
    return CalendarItem(**(defaults | fields))


def test_a_series_with_a_moved_and_a_cancelled_occurrence() -> None:
    second = datetime(2026, 12, 14, 9, 0, tzinfo=UTC)
    third = datetime(2026, 12, 21, 9, 0, tzinfo=UTC)
    fourth = datetime(2026, 12, 28, 9, 0, tzinfo=UTC)
    item = _item(
        recurrence=Recurrence(
            pattern=WeeklyPattern(interval=1, weekdays=["Monday"], first_day_of_week="Monday"),
            boundary=NumberedPattern(start=START, number=6),
        ),
        modified_occurrences=[
            Occurrence(
                original_start=second,
                start=second + timedelta(hours=2),
                end=second + timedelta(hours=3, minutes=30),
            ),
            # Only its subject was edited: the time is the series' own, no change to the meeting.
            Occurrence(original_start=fourth, start=fourth, end=fourth + timedelta(hours=1)),
        ],
        deleted_occurrences=[DeletedOccurrence(start=third)],
    )
    event = event_of(item)
    assert event.timezone == "Europe/Berlin" and event.subject == "Weekly planning"
    assert [r.count for r in event.rules] == [6]
    edits = {edit.original_start: edit for edit in event.edits}
    assert set(edits) == {second, third}
    assert edits[third].cancelled
    assert edits[second].start == second + timedelta(hours=2) and edits[second].duration == 90
    desired = desired_from_event(event, now=NOW)
    assert desired.series.type == 8 and desired.series.timezone == "Europe/Berlin"


def test_an_all_day_item_lasts_its_days_in_its_zone() -> None:
    item = _item(is_all_day=True, start=date(2026, 12, 24), end=date(2026, 12, 25))
    event = event_of(item)
    assert event.all_day
    assert event.start == datetime(2026, 12, 24, tzinfo=ZoneInfo("Europe/Berlin"))
    assert event.end == datetime(2026, 12, 25, tzinfo=ZoneInfo("Europe/Berlin"))


@pytest.mark.parametrize(
    ("cecp", "location", "marks"),
    [
        (
            json.dumps({"linkzoom_event_key": "k-1", "linkzoom_meeting_id": "85012345678"}),
            "",
            Marks(event_key="k-1", zoom_meeting_id=85012345678),
        ),
        (None, "https://us05web.zoom.us/j/85012345678?pwd=abc", Marks(zoom_meeting_id=85012345678)),
        (None, "Room 4", Marks()),
        ("not json", "", Marks()),
        (json.dumps(["k-1"]), "", Marks()),
        (json.dumps({"linkzoom_event_key": 7, "linkzoom_meeting_id": "x"}), "", Marks()),
    ],
)
def test_marks_come_from_the_custom_properties_else_a_join_link(
    cecp: str | None, location: str, marks: Marks
) -> None:
    assert marks_of(cecp, location) == marks
