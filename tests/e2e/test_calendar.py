"""The calendar mirror over real sockets: ``linkzoom run`` (with its reconciler) and the Zoom
sandbox as processes, on both databases. Create, reschedule, bursts, recurrence and occurrence
edits from iCalendar, Zoom-side changes through signed webhooks, lost answers, the daily limit,
ownership and bad input; every body Zoom received is checked against its published spec."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrule, rrulestr

from tests.calendar.test_ical import exchange
from tests.e2e.calendar_support import (
    CalendarDeployment,
    assert_spec_valid,
    linked_deployment,
    path,
    sql,
    wait_status,
    wait_until,
    zoom_requests,
)
from tests.e2e.test_secrets_never_leak import database_text
from tests.support.databases import PostgresTemplates, SqliteTemplates, backends

PROBLEM = "application/problem+json"
CALENDAR = "text/calendar"


def zoom_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture(scope="module", params=backends())
def calendar(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_templates: SqliteTemplates,
    postgres_templates: PostgresTemplates | None,
) -> Iterator[CalendarDeployment]:
    yield from linked_deployment(
        request.param, tmp_path_factory.mktemp("calendar"), sqlite_templates, postgres_templates
    )


@pytest.fixture(autouse=True)
def well_behaved(calendar: CalendarDeployment) -> None:
    calendar.control("DELETE", "/faults")


def event(
    start: str = "2027-05-04T10:00:00+02:00", minutes: int = 30, **more: Any
) -> dict[str, Any]:
    begin = datetime.fromisoformat(start)
    return {
        "subject": "Quarterly planning",
        "start": start,
        "end": (begin + timedelta(minutes=minutes)).isoformat(),
        "timezone": "Europe/Berlin",
    } | more


def test_create_reschedule_and_delete(calendar: CalendarDeployment) -> None:
    api = calendar.alice
    created = api.put(path("AAMkADk%2Fcreate=="), json=event())
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "synced" and body["event_key"] == "AAMkADk/create=="
    assert body["location"] == body["join_url"] and body["passcode"]
    assert body["join_url"] in body["invitation"]["text"] and body["recurrence_mapping"] is None
    assert created.headers["cache-control"] == "no-store"
    meeting = calendar.meeting(body["zoom_meeting_id"])
    assert meeting["start_time"] == "2027-05-04T08:00:00Z" and meeting["duration"] == 30
    assert meeting["timezone"] == "Europe/Berlin" and meeting["topic"] == "Quarterly planning"
    assert api.get(path("AAMkADk%2Fcreate==")).json() == body

    moved = api.put(path("AAMkADk%2Fcreate=="), json=event("2027-05-05T15:00:00+02:00", 60))
    assert moved.status_code == 200 and moved.json()["status"] == "pending"
    wait_status(api, "AAMkADk%2Fcreate==", "synced")
    meeting = calendar.meeting(body["zoom_meeting_id"])  # the same meeting, moved
    assert meeting["start_time"] == "2027-05-05T13:00:00Z" and meeting["duration"] == 60

    assert api.delete(path("AAMkADk%2Fcreate==")).status_code == 202
    wait_until(lambda: api.get(path("AAMkADk%2Fcreate==")).status_code == 404, what="deletion")
    assert body["zoom_meeting_id"] not in [m["id"] for m in calendar.meetings()]
    assert api.delete(path("AAMkADk%2Fcreate==")).status_code == 204
    assert assert_spec_valid(calendar) >= 2


@pytest.mark.one_database  # the debounce is timing, the same on either database
def test_a_burst_of_edits_is_one_zoom_call_and_a_return_to_zoom_state_is_none(
    calendar: CalendarDeployment,
) -> None:
    api = calendar.alice
    meeting_id = api.put(path("burst"), json=event()).json()["zoom_meeting_id"]
    for minutes in (35, 40, 45, 50, 55):
        assert api.put(path("burst"), json=event(minutes=minutes)).status_code == 200
    wait_status(api, "burst", "synced")
    assert calendar.meeting(meeting_id)["duration"] == 55
    patches = zoom_requests(calendar, "PATCH", meeting_id)
    assert [p["json"] for p in patches] == [{"duration": 55}]
    # Away and straight back: Zoom already has it, nothing is sent.
    api.put(path("burst"), json=event(minutes=90))
    assert api.put(path("burst"), json=event(minutes=55)).json()["status"] == "synced"
    time.sleep(2.8)  # longer than the debounce: the reconciler has looked
    assert len(zoom_requests(calendar, "PATCH", meeting_id)) == 1


@pytest.mark.one_database
def test_recurring_event_from_exchange_with_occurrence_edits(calendar: CalendarDeployment) -> None:
    api = calendar.alice
    answer = api.put(
        path("series"),
        content=exchange("W. Europe Standard Time"),
        headers={"content-type": "text/calendar"},
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["recurrence_mapping"] == "exact"
    wait_status(api, "series", "synced")
    meeting = calendar.meeting(answer.json()["zoom_meeting_id"])
    assert meeting["type"] == 8 and meeting["timezone"] == "Europe/Berlin"
    assert meeting["recurrence"]["weekly_days"] == "2,4"
    starts = [(o["start_time"], o["duration"]) for o in meeting["occurrences"]]
    assert ("2027-03-08T09:00:00Z", 30) not in starts  # EXDATE
    assert ("2027-03-10T13:00:00Z", 60) in starts  # moved by its RECURRENCE-ID override
    assert ("2027-03-15T09:00:00Z", 30) not in starts  # cancelled override
    assert len(starts) == 9 - 2

    yearly = api.put(path("yearly"), json=event(recurrence="FREQ=YEARLY;COUNT=10"))
    assert yearly.status_code == 201 and yearly.json()["recurrence_mapping"] == "no-fixed-time"
    assert calendar.meeting(yearly.json()["zoom_meeting_id"])["type"] == 3
    assert assert_spec_valid(calendar) >= 1


def ics(*vevents: list[str]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//e2e//EN"]
    for body in vevents:
        lines += ["BEGIN:VEVENT", "UID:valid@e2e", "DTSTAMP:20270101T000000Z", *body, "END:VEVENT"]
    return "\r\n".join([*lines, "END:VCALENDAR", ""]).encode()


@pytest.mark.one_database
def test_valid_events_once_refused_are_mirrored(calendar: CalendarDeployment) -> None:
    api = calendar.alice

    def put(key: str, body: bytes) -> dict[str, Any]:
        answer = api.put(path(key), content=body, headers={"content-type": "text/calendar"})
        assert answer.status_code == 201, answer.text
        wait_status(api, key, "synced")
        found: dict[str, Any] = answer.json() | {
            "meeting": calendar.meeting(answer.json()["zoom_meeting_id"])
        }
        return found

    # A moment (DTSTART alone, RFC 5545 3.6.1): a half-hour meeting at that time.
    moment = put("moment", ics(["DTSTART;TZID=Europe/Berlin:20270504T100000", "SUMMARY:Call"]))
    assert moment["meeting"]["start_time"] == "2027-05-04T08:00:00Z"
    assert moment["meeting"]["duration"] == 30
    # One occurrence without its series (an invitation to that one): an event of its own.
    single = put("occurrence", ics([
        "RECURRENCE-ID:20270511T080000Z", "DTSTART:20270511T090000Z",
        "DTEND:20270511T100000Z", "SUMMARY:This week only",
    ]))  # fmt: skip
    assert single["meeting"]["type"] == 2
    assert (single["meeting"]["start_time"], single["meeting"]["duration"]) == (
        "2027-05-11T09:00:00Z", 60,
    )  # fmt: skip
    # An occurrence made a moment inside an ordinary series: exact, that occurrence half an hour.
    series = put("moment-override", ics(
        ["DTSTART:20270517T080000Z", "DTEND:20270517T090000Z", "RRULE:FREQ=DAILY;COUNT=4"],
        ["RECURRENCE-ID:20270519T080000Z", "DTSTART:20270519T120000Z", "DTEND:20270519T120000Z"],
    ))  # fmt: skip
    assert series["recurrence_mapping"] == "exact"
    starts = [(o["start_time"], o["duration"]) for o in series["meeting"]["occurrences"]]
    assert ("2027-05-19T12:00:00Z", 30) in starts and len(starts) == 4
    # Several occurrences without their series: no rule to give Zoom, said in the answer.
    several = put("occurrences", ics(
        ["RECURRENCE-ID:20270601T080000Z", "DTSTART:20270601T080000Z", "DURATION:PT1H"],
        ["RECURRENCE-ID:20270608T080000Z", "DTSTART:20270608T090000Z", "DURATION:PT1H"],
    ))  # fmt: skip
    assert several["recurrence_mapping"] == "no-fixed-time" and several["meeting"]["type"] == 3
    assert assert_spec_valid(calendar) >= 4


@pytest.mark.one_database
def test_month_days_some_months_lack_are_exact_over_the_sandbox_when_the_span_allows(
    calendar: CalendarDeployment,
) -> None:
    api = calendar.alice

    def put(key: str, start: str, rule: str) -> dict[str, Any]:
        body = ics([f"DTSTART;TZID=Europe/Berlin:{start}", "DURATION:PT1H", f"RRULE:{rule}"])
        answer = api.put(path(key), content=body, headers={"content-type": "text/calendar"})
        assert answer.status_code == 201, answer.text
        wait_status(api, key, "synced")
        found: dict[str, Any] = answer.json()
        return found | {"meeting": calendar.meeting(found["zoom_meeting_id"])}

    def starts(found: dict[str, Any]) -> list[str]:
        return [o["start_time"] for o in found["meeting"]["occurrences"]]

    # The 31st every other month from January: each month of the span has a 31st.
    odd = put("31st", "20270131T100000", "FREQ=MONTHLY;INTERVAL=2;COUNT=4")
    assert odd["recurrence_mapping"] == "exact" and odd["meeting"]["type"] == 8
    assert starts(odd) == [
        "2027-01-31T09:00:00Z", "2027-03-31T08:00:00Z", "2027-05-31T08:00:00Z",
        "2027-07-31T08:00:00Z",
    ]  # fmt: skip
    # The 5th Monday of March and May: each is its month's last Monday.
    fifth = put("5th-monday", "20270329T100000", "FREQ=MONTHLY;INTERVAL=2;BYDAY=5MO;COUNT=2")
    assert fifth["recurrence_mapping"] == "exact"
    assert starts(fifth) == ["2027-03-29T08:00:00Z", "2027-05-31T08:00:00Z"]
    # Monthly on the 31st through February: RFC 5545 skips it, Zoom's behaviour is undocumented.
    february = put("31st-monthly", "20270131T100000", "FREQ=MONTHLY;COUNT=3")
    assert february["recurrence_mapping"] == "no-fixed-time"
    assert february["meeting"]["type"] == 3


@pytest.mark.one_database
def test_an_endless_series_gets_its_next_sixty_occurrences_with_their_edits_at_zoom(
    calendar: CalendarDeployment,
) -> None:
    """The most common recurring meeting, weekly with no end, with a cancelled and a moved
    occurrence ahead: Zoom holds its real times (a window), not a meeting with no fixed time."""
    api = calendar.alice
    berlin = ZoneInfo("Europe/Berlin")
    first = datetime(2026, 3, 3, 10, 0, tzinfo=berlin)  # a Tuesday, months ago
    rule = rrulestr("FREQ=WEEKLY;BYDAY=TU,TH", dtstart=first)
    assert isinstance(rule, rrule)
    ahead = list(islice(rule.xafter(datetime.now(UTC) + timedelta(minutes=5)), 5))
    cancelled, moved = ahead[3], ahead[4]

    def local(moment: datetime) -> str:
        return moment.astimezone(berlin).strftime("%Y%m%dT%H%M%S")

    def body(summary: str) -> bytes:
        return ics(
            [
                f"DTSTART;TZID=Europe/Berlin:{local(first)}", "DURATION:PT30M",
                "RRULE:FREQ=WEEKLY;BYDAY=TU,TH", f"EXDATE;TZID=Europe/Berlin:{local(cancelled)}",
                f"SUMMARY:{summary}",
            ],
            [
                f"RECURRENCE-ID;TZID=Europe/Berlin:{local(moved)}",
                f"DTSTART;TZID=Europe/Berlin:{local(moved + timedelta(hours=2))}",
                "DURATION:PT45M", f"SUMMARY:{summary}",
            ],
        )  # fmt: skip

    def expected(now: datetime) -> tuple[list[tuple[str, int]], list[datetime]]:
        window = list(islice(rule.xafter(now + timedelta(minutes=1), inc=True), 60))
        held = [
            (zoom_time(m + timedelta(hours=2)), 45) if m == moved else (zoom_time(m), 30)
            for m in window
            if m != cancelled
        ]
        return held, window

    before = datetime.now(UTC)
    answer = api.put(path("endless"), content=body("Sync"), headers={"content-type": CALENDAR})
    after = datetime.now(UTC)
    assert answer.status_code == 201, answer.text
    found = answer.json()
    assert found["recurrence_mapping"] == "window"
    assert "no end" in found["recurrence_reason"]
    wait_status(api, "endless", "synced")
    meeting = calendar.meeting(found["zoom_meeting_id"])
    assert meeting["type"] == 8 and meeting["recurrence"]["end_times"] == 60
    assert meeting["recurrence"]["weekly_days"] == "3,5"
    held = [(o["start_time"], o["duration"]) for o in meeting["occurrences"]]
    options = [expected(before), expected(after)]  # the same unless an occurrence is that close
    windows = [w for h, w in options if h == held]
    assert windows, f"Zoom holds {held[:3]}…, the calendar {options[0][0][:3]}…"
    window = windows[0]
    assert found["recurrence_window"] == {
        "from": zoom_time(window[0]),
        "through": zoom_time(window[-1]),
        "moves_on_at": zoom_time(window[29] + timedelta(minutes=30)),
    }

    # A new subject renames the meeting; the window, and Zoom's occurrences, stay as they are.
    renamed = api.put(
        path("endless"), content=body("Weekly sync"), headers={"content-type": CALENDAR}
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["recurrence_window"] == found["recurrence_window"]
    wait_until(lambda: calendar.meeting(found["zoom_meeting_id"])["topic"] == "Weekly sync")
    ids = [o["occurrence_id"] for o in calendar.meeting(found["zoom_meeting_id"])["occurrences"]]
    assert ids == [o["occurrence_id"] for o in meeting["occurrences"]]
    assert assert_spec_valid(calendar) >= 1


def test_zoom_side_changes_arrive_as_webhooks_and_the_calendar_wins(
    calendar: CalendarDeployment,
) -> None:
    api = calendar.alice
    first = api.put(path("webhooked"), json=event()).json()
    calendar.control(
        "POST", f"/meetings/{first['zoom_meeting_id']}/update", json={"topic": "Hijacked"}
    )
    wait_until(
        lambda: calendar.meeting(first["zoom_meeting_id"])["topic"] == "Quarterly planning",
        what="the calendar's topic back at Zoom",
    )
    calendar.control("POST", f"/meetings/{first['zoom_meeting_id']}/delete", json={})
    wait_until(
        lambda: api.get(path("webhooked")).json()["zoom_meeting_id"] != first["zoom_meeting_id"],
        what="a new meeting",
    )
    now = wait_status(api, "webhooked", "synced")
    assert now["link_changed"] is True and now["join_url"] != first["join_url"]
    assert calendar.meeting(now["zoom_meeting_id"])["start_time"] == "2027-05-04T08:00:00Z"
    deliveries = calendar.control("GET", "/webhooks")["deliveries"]
    assert {d["status_code"] for d in deliveries if d["event"].startswith("meeting.")} == {200}


def test_a_lost_create_answer_is_found_again_not_duplicated(calendar: CalendarDeployment) -> None:
    api = calendar.alice
    # Zoom makes the meeting after our client (1 s timeout) has stopped waiting; the request
    # tries again within its budget, and the lookup finds that meeting instead of a second.
    calendar.control(
        "POST",
        "/faults",
        json={"method": "POST", "path_regex": "/meetings$", "latency_ms": 1300, "count": 1},
    )
    lost = api.put(path("lost"), json=event(subject="Lost answer"))
    assert lost.status_code == 201, lost.text
    again = api.put(path("lost"), json=event(subject="Lost answer"))
    assert again.status_code == 200, again.text
    made = [m for m in calendar.meetings() if m["topic"] == "Lost answer"]
    assert [m["id"] for m in made] == [lost.json()["zoom_meeting_id"]]


@pytest.mark.one_database  # the retry is about Zoom; lost creates run on both elsewhere
def test_a_zoom_blip_on_create_is_retried_within_the_request(calendar: CalendarDeployment) -> None:
    api = calendar.alice
    calendar.control(
        "POST",
        "/faults",
        json={"method": "POST", "path_regex": "/meetings$", "status": 503, "count": 1},
    )
    blip = api.put(path("blip"), json=event(subject="Blip"))
    assert blip.status_code == 201, blip.text
    assert [m["id"] for m in calendar.meetings() if m["topic"] == "Blip"] == [
        blip.json()["zoom_meeting_id"]
    ]
    # Zoom down for longer than the budget: a clear 503 after a bounded wait, nothing kept.
    calendar.control(
        "POST",
        "/faults",
        json={"method": "POST", "path_regex": "/meetings$", "status": 503, "count": 100},
    )
    started = time.monotonic()
    down = api.put(path("down"), json=event(subject="Down"))
    waited = time.monotonic() - started
    assert down.status_code == 503 and down.headers["content-type"] == PROBLEM
    assert 2 < waited < 15
    assert api.get(path("down")).status_code == 404
    calendar.control("DELETE", "/faults")


@pytest.mark.one_database
def test_each_user_sees_only_their_own_events(calendar: CalendarDeployment) -> None:
    alice, bob = calendar.alice, calendar.bob
    mine = alice.put(path("private"), json=event()).json()
    assert bob.get(path("private")).status_code == 404
    assert bob.delete(path("private")).status_code == 204  # bob has no such event
    theirs = bob.put(path("private"), json=event())
    assert theirs.status_code == 201 and theirs.json()["zoom_meeting_id"] != mine["zoom_meeting_id"]
    assert alice.get(path("private")).json() == mine
    assert mine["zoom_meeting_id"] in [m["id"] for m in calendar.meetings()]


@pytest.mark.one_database  # input checks happen before anything is stored
def test_bad_input_is_a_clear_problem_and_stores_nothing(calendar: CalendarDeployment) -> None:
    api = calendar.alice
    cases: list[tuple[dict[str, Any], str]] = [
        (
            {"content": b'{"subject": "x"', "headers": {"content-type": "application/json"}},
            "bad-request",
        ),
        ({"json": event(end="2027-05-04T09:00:00+02:00")}, "end"),
        ({"json": event(timezone="Mars/Olympus")}, "timezone"),
        ({"json": event(recurrence="FREQ=SOMETIMES")}, "recurrence"),
        (
            {
                "content": b"BEGIN:VCALENDAR\r\nnonsense",
                "headers": {"content-type": "text/calendar"},
            },
            "body",
        ),
        (
            {
                "content": b"BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:1\r\nEND:VTODO\r\n"
                b"END:VCALENDAR\r\n",
                "headers": {"content-type": "text/calendar"},
            },
            "body.VTODO",
        ),
        ({"content": b"x" * 300_000, "headers": {"content-type": "text/calendar"}}, "body"),
        # Regression: the problem quoted a lone surrogate, which could not be encoded (a 500).
        (
            {
                "content": json.dumps(event(recurrence="FREQ=DAILY;X\ud800=1")).encode(),
                "headers": {"content-type": "application/json"},
            },
            "recurrence",
        ),
    ]
    for kwargs, expected in cases:
        answer = api.put(path("bad"), **kwargs)
        assert answer.headers["content-type"] == PROBLEM, answer.text
        problem = answer.json()
        assert "traceback" not in answer.text.lower()
        if expected == "bad-request":
            assert answer.status_code == 400
        else:
            assert answer.status_code == 422, problem
            assert expected in [e["field"] for e in problem["errors"]]
    assert (
        api.put(path("bad"), content=b"x", headers={"content-type": "text/plain"}).status_code
        == 415
    )
    assert (
        api.put(
            path("bad"), content=b"x" * 2_000_000, headers={"content-type": "text/calendar"}
        ).status_code
        == 413
    )
    assert api.get(path("bad")).status_code == 404
    # Not signed in; signed in but Zoom never linked (with a link to consent).
    assert calendar.deployment.login("alice").put(path("bad"), json=event()).status_code == 201
    unsigned = api.put(path("other"), json=event(), headers={"authorization": ""})
    assert unsigned.status_code == 401
    carol = calendar.carol.put(path("carol"), json=event())
    assert carol.status_code == 409 and carol.json()["type"].endswith("/zoom-not-linked")
    assert carol.json()["authorize_url"]
    assert calendar.carol.get(path("carol")).status_code == 404
    assert sql(
        calendar.deployment, "SELECT count(*) FROM calendar_bindings WHERE event_key = 'carol'"
    ) == [(0,)]


def test_the_daily_limit_leaves_the_event_pending_until_midnight(
    calendar: CalendarDeployment,
) -> None:
    # Last in the module: bob's Zoom day is over afterwards.
    api = calendar.bob
    meeting_id = api.put(path("limited"), json=event()).json()["zoom_meeting_id"]
    daily = {
        "code": 429,
        "message": "You have exceeded the daily rate limit (100) of Meeting Create/Update API "
        "requests permitted for this particular user. You may resume these requests at GMT "
        "00:00:00.",
    }
    calendar.control(
        "POST",
        "/faults",
        json={
            "method": "PATCH",
            "path_regex": "/meetings/",
            "status": 429,
            "body": daily,
            "headers": {"X-RateLimit-Category": "Light"},
        },
    )
    api.put(path("limited"), json=event(minutes=75))
    wait_until(
        lambda: "daily" in (api.get(path("limited")).json()["last_error"] or ""),
        what="the daily limit to be reported",
    )
    answer = api.get(path("limited")).json()
    assert answer["status"] == "pending"
    ((due,),) = sql(
        calendar.deployment,
        "SELECT due_at FROM calendar_bindings WHERE event_key = 'limited'",
    )
    midnight = datetime.combine(datetime.now(UTC).date() + timedelta(days=1), datetime.min.time())
    due = datetime.fromisoformat(due) if isinstance(due, str) else due  # SQLite: text
    assert midnight <= due.replace(tzinfo=None) <= midnight + timedelta(seconds=30)
    assert calendar.meeting(meeting_id)["duration"] == 30
    # Only bob's day is over; alice's edits still go through.
    calendar.control("DELETE", "/faults")
    assert api.get(path("limited")).json()["status"] == "pending"


def test_subjects_zoom_or_the_database_would_refuse_are_cleaned(
    calendar: CalendarDeployment,
) -> None:
    """Regression: a NUL or a lone surrogate in the subject made a 500 on PostgreSQL, and a
    subject of 200 emoji (400 UTF-16 units) went to Zoom past its 200-unit topic limit."""
    api = calendar.alice
    raw = json.dumps(event(subject="Stand\u0000up \ud800daily\x07\n now")).encode()
    answer = api.put(path("odd-text"), content=raw, headers={"content-type": "application/json"})
    assert answer.status_code == 201, answer.text
    assert answer.json()["topic"] == "Standup daily now"
    assert calendar.meeting(answer.json()["zoom_meeting_id"])["topic"] == "Standup daily now"

    emoji = api.put(path("emoji"), json=event(subject="\U0001f389" * 200))
    assert emoji.status_code == 201, emoji.text
    topic = calendar.meeting(emoji.json()["zoom_meeting_id"])["topic"]
    assert topic == "\U0001f389" * 99 + "…"  # 198 + 1 units
    control = api.put(path("bad%00key"), json=event())
    assert control.status_code == 422 and control.json()["errors"][0]["field"] == "event_key"


def test_neither_passcode_nor_start_url_is_stored_in_the_clear(
    calendar: CalendarDeployment,
) -> None:
    """Regression: the calendar kept each meeting's passcode in plain JSON."""
    api = calendar.alice
    created = api.put(path("secret-check"), json=event("2027-06-01T09:00:00+02:00"))
    assert created.status_code == 201, created.text
    passcode = created.json()["passcode"]
    assert passcode and api.get(path("secret-check")).json()["passcode"] == passcode
    zaks = calendar.control("GET", "/secrets")["start_url_zaks"]
    stored = database_text(calendar.deployment)
    for secret in [passcode, *zaks]:
        assert not any(secret.encode() in blob for blob in stored)
