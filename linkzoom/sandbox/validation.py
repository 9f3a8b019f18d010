"""Parsing and validating meeting create/update bodies the way Zoom does (pure).

The result is a :class:`MeetingInput` holding only the fields the caller sent, already typed;
every problem is collected and reported at once as Zoom's
``400 {"code":300,"message":"Validation Failed.","errors":[{field, message}]}``. Unknown fields
are ignored, as Zoom ignores them.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from linkzoom.zoom.text import utf16_length

from .errors import bad_json, validation_failed
from .recurrence import MAX_END_TIMES, MAX_REPEAT_INTERVAL, MONTHLY, WEEKLY, Recurrence

MEETING_TYPES = frozenset({1, 2, 3, 8})
_PASSWORD = re.compile(r"^[A-Za-z0-9@\-_*]{1,10}$")
_WEEKLY_DAYS = re.compile(r"^[1-7](,[1-7])*$")
_SETTING_ENUMS: dict[str, frozenset[object]] = {
    "jbh_time": frozenset({0, 5, 10}),
    "approval_type": frozenset({0, 1, 2}),
    "registration_type": frozenset({1, 2, 3}),
    "audio": frozenset({"both", "telephony", "voip", "thirdParty"}),
    "auto_recording": frozenset({"local", "cloud", "none"}),
    "encryption_type": frozenset({"enhanced_encryption", "e2ee"}),
    "calendar_type": frozenset({1, 2}),
}
_SETTING_BOOLS = frozenset(
    {
        "host_video", "participant_video", "join_before_host", "mute_upon_entry", "watermark",
        "use_pmi", "waiting_room", "email_notification", "meeting_authentication",
        "private_meeting", "internal_meeting", "push_change_to_calendar", "focus_mode",
        "registrants_email_notification", "registrants_confirmation_email",
        "alternative_hosts_email_notification", "close_registration", "allow_multiple_devices",
    }
)  # fmt: skip


@dataclass(frozen=True, kw_only=True)
class StartTime:
    """A requested start: an aware instant (``…Z``), or a wall time in the meeting's zone."""

    instant: datetime | None = None
    wall: datetime | None = None

    def resolve(self, zone: ZoneInfo) -> datetime:
        if self.instant is not None:
            return self.instant
        assert self.wall is not None
        return self.wall.replace(tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True, kw_only=True)
class MeetingInput:
    """The fields a create or update body carried; ``sent`` names them."""

    sent: frozenset[str]
    topic: str | None = None
    type: int | None = None
    start: StartTime | None = None
    duration: int | None = None
    timezone: str | None = None
    agenda: str | None = None
    password: str | None = None
    settings: dict[str, Any] | None = None
    recurrence: Recurrence | None = None
    tracking_fields: list[dict[str, Any]] | None = None
    pre_schedule: bool | None = None
    schedule_for: str | None = None


def decode_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in a request body, or Zoom's 300 "valid JSON object" error."""
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise bad_json() from None
    if not isinstance(body, dict):
        raise bad_json()
    return body


def zone_or_none(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_meeting_input(body: dict[str, Any]) -> MeetingInput:
    """Validate a create/update body; raises the 300 ``ApiError`` listing every bad field."""
    fail = _Problems()
    values: dict[str, Any] = {}
    if "topic" in body:
        values["topic"] = _text(body["topic"], "topic", 200, fail)
    if "agenda" in body:
        values["agenda"] = _text(body["agenda"], "agenda", 2000, fail)
    if "type" in body:
        if not _is_int(body["type"]) or body["type"] not in MEETING_TYPES:
            fail("type", "Invalid field: must be one of 1, 2, 3, 8.")
        values["type"] = body["type"]
    if "duration" in body:
        if not _is_int(body["duration"]) or body["duration"] < 0:
            fail("duration", "Invalid field: must be a non-negative integer.")
        values["duration"] = body["duration"]
    if body.get("timezone") not in (None, ""):
        if not isinstance(body["timezone"], str) or zone_or_none(body["timezone"]) is None:
            fail("timezone", f"Invalid timezone: {body['timezone']}.")
        values["timezone"] = body["timezone"]
    if body.get("start_time") not in (None, ""):
        values["start"] = _start_time(body["start_time"], fail)
    if body.get("password") not in (None, ""):
        password = body["password"]
        if not isinstance(password, str) or not _PASSWORD.match(password):
            fail("password", "Passcode may only contain a-z A-Z 0-9 @ - _ * and max 10 chars.")
        values["password"] = password
    if "settings" in body:
        values["settings"] = _settings(body["settings"], fail)
    if body.get("recurrence") is not None:
        values["recurrence"] = _recurrence(body["recurrence"], fail)
    if "tracking_fields" in body:
        tracking = body["tracking_fields"]
        if not isinstance(tracking, list) or not all(
            isinstance(t, dict) and isinstance(t.get("field"), str) for t in tracking
        ):
            fail("tracking_fields", "Invalid field: expected [{field, value}].")
        values["tracking_fields"] = tracking
    for flag in ("pre_schedule", "default_password"):
        if flag in body and not isinstance(body[flag], bool):
            fail(flag, "Invalid field: must be a boolean.")
    if "pre_schedule" in body:
        values["pre_schedule"] = body["pre_schedule"]
    if body.get("schedule_for") not in (None, ""):
        values["schedule_for"] = str(body["schedule_for"])
    if fail.errors:
        raise validation_failed(fail.errors)
    return MeetingInput(sent=frozenset(values), **values)


class _Problems:
    """Collects field problems; called like a function to add one."""

    def __init__(self) -> None:
        self.errors: list[dict[str, str]] = []

    def __call__(self, field: str, message: str) -> None:
        self.errors.append({"field": field, "message": message})


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _text(value: object, field: str, limit: int, fail: _Problems) -> str:
    if not isinstance(value, str):
        fail(field, "Invalid field: must be a string.")
        return ""
    if utf16_length(value) > limit:  # Zoom (a Java service) counts UTF-16 units
        fail(field, f"Invalid field: must be at most {limit} characters.")
    return value


def _start_time(value: object, fail: _Problems) -> StartTime | None:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            parsed = None
        if parsed is not None:
            if parsed.tzinfo is None:
                return StartTime(wall=parsed.replace(microsecond=0))
            return StartTime(instant=parsed.astimezone(UTC).replace(microsecond=0))
    fail("start_time", "Invalid field: use yyyy-MM-ddTHH:mm:ssZ or yyyy-MM-ddTHH:mm:ss.")
    return None


def _settings(value: object, fail: _Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        fail("settings", "Invalid field: must be an object.")
        return {}
    for key, allowed in _SETTING_ENUMS.items():
        if key in value and value[key] not in allowed:
            fail(f"settings.{key}", f"Invalid field: must be one of {sorted(map(str, allowed))}.")
    for key in _SETTING_BOOLS & value.keys():
        if not isinstance(value[key], bool):
            fail(f"settings.{key}", "Invalid field: must be a boolean.")
    return dict(value)


def _recurrence(value: object, fail: _Problems) -> Recurrence | None:
    if not isinstance(value, dict):
        fail("recurrence", "Invalid field: must be an object.")
        return None
    kind = value.get("type")
    if not _is_int(kind) or kind not in MAX_REPEAT_INTERVAL:
        fail("recurrence.type", "Invalid field: must be 1 (daily), 2 (weekly) or 3 (monthly).")
        return None
    before = len(fail.errors)
    interval = value.get("repeat_interval", 1)
    if not _is_int(interval) or not 1 <= interval <= MAX_REPEAT_INTERVAL[kind]:
        limit = MAX_REPEAT_INTERVAL[kind]
        fail("recurrence.repeat_interval", f"Invalid field: must be between 1 and {limit}.")
    days: tuple[int, ...] = ()
    if kind == WEEKLY:
        raw_days = value.get("weekly_days")
        if not isinstance(raw_days, str) or not _WEEKLY_DAYS.match(raw_days.replace(" ", "")):
            fail("recurrence.weekly_days", 'Invalid field: use "1" (Sunday) … "7" (Saturday).')
        else:
            days = tuple(int(d) for d in raw_days.replace(" ", "").split(","))
    monthly_day, week, week_day = None, None, None
    if kind == MONTHLY:
        week, week_day = value.get("monthly_week"), value.get("monthly_week_day")
        if week is not None or week_day is not None:
            if week not in (-1, 1, 2, 3, 4) or not _is_int(week):
                fail("recurrence.monthly_week", "Invalid field: must be -1, 1, 2, 3 or 4.")
            if week_day not in range(1, 8) or not _is_int(week_day):
                fail("recurrence.monthly_week_day", "Invalid field: must be 1 … 7.")
        else:
            monthly_day = value.get("monthly_day", 1)
            if not _is_int(monthly_day) or not 1 <= monthly_day <= 31:
                fail("recurrence.monthly_day", "Invalid field: must be 1 … 31.")
    end_times, end_date_time = value.get("end_times"), None
    if end_times is not None and value.get("end_date_time") is not None:
        fail("recurrence.end_times", "Cannot be used together with end_date_time.")
    if end_times is not None and (not _is_int(end_times) or not 1 <= end_times <= MAX_END_TIMES):
        fail("recurrence.end_times", f"Invalid field: must be between 1 and {MAX_END_TIMES}.")
    if value.get("end_date_time") is not None:
        end_date_time = _end_date_time(value["end_date_time"], fail)
    if len(fail.errors) != before:
        return None
    return Recurrence(
        type=kind,
        repeat_interval=interval,
        weekly_days=days,
        monthly_day=monthly_day,
        monthly_week=week,
        monthly_week_day=week_day,
        end_times=None if end_date_time is not None else (end_times or 1),
        end_date_time=end_date_time,
    )


def _end_date_time(value: object, fail: _Problems) -> datetime | None:
    start = _start_time(value, _Problems())
    if start is None or start.instant is None:
        fail("recurrence.end_date_time", "Invalid field: must be UTC, e.g. 2017-11-25T12:00:00Z.")
        return None
    return start.instant
