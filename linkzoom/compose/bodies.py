"""The JSON bodies of the compose API (``/api/v1/compose/meetings``), as typed models.

Requests are checked by type here and by meaning in :mod:`linkzoom.compose.inputs`; the
answers are what the routes send. The OpenAPI document is generated from these classes.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from msgspec import Meta

from linkzoom.http.typed_body import Answer, Body, Instant
from linkzoom.zoom.bodies import InvitationText

MAX_DURATION_MINUTES = 1440
# A topic is cut to Zoom's 200 characters, not refused; this only bounds the work.
MAX_TOPIC_INPUT = 10_000
MAX_INSTANT = 64

DURATION_MESSAGE = f"must be a whole number of minutes from 1 to {MAX_DURATION_MINUTES}"
TIMEZONE_MESSAGE = "must be an IANA time zone name such as Europe/Berlin"
SENT_AT_MESSAGE = "must be an ISO 8601 date-time with an offset, e.g. 2026-03-08T09:30:00Z"


class ComposeBody(Body, frozen=True):
    """``POST /api/v1/compose/meetings``: every member optional; ``null`` is as absent."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "duration_minutes": DURATION_MESSAGE,
        "timezone": TIMEZONE_MESSAGE,
    }

    topic: Annotated[str, Meta(max_length=MAX_TOPIC_INPUT)] | None = None
    duration_minutes: Annotated[int, Meta(ge=1, le=MAX_DURATION_MINUTES)] | None = None
    timezone: Annotated[str, Meta(description="An IANA time zone name.")] | None = None


class SentBody(Body, frozen=True):
    """``POST …/{meeting_id}/sent``: when the message went out (default: now)."""

    MESSAGES: ClassVar[dict[str, str]] = {"sent_at": SENT_AT_MESSAGE}

    sent_at: (
        Annotated[
            str,
            Meta(
                max_length=MAX_INSTANT,
                description="ISO 8601 with an offset; a day before to a year after now.",
                extra_json_schema={"format": "date-time"},
            ),
        ]
        | None
    ) = None


class ComposedAnswer(Answer, frozen=True):
    """``201`` of a compose: the meeting as created, with its invitation."""

    id: str
    zoom_meeting_id: int
    join_url: str
    passcode: str | None
    start_time: Instant
    duration_minutes: int
    timezone: str
    invitation: InvitationText


class SentAnswer(Answer, frozen=True):
    """``200`` of ``…/sent``: where the meeting now starts, and whether that moved it."""

    id: str
    zoom_meeting_id: int
    join_url: str
    start_time: Instant
    duration_minutes: int
    timezone: str
    sent_at: Instant
    moved: bool
