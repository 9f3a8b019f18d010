"""The JSON body: field-level problems, Windows zones, all-day events, what the meeting becomes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.json_input import event_from_json
from linkzoom.calendar.models import EXACT, NO_FIXED_TIME_MAPPING, OccurrenceEdit
from linkzoom.problems import ValidationFailed

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

BASE: dict[str, Any] = {
    "subject": "Planning",
    "start": "2026-12-01T10:00:00+01:00",
    "end": "2026-12-01T10:30:00+01:00",
    "timezone": "Europe/Berlin",
}


def test_a_plain_event_is_a_scheduled_meeting() -> None:
    desired = desired_from_event(event_from_json(BASE), now=NOW)
    assert desired.series.type == 2 and desired.mapping is None
    assert desired.series.start == datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    assert desired.series.duration == 30 and desired.series.timezone == "Europe/Berlin"


def test_windows_zone_names_are_accepted() -> None:
    event = event_from_json(BASE | {"timezone": "W. Europe Standard Time"})
    assert event.timezone == "Europe/Berlin"


def test_recurrence_with_exdates() -> None:
    body = BASE | {
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=TU;COUNT=4",
        "exdates": ["2026-12-08T09:00:00Z"],
    }
    desired = desired_from_event(event_from_json(body), now=NOW)
    assert desired.mapping == EXACT and desired.series.type == 8
    assert desired.edits == (
        OccurrenceEdit(original_start=datetime(2026, 12, 8, 9, tzinfo=UTC), cancelled=True),
    )


def test_unexpressible_recurrence_is_no_fixed_time_not_an_error() -> None:
    desired = desired_from_event(event_from_json(BASE | {"recurrence": "FREQ=YEARLY"}), now=NOW)
    assert desired.mapping == NO_FIXED_TIME_MAPPING and desired.series.type == 3
    assert desired.series.start is None


def test_all_day_events_span_the_day_in_their_zone() -> None:
    body = {
        "subject": "Offsite",
        "start": "2027-03-27",
        "timezone": "Europe/Berlin",
        "all_day": True,
    }
    event = event_from_json(body)
    assert event.start == datetime(2027, 3, 27, tzinfo=ZoneInfo("Europe/Berlin"))
    desired = desired_from_event(event, now=NOW)
    assert desired.series.start == datetime(2027, 3, 26, 23, tzinfo=UTC)
    # The night DST starts the day has 23 hours.
    two_days = desired_from_event(event_from_json(body | {"end": "2027-03-29"}), now=NOW)
    assert two_days.series.duration == 47 * 60


def test_long_subjects_are_shortened_to_zooms_limit() -> None:
    desired = desired_from_event(event_from_json(BASE | {"subject": "x" * 500}), now=NOW)
    assert len(desired.series.topic) == 200


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        (
            {"end": "2026-12-01T09:00:00+01:00"},
            "end",
        ),  # before the start (an equal end is a moment)
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": None}, "timezone"),
        ({"start": "2026-12-01T10:00:00"}, "start"),
        ({"start": "tomorrow"}, "start"),
        ({"start": None}, "start"),
        ({"subject": 7}, "subject"),
        ({"all_day": "yes"}, "all_day"),
        ({"recurrence": "FREQ=SOMETIMES"}, "recurrence"),
        ({"recurrence": 5}, "recurrence"),
        ({"exdates": "2026-12-08"}, "exdates"),
        ({"exdates": ["not a time"]}, "exdates.0"),
        # Regressions: each of these was a 500 (date arithmetic overflowed).
        ({"start": "0001-01-01T00:00:00+14:00"}, "start"),
        ({"exdates": ["9999-12-31T23:00:00-12:00"]}, "exdates.0"),
        ({"end": "2999-01-01T00:00:00+01:00"}, "end"),
    ],
)
def test_bad_input_names_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        event_from_json(BASE | changes)
    assert field in [e.field for e in caught.value.errors]


def test_a_zero_minute_appointment_gets_a_meeting_of_half_an_hour() -> None:
    # Outlook allows appointments whose end is their start.
    event = event_from_json(
        {"start": "2027-01-04T09:00:00+01:00", "end": "2027-01-04T09:00:00+01:00",
         "timezone": "Europe/Berlin"}
    )  # fmt: skip
    assert desired_from_event(event, now=NOW).series.duration == 30
    with pytest.raises(ValidationFailed, match="must be after start"):
        event_from_json(
            {"start": "2027-01-04T09:00:00+01:00", "end": "2027-01-04T08:59:00+01:00",
             "timezone": "Europe/Berlin"}
        )  # fmt: skip
