"""Request bodies of the compose API, checked field by field (pure; 422 with field errors)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from linkzoom.compose.meeting_plan import is_time_zone
from linkzoom.compose.models import ComposeOrder
from linkzoom.problems import FieldError, ValidationFailed

MAX_DURATION_MINUTES = 1440
# A topic is cut to Zoom's 200 characters, not refused; this only bounds the work.
MAX_TOPIC_INPUT = 10_000
# A send can be scheduled ("send later"), and an outbox can hold a message for a while.
SENT_AT_PAST = timedelta(days=1)
SENT_AT_FUTURE = timedelta(days=366)


def compose_order(data: Mapping[str, Any]) -> ComposeOrder:
    """``{topic?, duration_minutes?, timezone?}``; ``null`` means absent, like a missing key."""
    errors: list[FieldError] = []
    topic = data.get("topic")
    if topic is not None and not isinstance(topic, str):
        errors.append(FieldError(field="topic", message="must be a string"))
    elif topic is not None and len(topic) > MAX_TOPIC_INPUT:
        errors.append(
            FieldError(field="topic", message=f"must be at most {MAX_TOPIC_INPUT} characters")
        )
    duration = data.get("duration_minutes")
    if duration is not None and (
        isinstance(duration, bool)
        or not isinstance(duration, int)
        or not 1 <= duration <= MAX_DURATION_MINUTES
    ):
        errors.append(
            FieldError(
                field="duration_minutes",
                message=f"must be a whole number of minutes from 1 to {MAX_DURATION_MINUTES}",
            )
        )
    timezone = data.get("timezone")
    if timezone is not None and (not isinstance(timezone, str) or not is_time_zone(timezone)):
        errors.append(
            FieldError(
                field="timezone", message="must be an IANA time zone name such as Europe/Berlin"
            )
        )
    if errors:
        raise ValidationFailed(errors)
    return ComposeOrder(topic=topic, duration_minutes=duration, timezone=timezone)


def sent_at(data: Mapping[str, Any], *, now: datetime) -> datetime | None:
    """``{sent_at?}``: an ISO 8601 instant with an offset, from a day ago to a year ahead."""
    value = data.get("sent_at")
    if value is None:
        return None
    moment = _instant(value)
    if moment is None:
        raise ValidationFailed.one(
            "sent_at", "must be an ISO 8601 date-time with an offset, e.g. 2026-03-08T09:30:00Z"
        )
    if not now - SENT_AT_PAST <= moment <= now + SENT_AT_FUTURE:
        raise ValidationFailed.one("sent_at", "must be within a day before and a year after now")
    return moment


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # A time without an offset names no instant; guessing a zone is how meetings go astray.
    return moment if moment.utcoffset() is not None else None
