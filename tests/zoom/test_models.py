from __future__ import annotations

import dataclasses
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linkzoom.problems import ZoomError
from linkzoom.zoom.models import (
    DialInNumber,
    Meeting,
    MeetingList,
    MeetingRequest,
    MeetingSettings,
    Occurrence,
    Recurrence,
    TokenSet,
    ZoomUser,
    render_time,
)
from tests.zoom.spec import (
    START_URL,
    create_meeting_response,
    meeting_list_response,
    recurring_meeting_response,
    token_response,
    user_response,
    validate_request_body,
    validate_response_body,
)

BERLIN = ZoneInfo("Europe/Berlin")
CREATE, UPDATE = ("POST", "/users/{userId}/meetings"), ("PATCH", "/meetings/{meetingId}")


# --- the samples really are Zoom's shapes ------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "status", "sample"),
    [
        ("POST", "/users/{userId}/meetings", 201, create_meeting_response()),
        ("GET", "/meetings/{meetingId}", 200, recurring_meeting_response()),
        ("GET", "/users/{userId}/meetings", 200, meeting_list_response(next_page_token="t")),
        ("GET", "/users/{userId}", 200, user_response()),
    ],
)
def test_samples_match_the_spec(
    method: str, path: str, status: int, sample: dict[str, Any]
) -> None:
    validate_response_body(method, path, status, sample)


# --- TokenSet ------------------------------------------------------------------------------


def test_token_set_parses_and_tolerates_extra_fields() -> None:
    tokens = TokenSet.from_json(token_response())
    assert tokens.access_token == "eyJhbGciOiJIUzUxMiJ9.access-secret"
    assert tokens.refresh_token == "eyJhbGciOiJIUzUxMiJ9.refresh-secret"
    assert (tokens.expires_in, tokens.token_type) == (3599, "bearer")
    assert tokens.scope == "meeting:write:meeting meeting:read:meeting user:read:user"


def test_token_set_repr_hides_the_tokens() -> None:
    tokens = TokenSet.from_json(token_response())
    for text in (repr(tokens), str(tokens)):
        assert "secret" not in text
        assert "expires_in=3599" in text


def test_token_set_defaults_scope_and_type() -> None:
    body = token_response()
    del body["scope"], body["token_type"]
    tokens = TokenSet.from_json(body)
    assert (tokens.scope, tokens.token_type) == ("", "bearer")


def test_expires_at_counts_from_receipt() -> None:
    received = datetime(2024, 5, 30, 12, tzinfo=UTC)
    assert TokenSet.from_json(token_response()).expires_at(received) == received + timedelta(
        seconds=3599
    )
    with pytest.raises(ValueError):
        TokenSet.from_json(token_response()).expires_at(datetime(2024, 5, 30, 12))  # naive


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"access_token": None}, "access_token"),
        ({"refresh_token": None}, "refresh_token"),
        ({"expires_in": None}, "expires_in"),
        ({"expires_in": "3599"}, "expires_in"),
        ({"expires_in": True}, "expires_in"),
        ({"expires_in": 0}, "expires_in"),
        ({"expires_in": -5}, "expires_in"),
        ({"access_token": 12345}, "access_token"),
        ({"scope": ["meeting:write"]}, "scope"),
    ],
)
def test_token_set_refuses_malformed_responses(change: dict[str, Any], field: str) -> None:
    body = {key: value for key, value in (token_response() | change).items() if value is not None}
    with pytest.raises(ZoomError) as caught:
        TokenSet.from_json(body)
    assert field in caught.value.detail
    assert "secret" not in caught.value.detail


@pytest.mark.parametrize("payload", [[], "token", None, 42])
def test_non_objects_are_malformed(payload: Any) -> None:
    with pytest.raises(ZoomError, match="not an object"):
        TokenSet.from_json(payload)


# --- ZoomUser ------------------------------------------------------------------------------


def test_user_parses_me() -> None:
    assert ZoomUser.from_json(user_response()) == ZoomUser(
        id="KDcuGIm1QgePTO8WbOqwIQ",
        account_id="q6gBJVO5TzexKYTb_I2rpg",
        email="jchill@example.com",
        first_name="Jill",
        last_name="Chill",
        display_name="Jill Chill",
        timezone="Asia/Shanghai",
        type=2,
    )


def test_user_with_only_the_essentials() -> None:
    user = ZoomUser.from_json({"id": "u", "account_id": "a"})
    assert (user.email, user.timezone, user.type) == (None, None, None)


@pytest.mark.parametrize("missing", ["id", "account_id"])
def test_user_without_ids_is_malformed(missing: str) -> None:
    body = user_response()
    del body[missing]
    with pytest.raises(ZoomError, match=f"user.{missing} is missing"):
        ZoomUser.from_json(body)


# --- Meeting -------------------------------------------------------------------------------


def test_create_response_parses() -> None:
    meeting = Meeting.from_json(create_meeting_response())
    assert meeting.id == 92674392836
    assert meeting.topic == "Quarterly review"
    assert meeting.start_time == datetime(2024, 4, 2, 15, tzinfo=UTC)
    assert meeting.created_at == datetime(2024, 3, 25, 7, 29, 29, tzinfo=UTC)
    assert meeting.join_url.startswith("https://us05web.zoom.us/j/92674392836")
    assert (meeting.password, meeting.pstn_password, meeting.h323_password) == ("123456",) * 3
    assert meeting.encrypted_password == "8pEkRweVXPV3Ob2KJYgFTRlDtl1gSn.1"
    # Create does not return these; GET does.
    assert (meeting.uuid, meeting.host_id, meeting.status) == (None, None, None)
    assert meeting.occurrences == () and meeting.recurrence is None
    assert meeting.settings is not None
    assert meeting.settings.waiting_room is True
    assert meeting.settings.audio == "voip"
    assert meeting.settings.global_dial_in_numbers == (
        DialInNumber(
            country="US", country_name="US", city="New York", number="+1 1000200200", type="toll"
        ),
    )


def test_start_url_is_not_kept_anywhere() -> None:
    meeting = Meeting.from_json(create_meeting_response())
    assert "start_url" not in {f.name for f in dataclasses.fields(meeting)}
    assert not hasattr(meeting, "__dict__")  # slots: nowhere to stash it either
    assert "zak=" not in repr(meeting) and START_URL not in repr(meeting)
    assert START_URL not in str(dataclasses.asdict(meeting))


def test_get_response_of_a_recurring_meeting_parses() -> None:
    meeting = Meeting.from_json(recurring_meeting_response())
    assert (meeting.uuid, meeting.status, meeting.type) == (
        "aDYlohsHRtCd4ii1uC2+hA==",
        "waiting",
        8,
    )
    assert meeting.host_id == "KDcuGIm1QgePTO8WbOqwIQ"
    assert meeting.recurrence == Recurrence(
        type=2, repeat_interval=1, weekly_days="2,4", end_times=3
    )
    assert meeting.occurrences[1] == Occurrence(
        occurrence_id="1712242800000",
        start_time=datetime(2024, 4, 4, 15, tzinfo=UTC),
        duration=60,
        status="available",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-04-02T15:00:00Z", datetime(2024, 4, 2, 15, tzinfo=UTC)),
        ("2024-04-02T17:00:00+02:00", datetime(2024, 4, 2, 15, tzinfo=UTC)),
        ("2024-04-02T15:00:00.123Z", datetime(2024, 4, 2, 15, 0, 0, 123000, tzinfo=UTC)),
        ("", None),
    ],
)
def test_times_are_read_as_aware_utc(text: str, expected: datetime | None) -> None:
    meeting = Meeting.from_json(create_meeting_response(start_time=text))
    assert meeting.start_time == expected
    assert meeting.start_time is None or meeting.start_time.tzinfo is UTC


def test_instant_meetings_have_no_start_time() -> None:
    body = create_meeting_response(type=1)
    del body["start_time"]
    assert Meeting.from_json(body).start_time is None


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"id": "92674392836"}, "meeting.id has the wrong type"),
        ({"id": None}, "meeting.id is missing"),
        ({"type": True}, "meeting.type has the wrong type"),
        ({"join_url": None}, "meeting.join_url is missing"),
        ({"topic": None}, "meeting.topic is missing"),
        ({"start_time": "2024-04-02T15:00:00"}, "meeting.start_time is not an ISO-8601 instant"),
        ({"start_time": "next Tuesday"}, "meeting.start_time is not an ISO-8601 instant"),
        ({"start_time": 1712070000}, "meeting.start_time is not an ISO-8601 instant"),
        ({"occurrences": {"occurrence_id": "1"}}, "meeting.occurrences is not a list"),
        ({"occurrences": ["1"]}, "meeting.occurrences[0] is not an object"),
        (
            {"occurrences": [{"occurrence_id": "1", "duration": 60}]},
            "meeting.occurrences[0].start_time is missing",
        ),
        ({"settings": "on"}, "meeting.settings is not an object"),
        ({"settings": {"jbh_time": "5"}}, "meeting.settings.jbh_time has the wrong type"),
        ({"settings": {"waiting_room": 1}}, "meeting.settings.waiting_room has the wrong type"),
        (
            {"settings": {"global_dial_in_numbers": [{"city": "Paris"}]}},
            "meeting.settings.global_dial_in_numbers[0].number is missing",
        ),
        ({"recurrence": {"repeat_interval": 1}}, "meeting.recurrence.type is missing"),
    ],
)
def test_malformed_meetings_name_the_field(change: dict[str, Any], where: str) -> None:
    body = {k: v for k, v in create_meeting_response(**change).items() if v is not None}
    with pytest.raises(ZoomError) as caught:
        Meeting.from_json(body)
    assert where in caught.value.detail
    assert caught.value.status == 502


def test_unknown_fields_are_ignored() -> None:
    body = create_meeting_response(brand_new_field={"x": 1}, tracking_fields=[{"field": "f"}])
    body["settings"]["some_future_setting"] = True
    assert Meeting.from_json(body).id == 92674392836


# --- MeetingList ---------------------------------------------------------------------------


def test_list_page_parses() -> None:
    page = MeetingList.from_json(meeting_list_response(next_page_token="IAfJX3jsOLW7w3dokmFl84z"))
    assert [m.id for m in page.meetings] == [1, 2]
    assert page.meetings[0].topic == "Meeting 1"
    assert page.meetings[0].start_time == datetime(2024, 4, 2, 15, tzinfo=UTC)
    assert (page.next_page_token, page.total_records) == ("IAfJX3jsOLW7w3dokmFl84z", 2)


@pytest.mark.parametrize("token", ["", None])
def test_last_page_has_no_token(token: str | None) -> None:
    body = meeting_list_response()
    body["next_page_token"] = token
    assert MeetingList.from_json(body).next_page_token is None


def test_empty_list() -> None:
    assert MeetingList.from_json({"total_records": 0}).meetings == ()


# --- requests ------------------------------------------------------------------------------

SCHEDULED = MeetingRequest(
    topic="Quarterly review",
    type=2,
    start_time=datetime(2024, 4, 2, 17, 0, 0, 999999, tzinfo=BERLIN),
    duration=60,
    timezone="Europe/Berlin",
    agenda="Numbers, then lunch.",
    password="a1@-_*",
    settings=MeetingSettings(
        host_video=True,
        participant_video=False,
        join_before_host=False,
        jbh_time=0,
        waiting_room=True,
        mute_upon_entry=True,
        approval_type=2,
        audio="both",
        auto_recording="none",
        email_notification=False,
        meeting_authentication=False,
    ),
)
FIRST = datetime(2024, 4, 1, 9, tzinfo=UTC)
REQUESTS = {
    "scheduled with settings": SCHEDULED,
    "instant": MeetingRequest(topic="Now", type=1),
    "default passcode": MeetingRequest(topic="t", type=2, start_time=FIRST, default_password=True),
    "daily, 10 times": MeetingRequest(
        topic="Stand-up",
        type=8,
        start_time=FIRST,
        duration=15,
        timezone="UTC",
        recurrence=Recurrence(type=1, repeat_interval=1, end_times=10),
    ),
    "every 90 days until a date": MeetingRequest(
        type=8,
        start_time=FIRST,
        recurrence=Recurrence(
            type=1, repeat_interval=90, end_date_time=datetime(2025, 4, 1, 9, tzinfo=BERLIN)
        ),
    ),
    "weekly on Monday and Wednesday until a date": MeetingRequest(
        topic="Sync",
        type=8,
        start_time=FIRST,
        duration=30,
        timezone="America/New_York",
        recurrence=Recurrence(
            type=2,
            repeat_interval=1,
            weekly_days="2,4",
            end_date_time=datetime(2024, 6, 30, 23, 59, 59, tzinfo=UTC),
        ),
    ),
    "fortnightly on Friday, 60 times": MeetingRequest(
        type=8,
        start_time=FIRST,
        recurrence=Recurrence(type=2, repeat_interval=2, weekly_days="6", end_times=60),
    ),
    "monthly on the 23rd": MeetingRequest(
        type=8,
        start_time=FIRST,
        recurrence=Recurrence(type=3, repeat_interval=1, monthly_day=23, end_times=12),
    ),
    "quarterly on the last Friday": MeetingRequest(
        type=8,
        start_time=FIRST,
        recurrence=Recurrence(
            type=3, repeat_interval=3, monthly_week=-1, monthly_week_day=6, end_times=4
        ),
    ),
    "recurring without fixed time": MeetingRequest(topic="Room", type=3),
    "patch: only the agenda": MeetingRequest(agenda="Moved to room 4."),
    "patch: reschedule": MeetingRequest(start_time=FIRST + timedelta(days=1), duration=45),
    "patch: settings only": MeetingRequest(settings=MeetingSettings(waiting_room=False)),
    "empty patch": MeetingRequest(),
}


@pytest.mark.parametrize("request_", REQUESTS.values(), ids=REQUESTS.keys())
def test_request_bodies_are_valid_for_create_and_update(request_: MeetingRequest) -> None:
    validate_request_body(*CREATE, request_.to_json())
    if request_.default_password is None:
        validate_request_body(*UPDATE, request_.to_json(for_update=True))


def test_default_password_is_create_only() -> None:
    request_ = REQUESTS["default passcode"]
    assert request_.to_json()["default_password"] is True
    with pytest.raises(ValueError, match="default_password"):
        request_.to_json(for_update=True)


def test_scheduled_body_is_exactly_what_zoom_expects() -> None:
    assert SCHEDULED.to_json() == {
        "topic": "Quarterly review",
        "type": 2,
        "start_time": "2024-04-02T15:00:00Z",  # 17:00 Berlin summer time, sub-seconds dropped
        "duration": 60,
        "timezone": "Europe/Berlin",
        "agenda": "Numbers, then lunch.",
        "password": "a1@-_*",
        "settings": {
            "host_video": True,
            "participant_video": False,
            "join_before_host": False,
            "jbh_time": 0,
            "waiting_room": True,
            "mute_upon_entry": True,
            "approval_type": 2,
            "audio": "both",
            "auto_recording": "none",
            "email_notification": False,
            "meeting_authentication": False,
        },
    }


def test_recurrence_end_date_is_sent_in_utc() -> None:
    body = REQUESTS["every 90 days until a date"].to_json()
    assert body["recurrence"] == {
        "type": 1,
        "repeat_interval": 90,
        "end_date_time": "2025-04-01T07:00:00Z",
    }


def test_settings_read_from_zoom_can_be_sent_back_without_read_only_fields() -> None:
    read = Meeting.from_json(create_meeting_response()).settings
    assert read is not None and read.global_dial_in_numbers
    body = MeetingRequest(settings=read).to_json(for_update=True)
    assert "global_dial_in_numbers" not in body["settings"]
    validate_request_body(*UPDATE, body)


def test_recurrence_round_trips() -> None:
    recurrence = REQUESTS["weekly on Monday and Wednesday until a date"].recurrence
    assert recurrence is not None
    assert Recurrence.from_json(recurrence.to_json()) == recurrence


def test_naive_start_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        MeetingRequest(topic="t", type=2, start_time=datetime(2024, 4, 2, 15))


def test_naive_recurrence_end_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Recurrence(type=1, end_date_time=datetime(2024, 4, 2, 15))


@pytest.mark.parametrize(
    "fields",
    [
        {"topic": "x" * 201},
        {"agenda": "x" * 2001},
        {"password": "12345678901"},
        {"password": "pass word"},
        {"password": "pässwort"},
        {"password": ""},
        {"type": 4},
        {"type": 10},
        {"duration": 0},
    ],
    ids=repr,
)
def test_request_guards(fields: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        MeetingRequest(**fields)


def test_request_limits_are_inclusive() -> None:
    body = MeetingRequest(topic="x" * 200, agenda="y" * 2000, password="Ab3@-_*xyz").to_json()
    validate_request_body(*CREATE, body)


@pytest.mark.parametrize(
    "recurrence",
    [
        Recurrence(type=4),
        Recurrence(type=1, repeat_interval=91),
        Recurrence(type=2, repeat_interval=13),
        Recurrence(type=3, repeat_interval=4),
        Recurrence(type=1, repeat_interval=0),
        Recurrence(type=2, weekly_days="8"),
        Recurrence(type=2, weekly_days="1,,2"),
        Recurrence(type=2, weekly_days="Monday"),
        Recurrence(type=3, monthly_day=32),
        Recurrence(type=3, monthly_week=0, monthly_week_day=1),
        Recurrence(type=3, monthly_week=1, monthly_week_day=8),
        Recurrence(type=1, end_times=61),
        Recurrence(type=1, end_times=0),
        Recurrence(type=1, end_times=2, end_date_time=FIRST),
    ],
    ids=repr,
)
def test_recurrence_guards(recurrence: Recurrence) -> None:
    with pytest.raises(ValueError):
        MeetingRequest(type=8, start_time=FIRST, recurrence=recurrence).to_json()


@pytest.mark.parametrize(
    "meeting_settings",
    [
        MeetingSettings(jbh_time=7),
        MeetingSettings(approval_type=3),
        MeetingSettings(audio="telepathy"),
        MeetingSettings(auto_recording="tape"),
    ],
    ids=repr,
)
def test_settings_guards(meeting_settings: MeetingSettings) -> None:
    with pytest.raises(ValueError):
        MeetingRequest(settings=meeting_settings).to_json()


# --- properties ----------------------------------------------------------------------------

aware = st.datetimes(
    min_value=datetime(1970, 1, 2),
    max_value=datetime(9999, 12, 30),
    timezones=st.sampled_from(
        [UTC, BERLIN, ZoneInfo("America/New_York"), timezone(timedelta(hours=5, minutes=45))]
    ),
)


@given(aware)
def test_render_time_is_the_same_instant_in_utc(moment: datetime) -> None:
    text = render_time(moment)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text)
    assert datetime.fromisoformat(text) == moment.astimezone(UTC).replace(microsecond=0)


@given(st.datetimes())
def test_render_time_refuses_every_naive_time(moment: datetime) -> None:
    with pytest.raises(ValueError):
        render_time(moment)


def _recurrences() -> st.SearchStrategy[Recurrence]:
    ends = st.one_of(
        st.tuples(st.integers(1, 60), st.none()),
        st.tuples(st.none(), aware),
        st.tuples(st.none(), st.none()),
    )

    def build(
        kind: int, end: tuple[int | None, datetime | None], data: st.DataObject
    ) -> Recurrence:
        interval = data.draw(st.none() | st.integers(1, {1: 90, 2: 12, 3: 3}[kind]))
        weekly = data.draw(st.lists(st.sampled_from("1234567"), min_size=1, max_size=7))
        by_week = data.draw(st.booleans())
        return Recurrence(
            type=kind,
            repeat_interval=interval,
            weekly_days=",".join(weekly) if kind == 2 else None,
            monthly_day=data.draw(st.integers(1, 31)) if kind == 3 and not by_week else None,
            monthly_week=data.draw(st.sampled_from([-1, 1, 2, 3, 4]))
            if kind == 3 and by_week
            else None,
            monthly_week_day=data.draw(st.integers(1, 7)) if kind == 3 and by_week else None,
            end_times=end[0],
            end_date_time=end[1],
        )

    return st.builds(build, st.sampled_from([1, 2, 3]), ends, st.data())


meeting_requests = st.builds(
    MeetingRequest,
    topic=st.none() | st.text(max_size=200),
    type=st.none() | st.sampled_from([1, 2, 3, 8]),
    start_time=st.none() | aware,
    duration=st.none() | st.integers(1, 24 * 60),
    timezone=st.none() | st.sampled_from(["UTC", "Europe/Berlin", "Asia/Kolkata"]),
    password=st.none() | st.from_regex(r"[A-Za-z0-9@\-_*]{1,10}", fullmatch=True),
    agenda=st.none() | st.text(max_size=2000),
    default_password=st.none() | st.booleans(),
    recurrence=st.none() | _recurrences(),
    settings=st.none()
    | st.builds(
        MeetingSettings,
        host_video=st.none() | st.booleans(),
        join_before_host=st.none() | st.booleans(),
        jbh_time=st.none() | st.sampled_from([0, 5, 10]),
        approval_type=st.none() | st.sampled_from([0, 1, 2]),
        audio=st.none() | st.sampled_from(["both", "telephony", "voip", "thirdParty"]),
        auto_recording=st.none() | st.sampled_from(["local", "cloud", "none"]),
        waiting_room=st.none() | st.booleans(),
    ),
)


@settings(max_examples=200, deadline=None)
@given(meeting_requests)
def test_every_valid_request_satisfies_the_spec(request_: MeetingRequest) -> None:
    body = request_.to_json()
    validate_request_body(*CREATE, body)
    assert None not in body.values()
    if request_.default_password is None:
        validate_request_body(*UPDATE, request_.to_json(for_update=True))
