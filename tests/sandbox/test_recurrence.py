"""Occurrence expansion (pure), parametrized tables plus properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.sandbox.recurrence import Recurrence, expand

NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def local_dates(instants: list[datetime], zone: ZoneInfo) -> list[str]:
    return [i.astimezone(zone).strftime("%Y-%m-%d %a %H:%M") for i in instants]


@pytest.mark.parametrize(
    ("recurrence", "start", "expected"),
    [
        (
            Recurrence(type=1, repeat_interval=2, end_times=3),
            datetime(2031, 1, 1, 9, 0, tzinfo=BERLIN),
            ["2031-01-01 Wed 09:00", "2031-01-03 Fri 09:00", "2031-01-05 Sun 09:00"],
        ),
        (
            # "2" = Monday, "4" = Wednesday; the series starts on the first match.
            Recurrence(type=2, weekly_days=(2, 4), end_times=4),
            datetime(2031, 1, 2, 9, 0, tzinfo=BERLIN),  # a Thursday
            [
                "2031-01-06 Mon 09:00",
                "2031-01-08 Wed 09:00",
                "2031-01-13 Mon 09:00",
                "2031-01-15 Wed 09:00",
            ],
        ),
        (
            Recurrence(type=2, repeat_interval=2, weekly_days=(1, 7), end_times=4),
            datetime(2031, 1, 4, 9, 0, tzinfo=BERLIN),  # a Saturday
            [
                "2031-01-04 Sat 09:00",
                "2031-01-12 Sun 09:00",
                "2031-01-18 Sat 09:00",
                "2031-01-26 Sun 09:00",
            ],
        ),
        (
            Recurrence(type=3, monthly_day=31, end_times=3),
            datetime(2031, 1, 31, 9, 0, tzinfo=BERLIN),
            ["2031-01-31 Fri 09:00", "2031-03-31 Mon 09:00", "2031-05-31 Sat 09:00"],
        ),
        (
            # Last Friday (6) of each month.
            Recurrence(type=3, monthly_week=-1, monthly_week_day=6, end_times=3),
            datetime(2031, 1, 1, 9, 0, tzinfo=BERLIN),
            ["2031-01-31 Fri 09:00", "2031-02-28 Fri 09:00", "2031-03-28 Fri 09:00"],
        ),
        (
            # Second Tuesday (3), every third month.
            Recurrence(type=3, repeat_interval=3, monthly_week=2, monthly_week_day=3, end_times=2),
            datetime(2031, 1, 1, 9, 0, tzinfo=BERLIN),
            ["2031-01-14 Tue 09:00", "2031-04-08 Tue 09:00"],
        ),
    ],
)
def test_expansion_table(recurrence: Recurrence, start: datetime, expected: list[str]) -> None:
    assert local_dates(expand(recurrence, start=start, zone=BERLIN), BERLIN) == expected


def test_wall_clock_survives_dst() -> None:
    start = datetime(2031, 3, 4, 9, 0, tzinfo=NEW_YORK)  # DST starts 2031-03-09
    instants = expand(Recurrence(type=2, weekly_days=(3,), end_times=3), start=start, zone=NEW_YORK)
    assert [i.astimezone(NEW_YORK).hour for i in instants] == [9, 9, 9]
    assert [i.astimezone(UTC).hour for i in instants] == [14, 13, 13]


def test_weekdays_are_computed_in_the_meeting_zone() -> None:
    # 23:30 Monday in New York is already Tuesday in UTC; "2" (Monday) must mean NY Monday.
    start = datetime(2031, 1, 6, 23, 30, tzinfo=NEW_YORK)
    instants = expand(Recurrence(type=2, weekly_days=(2,), end_times=2), start=start, zone=NEW_YORK)
    assert local_dates(instants, NEW_YORK) == ["2031-01-06 Mon 23:30", "2031-01-13 Mon 23:30"]


def test_end_date_time_is_inclusive_and_capped() -> None:
    start = datetime(2031, 1, 1, 9, 0, tzinfo=UTC)
    until = datetime(2031, 1, 3, 9, 0, tzinfo=UTC)
    assert (
        len(expand(Recurrence(type=1, end_date_time=until), start=start, zone=ZoneInfo("UTC"))) == 3
    )
    far = datetime(2035, 1, 1, tzinfo=UTC)
    assert (
        len(expand(Recurrence(type=1, end_date_time=far), start=start, zone=ZoneInfo("UTC"))) == 60
    )


def test_json_round_trip() -> None:
    recurrence = Recurrence(type=3, monthly_week=-1, monthly_week_day=6, end_times=4)
    assert Recurrence.from_json(recurrence.to_json()) == recurrence
    weekly = Recurrence(type=2, weekly_days=(1, 3), end_date_time=datetime(2031, 2, 1, tzinfo=UTC))
    assert weekly.to_json() == {
        "type": 2,
        "repeat_interval": 1,
        "weekly_days": "1,3",
        "end_date_time": "2031-02-01T00:00:00Z",
    }
    assert Recurrence.from_json(weekly.to_json()) == weekly


zones = st.sampled_from(
    ["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"]
)
recurrences = st.one_of(
    st.builds(
        Recurrence,
        type=st.just(1),
        repeat_interval=st.integers(1, 90),
        end_times=st.integers(1, 60),
    ),
    st.builds(
        Recurrence,
        type=st.just(2),
        repeat_interval=st.integers(1, 12),
        weekly_days=st.lists(st.integers(1, 7), min_size=1, max_size=7, unique=True).map(tuple),
        end_times=st.integers(1, 60),
    ),
    st.builds(
        Recurrence,
        type=st.just(3),
        repeat_interval=st.integers(1, 3),
        monthly_day=st.integers(1, 31),
        end_times=st.integers(1, 60),
    ),
    st.builds(
        Recurrence,
        type=st.just(3),
        repeat_interval=st.integers(1, 3),
        monthly_week=st.sampled_from([-1, 1, 2, 3, 4]),
        monthly_week_day=st.integers(1, 7),
        end_times=st.integers(1, 60),
    ),
)


@given(
    recurrence=recurrences,
    zone_name=zones,
    day=st.dates(min_value=date(2025, 1, 1), max_value=date(2035, 12, 31)),
    minute=st.integers(0, 24 * 60 - 1),
)
def test_properties(recurrence: Recurrence, zone_name: str, day: date, minute: int) -> None:
    zone = ZoneInfo(zone_name)
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone) + timedelta(minutes=minute)
    instants = expand(recurrence, start=start, zone=zone)
    assert len(instants) == recurrence.end_times
    assert instants == sorted(set(instants))
    local = [i.astimezone(zone) for i in instants]
    assert all(i.date() >= start.astimezone(zone).date() for i in local)
    if recurrence.type == 2:
        assert all(i.isoweekday() % 7 + 1 in recurrence.weekly_days for i in local)
    if recurrence.type == 3 and recurrence.monthly_day is not None:
        assert all(i.day == recurrence.monthly_day for i in local)
    if recurrence.type == 3 and recurrence.monthly_week_day is not None:
        assert all(i.isoweekday() % 7 + 1 == recurrence.monthly_week_day for i in local)
