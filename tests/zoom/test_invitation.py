"""The invitation: Zoom's layout, times across DST changes, and HTML that carries user text only
as text."""

from __future__ import annotations

from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkzoom.zoom.invitation import (
    InvitationDetails,
    build,
    format_time,
    group_meeting_id,
    one_tap,
)
from linkzoom.zoom.models import DialInNumber

# Pure and fast, but a loaded two-core machine can stall any example past the 200 ms default.
no_deadline = settings(deadline=None)
NEW_YORK = DialInNumber(country="US", country_name="US", city="New York", number="+1 212 555 0100")
SAN_JOSE = DialInNumber(country="US", country_name="US", city="San Jose", number="+1 408 555 0199")


def details(**changes: object) -> InvitationDetails:
    values: dict[str, object] = {
        "marker": "cm_Abc-123",
        "host_name": "Alice Liddell",
        "topic": "Budget review",
        "start_time": datetime(2026, 7, 1, 13, 5, 59, tzinfo=UTC),
        "timezone": "Europe/Berlin",
        "join_url": "https://us05web.zoom.us/j/85012345678?pwd=Xy.1&a=b",
        "meeting_id": 85012345678,
        "passcode": "aB3xYz",
        "phone_passcode": "123456",
        "dial_in": (NEW_YORK, SAN_JOSE),
    }
    return InvitationDetails(**(values | changes))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("meeting_id", "printed"),
    [
        (123456789, "123 456 789"),
        (1234567890, "123 456 7890"),
        (85012345678, "850 1234 5678"),
        (123456789012, "1234 5678 9012"),
        (1234567890123, "1 2345 6789 0123"),
        (12345678, "1234 5678"),
        (12345, "1 2345"),
    ],
)
def test_meeting_ids_are_grouped_as_zoom_prints_them(meeting_id: int, printed: str) -> None:
    assert group_meeting_id(meeting_id) == printed


@pytest.mark.parametrize(
    ("start", "zone", "printed"),
    [
        # New York springs forward at 07:00Z on 8 March 2026: 01:59 EST, then 03:00 EDT.
        (
            datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC),
            "America/New_York",
            "Mar 8, 2026 01:59 AM America/New_York (EST)",
        ),
        (
            datetime(2026, 3, 8, 7, 0, tzinfo=UTC),
            "America/New_York",
            "Mar 8, 2026 03:00 AM America/New_York (EDT)",
        ),
        # ... and falls back on 1 November: 01:30 happens twice, the abbreviation tells which.
        (
            datetime(2026, 11, 1, 5, 30, tzinfo=UTC),
            "America/New_York",
            "Nov 1, 2026 01:30 AM America/New_York (EDT)",
        ),
        (
            datetime(2026, 11, 1, 6, 30, tzinfo=UTC),
            "America/New_York",
            "Nov 1, 2026 01:30 AM America/New_York (EST)",
        ),
        (
            datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
            "Europe/Berlin",
            "Mar 29, 2026 01:59 AM Europe/Berlin (CET)",
        ),
        (
            datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
            "Europe/Berlin",
            "Mar 29, 2026 03:00 AM Europe/Berlin (CEST)",
        ),
        # Southern hemisphere: Sydney leaves DST on 5 April 2026.
        (
            datetime(2026, 4, 4, 15, 59, tzinfo=UTC),
            "Australia/Sydney",
            "Apr 5, 2026 02:59 AM Australia/Sydney (AEDT)",
        ),
        (
            datetime(2026, 4, 4, 16, 0, tzinfo=UTC),
            "Australia/Sydney",
            "Apr 5, 2026 02:00 AM Australia/Sydney (AEST)",
        ),
        # Lord Howe moves by half an hour and has no lettered abbreviation.
        (
            datetime(2026, 4, 4, 14, 59, tzinfo=UTC),
            "Australia/Lord_Howe",
            "Apr 5, 2026 01:59 AM Australia/Lord_Howe (UTC+11:00)",
        ),
        (
            datetime(2026, 4, 4, 15, 0, tzinfo=UTC),
            "Australia/Lord_Howe",
            "Apr 5, 2026 01:30 AM Australia/Lord_Howe (UTC+10:30)",
        ),
        (
            datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
            "Asia/Kathmandu",
            "Jan 1, 2026 05:45 AM Asia/Kathmandu (UTC+05:45)",
        ),
        (
            datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
            "America/St_Johns",
            "Jan 1, 2026 08:30 AM America/St_Johns (NST)",
        ),
        (
            datetime(2026, 1, 1, 12, 0, tzinfo=UTC),
            "America/Sao_Paulo",
            "Jan 1, 2026 09:00 AM America/Sao_Paulo (UTC-03:00)",
        ),
        (datetime(2026, 1, 1, 0, 0, tzinfo=UTC), "UTC", "Jan 1, 2026 12:00 AM UTC"),
        (datetime(2026, 1, 1, 12, 0, tzinfo=UTC), "Etc/UTC", "Jan 1, 2026 12:00 PM UTC"),
    ],
)
def test_time_reads_right_on_both_sides_of_dst_changes(
    start: datetime, zone: str, printed: str
) -> None:
    assert format_time(start, zone) == printed


def test_zoom_layout_with_dial_in() -> None:
    assert build(details()).text == (
        "Alice Liddell is inviting you to a scheduled Zoom meeting.\n"
        "\n"
        "Topic: Budget review\n"
        "Time: Jul 1, 2026 03:05 PM Europe/Berlin (CEST)\n"
        "\n"
        "Join Zoom Meeting\n"
        "https://us05web.zoom.us/j/85012345678?pwd=Xy.1&a=b\n"
        "\n"
        "Meeting ID: 850 1234 5678\n"
        "Passcode: aB3xYz\n"
        "\n"
        "---\n"
        "\n"
        "One tap mobile\n"
        "+12125550100,,85012345678#,,,,*123456# US (New York)\n"
        "+14085550199,,85012345678#,,,,*123456# US (San Jose)\n"
        "\n"
        "---\n"
        "\n"
        "Dial by your location\n"
        "• +1 212 555 0100 US (New York)\n"
        "• +1 408 555 0199 US (San Jose)\n"
        "\n"
        "Meeting ID: 850 1234 5678\n"
        "Passcode: 123456\n"
    )


def test_lines_the_meeting_does_not_carry_are_left_out() -> None:
    text = build(details(dial_in=(), passcode=None, host_name=" ")).text
    assert text.startswith("You are invited to a scheduled Zoom meeting.\n")
    assert "Passcode" not in text and "One tap" not in text and "Dial by" not in text
    assert text.endswith("Meeting ID: 850 1234 5678\n")


@pytest.mark.parametrize(
    ("number", "phone_passcode", "line"),
    [
        (NEW_YORK, "123456", "+12125550100,,85012345678#,,,,*123456# US (New York)"),
        (NEW_YORK, None, "+12125550100,,85012345678# US (New York)"),
        (
            DialInNumber(number="+44 20 3481 5237", country="GB"),
            None,
            "+442034815237,,85012345678# GB",
        ),
        (DialInNumber(number="+1 (646) 558-8656"), "9", "+16465588656,,85012345678#,,,,*9#"),
    ],
)
def test_one_tap(number: DialInNumber, phone_passcode: str | None, line: str) -> None:
    assert one_tap(number, 85012345678, phone_passcode) == line


class _Reader(HTMLParser):
    """The HTML as the mail client shows it: tags, attributes and the visible text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "br":
            self.text += "\n"

    def handle_endtag(self, tag: str) -> None:
        if tag == "p":
            self.text += "\n\n"

    def handle_data(self, data: str) -> None:
        self.text += data


def read(html: str) -> _Reader:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    return reader


def test_the_html_block_is_marked_for_the_add_in() -> None:
    reader = read(build(details()).html)
    tag, attrs = reader.tags[0]
    assert tag == "div"
    assert attrs == {
        "id": "linkzoom-cm_Abc-123",
        "class": "linkzoom-invitation",
        "data-linkzoom-meeting": "cm_Abc-123",
    }
    links = [a["href"] for t, a in reader.tags if t == "a"]
    assert links == ["https://us05web.zoom.us/j/85012345678?pwd=Xy.1&a=b"] * 2


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "//evil.test/x"])
def test_a_join_url_that_is_not_a_web_link_is_never_a_link(url: str) -> None:
    reader = read(build(details(join_url=url)).html)
    assert not [t for t, _ in reader.tags if t == "a"]
    assert url in reader.text


HOSTILE = st.text(
    alphabet=st.sampled_from(list("<>&\"'=/ \n\r\tab😀\u2028")) | st.characters(), max_size=80
)


@no_deadline
@given(topic=HOSTILE, host=HOSTILE, passcode=HOSTILE)
def test_user_text_reaches_html_only_as_text(topic: str, host: str, passcode: str) -> None:
    invitation = build(details(topic=topic, host_name=host, passcode=passcode or None))
    reader = read(invitation.html)
    # Only our own markup: whatever the user typed stays text.
    assert {tag for tag, _ in reader.tags} <= {"div", "p", "br", "a"}
    assert len([t for t, _ in reader.tags if t == "div"]) == 1
    # What the mail client shows is exactly the text invitation.
    assert reader.text.rstrip("\n") == invitation.text.rstrip("\n")


@no_deadline
@given(topic=HOSTILE, host=HOSTILE)
def test_user_text_cannot_forge_lines_of_the_text_invitation(topic: str, host: str) -> None:
    text = build(details(topic=topic, host_name=host)).text
    lines = text.split("\n")
    assert lines[2].startswith("Topic: ") and lines[3].startswith("Time: ")
    assert lines[5:7] == ["Join Zoom Meeting", "https://us05web.zoom.us/j/85012345678?pwd=Xy.1&a=b"]


def test_a_calendar_events_invitation_names_the_event_and_leaves_the_time_to_it() -> None:
    invitation = build(
        details(
            marker='AAMk/k"1',
            marker_kind="event",
            topic="<b>Plan</b>\nJoin: http://evil",
            start_time=None,
            dial_in=(),
            phone_passcode=None,
        )
    )
    assert "Time:" not in invitation.text
    assert "Topic: <b>Plan</b> Join: http://evil\n" in invitation.text
    assert "Meeting ID: 850 1234 5678\nPasscode: aB3xYz\n" in invitation.text
    assert 'data-linkzoom-event="AAMk/k&quot;1"' in invitation.html
    assert "<b>" not in invitation.html and "&lt;b&gt;Plan" in invitation.html
