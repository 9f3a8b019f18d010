"""Calendar values to Zoom's models and back, and to the database's JSON and back."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from linkzoom.calendar import codec, wire
from linkzoom.calendar.models import (
    Confirmed,
    Desired,
    InDoubt,
    KnownOccurrence,
    OccurrenceEdit,
    Series,
    Window,
)
from linkzoom.calendar.rrule import parse_rule
from linkzoom.zoom.meeting_defaults import MeetingDefaults
from linkzoom.zoom.models import Meeting, Recurrence
from tests.zoom.spec import validate_request_body

START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
WEEKLY = Recurrence(type=2, repeat_interval=1, weekly_days="2", end_times=3)
SERIES = Series(
    topic="Sync", type=8, start=START, duration=30, timezone="Europe/Berlin", recurrence=WEEKLY
)
NOW = datetime(2026, 11, 22, tzinfo=UTC)


def zoom_meeting(**fields: object) -> Meeting:
    body: dict[str, object] = {
        "id": 81234567890,
        "topic": "Sync",
        "type": 8,
        "start_time": "2026-12-07T08:00:00Z",
        "duration": 30,
        "timezone": "Europe/Berlin",
        "join_url": "https://zoom.test/j/81234567890?pwd=x",
        "password": "abc123",
        "agenda": wire.agenda_for("marker-123456"),
        "recurrence": {"type": 2, "repeat_interval": 1, "weekly_days": "2", "end_times": 3},
        "occurrences": [
            {
                "occurrence_id": str(n),
                "start_time": (START + timedelta(weeks=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration": 30,
            }
            for n in range(3)
        ],
    }
    body.update(fields)
    return Meeting.from_json(body)


def test_create_request_is_what_zooms_spec_accepts() -> None:
    request = wire.create_request(SERIES, marker="marker-123456", defaults=MeetingDefaults())
    body = request.to_json()
    validate_request_body("POST", "/users/{userId}/meetings", body)
    assert body["start_time"] == "2026-12-07T08:00:00Z" and body["timezone"] == "Europe/Berlin"
    assert wire.carries_marker(body["agenda"], "marker-123456")
    assert not wire.carries_marker(body["agenda"], "another-marker")


def test_a_fresh_series_knows_where_each_occurrence_belongs() -> None:
    confirmed = wire.created(zoom_meeting(), SERIES)
    assert confirmed.series == SERIES
    assert confirmed.occurrences is not None
    assert [o.original_start for o in confirmed.occurrences] == [
        START + timedelta(weeks=n) for n in range(3)
    ]


def test_fetch_keeps_where_moved_occurrences_came_from_and_sees_deleted_ones() -> None:
    previous = wire.created(zoom_meeting(), SERIES)
    moved = START + timedelta(weeks=1, hours=2)
    now = zoom_meeting(
        occurrences=[
            {"occurrence_id": "0", "start_time": "2026-12-07T08:00:00Z", "duration": 30},
            {
                "occurrence_id": "1",
                "start_time": moved.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "duration": 45,
            },
        ]
    )
    fetched = wire.fetched(now, previous, NOW)
    assert fetched.occurrences == (
        KnownOccurrence(occurrence_id="0", original_start=START, start=START, duration=30),
        KnownOccurrence(
            occurrence_id="1", original_start=START + timedelta(weeks=1), start=moved, duration=45
        ),
        KnownOccurrence(
            occurrence_id="2",
            original_start=START + timedelta(weeks=2),
            start=START + timedelta(weeks=2),
            duration=30,
            deleted=True,
        ),
    )


def test_fetch_after_zoom_renumbered_everything_starts_afresh() -> None:
    previous = wire.created(zoom_meeting(), SERIES)
    renumbered = zoom_meeting(
        occurrences=[{"occurrence_id": "x", "start_time": "2026-12-07T08:00:00Z", "duration": 30}]
    )
    fetched = wire.fetched(renumbered, previous, NOW)
    assert fetched.occurrences == (
        KnownOccurrence(occurrence_id="x", original_start=START, start=START, duration=30),
    )


def test_zoom_showing_a_later_occurrence_as_the_start_is_the_same_series() -> None:
    previous = wire.created(zoom_meeting(), SERIES)
    later = zoom_meeting(start_time="2026-12-14T08:00:00Z")
    assert wire.fetched(later, previous, NOW).series == SERIES


def test_recurrences_are_compared_in_normal_form() -> None:
    echoed = Recurrence(type=2, weekly_days="4,2", monthly_day=5, end_times=3)
    assert wire.normal(echoed) == Recurrence(
        type=2, repeat_interval=1, weekly_days="2,4", end_times=3
    )


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
series = st.builds(
    Series,
    topic=st.text(max_size=20),
    type=st.sampled_from([2, 3, 8]),
    start=st.none() | instants,
    duration=st.integers(1, 600),
    timezone=st.sampled_from(["UTC", "Europe/Berlin"]),
    recurrence=st.none() | st.just(WEEKLY),
)
edits = st.builds(
    OccurrenceEdit,
    original_start=instants,
    cancelled=st.booleans(),
    start=st.none() | instants,
    duration=st.none() | st.integers(1, 90),
)
occurrences = st.builds(
    KnownOccurrence,
    occurrence_id=st.text(min_size=1, max_size=13),
    original_start=instants,
    start=instants,
    duration=st.integers(1, 90),
    deleted=st.booleans(),
)


windows = st.builds(
    Window,
    rule=st.sampled_from(
        ["FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=DAILY;COUNT=400", "FREQ=MONTHLY;UNTIL=20400101"]
    ).map(parse_rule),
    first=instants,
)


@given(
    series,
    st.lists(edits, max_size=3),
    st.booleans(),
    st.sampled_from([None, "exact", "window", "no-fixed-time"]),
    st.none() | st.text(max_size=40),
    st.none() | windows,
)
def test_desired_round_trips(
    value: Series,
    changes: list[OccurrenceEdit],
    deleted: bool,
    mapping: str | None,
    reason: str | None,
    window: Window | None,
) -> None:
    desired = Desired(
        series=value,
        edits=tuple(changes),
        deleted=deleted,
        mapping=mapping,
        reason=reason,
        window=window,
    )
    assert codec.desired_from_json(codec.desired_to_json(desired)) == desired


@given(series, st.none() | st.lists(occurrences, max_size=3).map(tuple), st.booleans())
def test_confirmed_round_trips(
    value: Series, known: tuple[KnownOccurrence, ...] | None, stale: bool
) -> None:
    confirmed = Confirmed(
        meeting_id=81234567890,
        join_url="https://z/j/1",
        series=value,
        occurrences=known,
        stale=stale,
    )
    assert codec.confirmed_from_json(codec.confirmed_to_json(confirmed)) == confirmed


def test_in_doubt_round_trips() -> None:
    doubt = InDoubt(
        marker="m", topic="t", sent_at=START, conclusive_at=START + timedelta(seconds=6)
    )
    assert codec.in_doubt_from_json(codec.in_doubt_to_json(doubt)) == doubt
    assert replace(doubt, topic="u") != doubt
