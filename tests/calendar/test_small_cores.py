"""Back-off verdicts, time zone names, and the invitation text: small pure pieces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import icalendar
import pytest

from linkzoom.calendar.backoff import FAILED_AFTER, MAX_DELAY, delay, judge
from linkzoom.calendar.models import FAILED, PENDING, Confirmed, Series
from linkzoom.calendar.steps import _link_key
from linkzoom.calendar.webhooks import is_echo, meeting_id_of
from linkzoom.calendar.zones import named_zone, zone_like
from linkzoom.problems import (
    Problem,
    ZoomNotLinked,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
MIDNIGHT = datetime(2026, 11, 23, tzinfo=UTC)


@pytest.mark.parametrize(
    ("problem", "attempts", "status", "earliest", "latest", "counts"),
    [
        (
            ZoomRateLimited("daily", kind="daily", retry_at=MIDNIGHT, now=NOW),
            5,
            PENDING,
            MIDNIGHT,
            MIDNIGHT + timedelta(seconds=30),
            False,
        ),
        (
            ZoomRateLimited("qps", kind="qps", retry_at=NOW + timedelta(seconds=1), now=NOW),
            0,
            PENDING,
            NOW + timedelta(seconds=1),
            NOW + timedelta(seconds=1.5),
            False,
        ),
        (
            ZoomUnavailable("down"),
            0,
            PENDING,
            NOW + timedelta(seconds=1),
            NOW + timedelta(seconds=2),
            True,
        ),
        (
            ZoomUnavailable("down"),
            3,
            PENDING,
            NOW + timedelta(seconds=8),
            NOW + timedelta(seconds=16),
            True,
        ),
        (ZoomUnavailable("down"), FAILED_AFTER - 1, FAILED, NOW, NOW + MAX_DELAY, True),
        (
            ZoomNotLinked("relink", user_id=1),
            0,
            FAILED,
            NOW + timedelta(hours=1),
            NOW + timedelta(hours=1),
            True,
        ),
    ],
)
def test_verdicts(
    problem: Problem,
    attempts: int,
    status: str,
    earliest: datetime,
    latest: datetime,
    counts: bool,
) -> None:
    for jitter in (0.0, 0.5, 0.999):
        verdict = judge(problem, attempts=attempts, now=NOW, jitter=jitter)
        assert verdict.status == status and verdict.counts == counts
        assert verdict.retry_at is not None and earliest <= verdict.retry_at <= latest
        assert verdict.message == problem.detail


def test_a_request_zoom_refuses_waits_for_the_calendar_to_change() -> None:
    verdict = judge(ZoomRequestInvalid("bad"), attempts=0, now=NOW, jitter=0.5)
    assert verdict.status == FAILED and verdict.retry_at is None


def test_back_off_grows_to_its_cap_and_is_never_immediate() -> None:
    assert [delay(n, 0.0) for n in range(4)] == [timedelta(seconds=s) for s in (1, 2, 4, 8)]
    assert delay(100, 0.999) <= MAX_DELAY and delay(100, 0.0) == MAX_DELAY / 2


@pytest.mark.parametrize(
    ("name", "zone"),
    [
        ("Europe/Berlin", "Europe/Berlin"),
        ("W. Europe Standard Time", "Europe/Berlin"),
        ("w. europe standard time", "Europe/Berlin"),
        ("Tokyo Standard Time", "Asia/Tokyo"),
        ("UTC", "UTC"),
        ('"America/New_York"', "America/New_York"),
        ("/mozilla.org/20050126_1/America/New_York", "America/New_York"),
        ("/softwarestudio.org/Olson_20011030_5/America/Chicago", "America/Chicago"),
    ],
)
def test_zone_names(name: str, zone: str) -> None:
    found = named_zone(name)
    assert found is not None and found.key == zone


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "Standard Time"])
def test_unknown_zone_names(name: str) -> None:
    assert named_zone(name) is None


def test_a_vtimezone_is_matched_to_the_iana_zone_with_its_offsets() -> None:
    vtimezone = icalendar.Timezone.from_ical(
        "BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\nDTSTART:16010101T020000\r\n"
        "TZOFFSETFROM:-0400\r\nTZOFFSETTO:-0500\r\nRRULE:FREQ=YEARLY;BYDAY=1SU;BYMONTH=11\r\n"
        "END:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:16010101T020000\r\nTZOFFSETFROM:-0500\r\n"
        "TZOFFSETTO:-0400\r\nRRULE:FREQ=YEARLY;BYDAY=2SU;BYMONTH=3\r\nEND:DAYLIGHT\r\n"
        "END:VTIMEZONE\r\n"
    )
    assert isinstance(vtimezone, icalendar.Timezone)
    zone = zone_like(vtimezone.to_tz(lookup_tzid=False), NOW)
    assert zone is not None and zone.key == "America/New_York"


SERIES = Series(topic="Plan", type=2, start=NOW, duration=30, timezone="UTC")
KNOWN = Confirmed(meeting_id=1, join_url="u", series=SERIES)


@pytest.mark.parametrize(
    ("changed", "scope", "echo"),
    [
        ({"id": 1, "topic": "Plan"}, None, True),
        ({"id": 1, "start_time": "2026-11-22T12:00:00Z", "duration": 30}, None, True),
        ({"id": 1, "settings": {"waiting_room": True}, "agenda": "x"}, None, True),
        ({"id": 1, "topic": "Other"}, None, False),
        ({"id": 1, "start_time": "2026-11-22T13:00:00Z"}, None, False),
        ({"id": 1, "recurrence": {"type": 1}}, None, False),
        ({"id": 1, "topic": "Plan"}, "single", False),
    ],
)
def test_updates_that_only_repeat_our_state_are_recognised(
    changed: dict[str, object], scope: str | None, echo: bool
) -> None:
    payload = {"object": changed} | ({"scope": scope} if scope else {})
    assert is_echo(changed, payload, KNOWN) is echo
    assert is_echo(changed, payload, None) is False


@pytest.mark.parametrize(("value", "expected"), [(5, 5), ("5", 5), (True, None), ("x", None)])
def test_meeting_ids_in_webhooks(value: object, expected: int | None) -> None:
    assert meeting_id_of(value) == expected


def test_a_join_link_is_the_same_whatever_host_zoom_names() -> None:
    vanity = "https://acme.zoom.us/j/81234567890?pwd=Abc.1"
    assert _link_key("https://us02web.zoom.us/j/81234567890?pwd=Abc.1") == _link_key(vanity)
    assert _link_key("https://us02web.zoom.us/j/81234567890?pwd=New.2") != _link_key(vanity)
