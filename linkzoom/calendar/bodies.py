"""The JSON bodies of ``/api/v1/calendar/events/{event_key}/zoom``, as typed models.

The event's types are checked here; what they mean (zones, offsets, recurrence rules, an end
after the start) in :mod:`linkzoom.calendar.json_input`, which reports every bad field at once.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta

from linkzoom.calendar.event import MAX_EDITS
from linkzoom.http.typed_body import Answer, Body, Instant
from linkzoom.zoom.bodies import InvitationText

MAX_EVENT_KEY = 512
# An event with its overrides and time zones is a few kilobytes; far more is a mistake.
MAX_CALENDAR_BYTES = 256 * 1024
MAX_SUBJECT = 10_000
MAX_RULE_TEXT = 2_000
MAX_MOMENT = 64

MOMENT_MESSAGE = "must be an ISO 8601 date-time with an offset"
ZONE_REQUIRED = "is required: an IANA name such as Europe/Berlin"
RULE_MESSAGE = "must be an RRULE value such as FREQ=WEEKLY;BYDAY=MO;COUNT=10"
EXDATES_MESSAGE = f"must be a list of at most {MAX_EDITS} ISO 8601 instants"

_Moment = Annotated[
    str,
    Meta(
        max_length=MAX_MOMENT,
        description="ISO 8601 with an offset (a date for all-day events).",
        examples=["2030-05-06T14:00:00+02:00"],
    ),
]


class EventBody(Body, frozen=True):
    """``PUT …/zoom`` as JSON: the event whose Zoom meeting linkzoom keeps in step."""

    MESSAGES: ClassVar[dict[str, str]] = {
        "timezone": ZONE_REQUIRED,
        "start": MOMENT_MESSAGE,
        "end": MOMENT_MESSAGE,
        "recurrence": RULE_MESSAGE,
        "exdates": EXDATES_MESSAGE,
    }
    # Absent, these are refused by json_input with messages of their own ("is required: …").
    SCHEMA_REQUIRED: ClassVar[tuple[str, ...]] = ("start", "timezone")

    subject: Annotated[str, Meta(max_length=MAX_SUBJECT)] | None = None
    start: _Moment | None = None
    end: Annotated[_Moment, Meta(description="Required unless all_day; after start.")] | None = None
    timezone: (
        Annotated[str, Meta(description="An IANA name; a Windows name as Exchange sends it.")]
        | None
    ) = None
    recurrence: (
        Annotated[
            str,
            Meta(
                max_length=MAX_RULE_TEXT,
                description="RFC 5545 RRULE value(s), one a line; an RRULE: prefix is tolerated.",
                examples=["FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10"],
            ),
        ]
        | None
    ) = None
    exdates: (
        Annotated[
            # Any, not str: json_input names a bad item itself (``exdates.3``), as before.
            list[
                Annotated[
                    Any,
                    Meta(
                        description="An ISO 8601 instant (or date).",
                        extra_json_schema={"type": "string", "maxLength": MAX_MOMENT},
                    ),
                ]
            ],
            Meta(max_length=MAX_EDITS, description="Cancelled occurrences."),
        ]
        | None
    ) = None
    all_day: bool = False


class RecurrenceWindow(Answer, frozen=True):
    """Which occurrences of a long series Zoom holds now, and when that moves on."""

    from_: Instant | None = msgspec.field(default=None, name="from")
    through: Instant | None = None
    moves_on_at: Instant | None = None


class BindingAnswer(Answer, frozen=True):
    """The answer of all three calls: the meeting's state and its join details."""

    event_key: str
    status: Literal["synced", "pending", "failed", "deleting"]
    last_error: str | None
    link_changed: bool
    zoom_meeting_id: int | None
    join_url: str | None
    passcode: str | None
    location: str | None
    invitation: InvitationText | None
    topic: str
    start_time: Instant | None
    duration_minutes: int
    timezone: str
    recurrence_mapping: Literal["exact", "window", "no-fixed-time"] | None
    recurrence_reason: str | None
    recurrence_window: RecurrenceWindow | None
