"""Values of the compose capability: what the user asked for, what Zoom is asked, what comes back.

All frozen and keyword-only; times are aware (UTC) and time zones are IANA names.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linkzoom.zoom.invitation import Invitation
from linkzoom.zoom.models import MeetingRequest, MeetingSettings


@dataclass(frozen=True, kw_only=True)
class ComposeOrder:
    """``POST /api/v1/compose/meetings`` as parsed: every field optional, already validated."""

    topic: str | None = None
    duration_minutes: int | None = None
    timezone: str | None = None


@dataclass(frozen=True, kw_only=True)
class MeetingPlan:
    """The meeting we ask Zoom for: the order filled in from the profile and the defaults."""

    topic: str
    start_time: datetime
    duration_minutes: int
    timezone: str
    passcode: str | None
    join_before_host: bool
    waiting_room: bool
    mute_upon_entry: bool

    def zoom_request(self) -> MeetingRequest:
        """A scheduled meeting (type 2). ``jbh_time=0`` lets recipients in at any time."""
        return MeetingRequest(
            topic=self.topic,
            type=2,
            start_time=self.start_time,
            duration=self.duration_minutes,
            timezone=self.timezone,
            password=self.passcode,
            settings=MeetingSettings(
                join_before_host=self.join_before_host,
                jbh_time=0 if self.join_before_host else None,
                waiting_room=self.waiting_room,
                mute_upon_entry=self.mute_upon_entry,
            ),
        )


@dataclass(frozen=True, kw_only=True)
class ComposedMeeting:
    """The answer to a compose: the meeting as created, with its invitation."""

    id: str
    zoom_meeting_id: int
    join_url: str
    passcode: str | None
    start_time: datetime
    duration_minutes: int
    timezone: str
    invitation: Invitation


@dataclass(frozen=True, kw_only=True)
class SentMeeting:
    """The answer to ``…/sent``: where the meeting now starts, and whether that moved it."""

    id: str
    zoom_meeting_id: int
    join_url: str
    start_time: datetime
    duration_minutes: int
    timezone: str
    sent_at: datetime
    moved: bool


@dataclass(frozen=True, kw_only=True)
class SentPlan:
    """What a ``sent`` call does: ``move_to`` is the new start (``None``: leave it)."""

    move_to: datetime | None
    sent_at: datetime


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """A create whose answer never arrived: what was sent, to recognise the meeting at Zoom."""

    id: str
    user_id: int
    topic: str
    start_time: datetime
    attempted_at: datetime


@dataclass(frozen=True, kw_only=True)
class Keyed:
    """A create's ``Idempotency-Key`` (as its SHA-256) and the digest of its request."""

    key_hash: bytes
    request_digest: bytes
