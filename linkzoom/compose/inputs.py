"""What the compose API's bodies mean, past their types (:mod:`.bodies`): pure; 422 by field."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from linkzoom.compose.bodies import SENT_AT_MESSAGE, TIMEZONE_MESSAGE, ComposeBody, SentBody
from linkzoom.compose.meeting_plan import is_time_zone
from linkzoom.compose.models import ComposeOrder
from linkzoom.http.typed_body import convert_model
from linkzoom.problems import ValidationFailed

# A send can be scheduled ("send later"), and an outbox can hold a message for a while.
SENT_AT_PAST = timedelta(days=1)
SENT_AT_FUTURE = timedelta(days=366)


def order_of(body: ComposeBody) -> ComposeOrder:
    """The order a typed body asks for; the zone must be one this machine knows."""
    if body.timezone is not None and not is_time_zone(body.timezone):
        raise ValidationFailed.one("timezone", TIMEZONE_MESSAGE)
    return ComposeOrder(
        topic=body.topic, duration_minutes=body.duration_minutes, timezone=body.timezone
    )


def compose_order(data: Mapping[str, Any]) -> ComposeOrder:
    """``{topic?, duration_minutes?, timezone?}`` already parsed from JSON."""
    return convert_model(dict(data), ComposeBody, order_of)


def sent_at_of(body: SentBody, *, now: datetime) -> datetime | None:
    """An ISO 8601 instant with an offset, from a day ago to a year ahead."""
    if body.sent_at is None:
        return None
    moment = _instant(body.sent_at)
    if moment is None:
        raise ValidationFailed.one("sent_at", SENT_AT_MESSAGE)
    if not now - SENT_AT_PAST <= moment <= now + SENT_AT_FUTURE:
        raise ValidationFailed.one("sent_at", "must be within a day before and a year after now")
    return moment


def sent_at(data: Mapping[str, Any], *, now: datetime) -> datetime | None:
    """``{sent_at?}`` already parsed from JSON."""
    return convert_model(dict(data), SentBody, lambda body: sent_at_of(body, now=now))


def _instant(value: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    # A time without an offset names no instant; guessing a zone is how meetings go astray.
    return moment if moment.utcoffset() is not None else None
