"""The pure compose core: topics, zones, the meeting asked for, ``sent``, lost-create matching."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkzoom.compose.meeting_plan import (
    SENT_TOLERANCE,
    is_time_zone,
    match_orphans,
    meeting_plan,
    new_passcode,
    plan_sent,
    resolve_timezone,
    topic_for,
)
from linkzoom.compose.models import Attempt, ComposeOrder
from linkzoom.zoom.meeting_defaults import MeetingDefaults
from linkzoom.zoom.models import MeetingRequest, MeetingSummary
from linkzoom.zoom.text import clean_text
from tests.zoom.spec import validate_request_body

# Pure and fast, but a loaded two-core machine can stall any example past the 200 ms default.
no_deadline = settings(deadline=None)
NOW = datetime(2026, 3, 8, 6, 58, 41, 123456, tzinfo=UTC)


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


# --- topics ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "display_name", "expected"),
    [
        (None, "Alice Liddell", "Zoom meeting — Alice Liddell"),
        ("", "Alice Liddell", "Zoom meeting — Alice Liddell"),
        ("  \n\t ", "Alice", "Zoom meeting — Alice"),
        (None, "", "Zoom meeting"),
        (None, "  ", "Zoom meeting"),
        ("Budget\r\nreview", "Alice", "Budget review"),
        ("  Q3   plan  ", "Alice", "Q3 plan"),
        ("a\x00b\x07c", "Alice", "abc"),
        ("line\u2028break", "Alice", "line break"),
        ("lone \ud800 surrogate", "Alice", "lone surrogate"),
        ("x" * 200, "Alice", "x" * 200),
        ("x" * 201, "Alice", "x" * 199 + "…"),
        ("😀" * 100, "Alice", "😀" * 100),
        ("😀" * 101, "Alice", "😀" * 99 + "…"),
        ("a" + "😀" * 100, "Alice", "a" + "😀" * 99 + "…"),
        (None, "B" * 300, ("Zoom meeting — " + "B" * 300)[:199] + "…"),
    ],
)
def test_topic_for(requested: str | None, display_name: str, expected: str) -> None:
    assert topic_for(requested, display_name) == expected


@no_deadline
@given(st.text(max_size=400), st.text(max_size=300))
def test_topics_are_one_clean_line_zoom_accepts(requested: str, display_name: str) -> None:
    topic = topic_for(requested, display_name)
    assert topic and topic == topic.strip() and "\n" not in topic and "\r" not in topic
    assert utf16(topic) <= 200
    topic.encode("utf-8")  # no lone surrogates: the database and JSON take it
    assert clean_text(topic) == topic


# --- time zones ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "profile", "expected"),
    [
        ("Europe/Berlin", "America/New_York", "Europe/Berlin"),
        (None, "America/New_York", "America/New_York"),
        (None, None, "UTC"),
        (None, "Mars/Olympus_Mons", "UTC"),
        (None, "localtime", "UTC"),
        (None, "", "UTC"),
        ("UTC", "Asia/Kolkata", "UTC"),
    ],
)
def test_resolve_timezone(requested: str | None, profile: str | None, expected: str) -> None:
    assert resolve_timezone(requested, profile) == expected


@pytest.mark.parametrize(
    ("name", "known"),
    [
        ("Europe/Berlin", True),
        ("Australia/Lord_Howe", True),
        ("UTC", True),
        ("europe/berlin", False),
        ("localtime", False),
        ("Factory", False),
        ("../../etc/passwd", False),
        ("", False),
        ("Pacific Standard Time", False),
    ],
)
def test_is_time_zone(name: str, known: bool) -> None:
    assert is_time_zone(name) is known


# --- the meeting asked for -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("defaults", "jbh", "waiting_room", "passcode"),
    [
        (MeetingDefaults(), True, False, "Abc123xyz9"),
        (MeetingDefaults(passcode=False), True, False, None),
        (MeetingDefaults(join_before_host=False), False, False, "Abc123xyz9"),
        # Zoom turns join-before-host off under a waiting room; the plan says so up front.
        (MeetingDefaults(waiting_room=True), False, True, "Abc123xyz9"),
    ],
)
def test_meeting_plan_applies_the_organisations_defaults(
    defaults: MeetingDefaults, jbh: bool, waiting_room: bool, passcode: str | None
) -> None:
    plan = meeting_plan(
        ComposeOrder(),
        defaults=defaults,
        display_name="Alice",
        profile_timezone=None,
        now=NOW,
        passcode="Abc123xyz9",
    )
    assert (plan.join_before_host, plan.waiting_room, plan.passcode) == (
        jbh,
        waiting_room,
        passcode,
    )
    assert plan.duration_minutes == defaults.duration_minutes
    body = plan.zoom_request().to_json()
    validate_request_body("POST", "/users/{userId}/meetings", body)
    assert body["settings"]["join_before_host"] is jbh
    assert ("jbh_time" in body["settings"]) is jbh


def test_meeting_plan_starts_now_to_the_second_in_the_users_zone() -> None:
    plan = meeting_plan(
        ComposeOrder(topic="Budget", duration_minutes=45, timezone="Europe/Berlin"),
        defaults=MeetingDefaults(duration_minutes=30),
        display_name="Alice",
        profile_timezone="America/New_York",
        now=NOW,
        passcode="Abc123xyz9",
    )
    assert plan.start_time == datetime(2026, 3, 8, 6, 58, 41, tzinfo=UTC)
    assert (plan.topic, plan.duration_minutes, plan.timezone) == ("Budget", 45, "Europe/Berlin")
    body = plan.zoom_request().to_json()
    assert body["start_time"] == "2026-03-08T06:58:41Z" and body["type"] == 2
    assert body["timezone"] == "Europe/Berlin" and body["password"] == "Abc123xyz9"


def test_passcodes_fit_zoom_and_differ() -> None:
    codes = {new_passcode() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 10 and code.isalnum() and code.isascii()
        assert any(c.isdigit() for c in code) and any(c.isalpha() for c in code)
        MeetingRequest(password=code)  # Zoom's alphabet and length


# --- sent ------------------------------------------------------------------------------------

START = datetime(2026, 3, 8, 9, 30, tzinfo=UTC)
FIVE = timedelta(minutes=5)
SECOND = timedelta(seconds=1)


@pytest.mark.parametrize(
    ("requested", "recorded", "now", "move_to", "sent_at"),
    [
        # No sent_at: the send is now.
        (None, None, START + FIVE, None, START + FIVE),
        (None, None, START + FIVE + SECOND, START + FIVE + SECOND, START + FIVE + SECOND),
        (None, None, START - FIVE - SECOND, START - FIVE - SECOND, START - FIVE - SECOND),
        # A repeat without sent_at changes nothing, however late it comes.
        (None, START + FIVE, START + timedelta(hours=3), None, START + FIVE),
        # An explicit sent_at is the truth, first time or again.
        (
            START + timedelta(hours=1),
            None,
            START,
            START + timedelta(hours=1),
            START + timedelta(hours=1),
        ),
        (
            START + timedelta(hours=1),
            START,
            START,
            START + timedelta(hours=1),
            START + timedelta(hours=1),
        ),
        (START + FIVE, START, START + timedelta(hours=1), None, START + FIVE),
        # Microseconds are dropped, as Zoom keeps seconds.
        (
            START + FIVE + timedelta(seconds=1, microseconds=999),
            None,
            START,
            START + FIVE + SECOND,
            START + FIVE + SECOND,
        ),
    ],
)
def test_plan_sent(
    requested: datetime | None,
    recorded: datetime | None,
    now: datetime,
    move_to: datetime | None,
    sent_at: datetime,
) -> None:
    plan = plan_sent(start=START, requested=requested, recorded=recorded, now=now)
    assert (plan.move_to, plan.sent_at) == (move_to, sent_at)


@no_deadline
@given(st.integers(min_value=-86_400, max_value=86_400), st.booleans())
def test_sent_moves_only_past_the_tolerance_and_a_repeat_never_moves(
    offset: int, explicit: bool
) -> None:
    sent = START + timedelta(seconds=offset)
    first = plan_sent(start=START, requested=sent if explicit else None, recorded=None, now=sent)
    assert (first.move_to is not None) == (abs(sent - START) > SENT_TOLERANCE)
    start_after = first.move_to or START
    again = plan_sent(
        start=start_after, requested=sent if explicit else None, recorded=first.sent_at, now=sent
    )
    assert again.move_to is None and again.sent_at == first.sent_at


# --- lost creates ----------------------------------------------------------------------------

ATTEMPTED = datetime(2026, 3, 8, 9, 30, 12, 345000, tzinfo=UTC)
SENT_START = datetime(2026, 3, 8, 9, 30, 12, tzinfo=UTC)


def attempt(id: str = "a1", *, topic: str = "Budget", at: datetime = ATTEMPTED) -> Attempt:
    return Attempt(
        id=id, user_id=1, topic=topic, start_time=at.replace(microsecond=0), attempted_at=at
    )


def listed(
    id: int,
    *,
    topic: str = "Budget",
    start: datetime | None = SENT_START,
    created: datetime | None = SENT_START,
    type: int = 2,
) -> MeetingSummary:
    return MeetingSummary(
        id=id,
        topic=topic,
        type=type,
        start_time=start,
        created_at=created,
        join_url=f"https://zoom.test/j/{id}",
    )


@pytest.mark.parametrize(
    ("meetings", "known", "expected"),
    [
        ([listed(11)], set(), {"a1": 11}),
        ([], set(), {}),
        ([listed(11)], {11}, {}),  # already a row of ours: not an orphan
        ([listed(11, topic="Budget ")], set(), {}),
        ([listed(11, start=SENT_START + SECOND)], set(), {}),
        ([listed(11, start=None)], set(), {}),
        ([listed(11, type=8)], set(), {}),
        ([listed(11, created=None)], set(), {}),
        ([listed(11, created=ATTEMPTED - timedelta(minutes=6))], set(), {}),
        ([listed(11, created=ATTEMPTED - timedelta(minutes=4))], set(), {"a1": 11}),
        ([listed(11, created=ATTEMPTED + timedelta(minutes=29))], set(), {"a1": 11}),
        ([listed(11, created=ATTEMPTED + timedelta(minutes=31))], set(), {}),
        ([listed(10, topic="Other"), listed(11)], set(), {"a1": 11}),
    ],
)
def test_match_orphans(
    meetings: list[MeetingSummary], known: set[int], expected: dict[str, int]
) -> None:
    assert match_orphans([attempt()], meetings, known=known) == expected


def test_identical_lost_attempts_each_claim_one_meeting_oldest_first() -> None:
    later = attempt("b", at=ATTEMPTED + timedelta(microseconds=1))
    first = attempt("a", at=ATTEMPTED)
    assert match_orphans([later, first], [listed(21), listed(22)], known=set()) == {
        "a": 21,
        "b": 22,
    }
    assert match_orphans([later, first], [listed(21)], known=set()) == {"a": 21}


@no_deadline
@given(
    st.lists(st.sampled_from(["Budget", "Plan", "Review"]), min_size=0, max_size=6),
    st.lists(
        st.tuples(
            st.integers(min_value=1, max_value=12),
            st.sampled_from(["Budget", "Plan", "Review", "Other"]),
            st.integers(min_value=0, max_value=2),
        ),
        max_size=12,
        unique_by=lambda t: t[0],
    ),
    st.sets(st.integers(min_value=1, max_value=12)),
)
def test_matching_is_one_to_one_and_exact(
    topics: list[str], meetings: list[tuple[int, str, int]], known: set[int]
) -> None:
    attempts = [attempt(f"a{i}", topic=t) for i, t in enumerate(topics)]
    summaries = [
        listed(id, topic=t, start=SENT_START + timedelta(seconds=s)) for id, t, s in meetings
    ]
    matched = match_orphans(attempts, summaries, known=known)
    assert len(set(matched.values())) == len(matched)
    by_id = {m.id: m for m in summaries}
    by_attempt = {a.id: a for a in attempts}
    for attempt_id, zoom_id in matched.items():
        assert zoom_id not in known
        assert by_id[zoom_id].topic == by_attempt[attempt_id].topic
        assert by_id[zoom_id].start_time == by_attempt[attempt_id].start_time
