"""Meetings and their occurrences: Zoom's meeting store, without HTTP.

Lookups are by id (a dict) and listings walk only the host's own meetings, so no hot path scans
every meeting. Every method is synchronous: a create, update or delete is one uninterrupted
read-modify-write in the asyncio process.

Update rules worth knowing (SPEC23 PATCH): a recurring meeting (type 8) ignores a ``start_time``
in the past; changing its recurrence, start or time zone regenerates the occurrences (dropping
per-occurrence edits); with ``occurrence_id`` only start, duration, agenda and a few settings
change, and only for that occurrence.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from . import ids
from .clock import epoch_ms, zoom_time
from .defaults import OCCURRENCE_SETTINGS, default_settings, merge_settings
from .errors import ApiError, invalid_occurrence, meeting_not_found, validation_failed
from .records import Meeting, Occurrence, User
from .recurrence import Recurrence, expand
from .validation import MeetingInput, zone_or_none
from .wire import snapshot

LIST_TYPES = frozenset({"scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"})
PAGE_TOKEN_LIFETIME = timedelta(minutes=15)


@dataclass(frozen=True, kw_only=True)
class Change:
    """What an update changed, as wire values: ``meeting.updated``'s object and old_object."""

    new: dict[str, Any]
    old: dict[str, Any]
    occurrence_ids: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Page:
    meetings: list[Meeting]
    total_records: int
    next_page_token: str


@dataclass(kw_only=True)
class _Cursor:
    host_id: str
    list_type: str
    after_seq: int
    expires_at: datetime


class MeetingBook:
    """All meetings of all sandbox users; see the module docstring."""

    def __init__(self) -> None:
        self.meetings: dict[int, Meeting] = {}
        self.by_host: dict[str, dict[int, Meeting]] = {}
        self.next_seq = 1
        self._cursors: dict[str, _Cursor] = {}

    def add(self, meeting: Meeting) -> None:
        """Index an existing record (creation, or loading the state file)."""
        self.meetings[meeting.id] = meeting
        if not meeting.deleted:
            self.by_host.setdefault(meeting.host_id, {})[meeting.id] = meeting
        self.next_seq = max(self.next_seq, meeting.seq + 1)

    def create(self, *, host: User, data: MeetingInput, now: datetime) -> Meeting:
        if data.schedule_for is not None and data.schedule_for.lower() not in (
            host.email,
            host.id.lower(),
        ):
            raise validation_failed([{"field": "schedule_for", "message": "Invalid user."}])
        kind = data.type if data.type is not None else 2
        timezone = data.timezone or host.timezone
        zone = _zone(timezone)
        meeting_id = ids.meeting_number()
        while meeting_id in self.meetings:
            meeting_id = ids.meeting_number()
        password = data.password or ids.passcode()
        numeric = _numeric_twin(password)
        meeting = Meeting(
            id=meeting_id,
            uuid=ids.meeting_uuid(),
            host_id=host.id,
            topic=data.topic if data.topic is not None else "Zoom Meeting",
            type=kind,
            start_time=None,
            duration=data.duration if data.duration is not None else 60,
            timezone=timezone,
            agenda=data.agenda or "",
            created_at=now.replace(microsecond=0),
            password=password,
            h323_password=numeric,
            pstn_password=numeric,
            encrypted_password=ids.short_secret(),
            start_zak=ids.token("sbxzak_"),
            settings=merge_settings(default_settings(), data.settings or {}),
            recurrence=data.recurrence.to_json() if data.recurrence else None,
            pre_schedule=bool(data.pre_schedule),
            tracking_fields=list(data.tracking_fields or []),
            seq=self.next_seq,
        )
        if kind in (2, 8):
            start = data.start.resolve(zone) if data.start else now
            meeting.start_time = start.replace(microsecond=0)
        if kind == 8:
            if data.recurrence is None:
                raise _needs_recurrence()
            self._regenerate(meeting)
        self.add(meeting)
        return meeting

    def find(self, meeting_id: str | int, *, host_id: str) -> Meeting:
        """The host's live meeting, or Zoom's 404/3001 (also for another user's meeting)."""
        try:
            number = int(meeting_id)
        except ValueError:
            raise meeting_not_found(meeting_id) from None
        meeting = self.meetings.get(number)
        if meeting is None or meeting.deleted or meeting.host_id != host_id:
            raise meeting_not_found(meeting_id)
        return meeting

    def occurrence(self, meeting: Meeting, occurrence_id: str) -> Occurrence:
        occ = meeting.occurrences.get(occurrence_id)
        if occ is None or occ.deleted:
            raise invalid_occurrence()
        return occ

    def update(self, meeting: Meeting, data: MeetingInput, *, now: datetime) -> Change:
        """Apply a partial update (PATCH without ``occurrence_id``)."""
        before = snapshot(meeting)
        kind = data.type if data.type is not None else meeting.type
        if kind == 8 and data.recurrence is None and meeting.recurrence is None:
            raise _needs_recurrence()
        timezone = data.timezone or meeting.timezone
        start = meeting.start_time
        if data.start is not None:
            requested = data.start.resolve(_zone(timezone)).replace(microsecond=0)
            # SPEC23: a past start_time is ignored and recurring meetings stay as they are.
            if kind != 8 or requested >= now:
                start = requested
        if kind in (2, 8) and start is None:
            start = now.replace(microsecond=0)
        if kind not in (2, 8):
            start = None
        old_duration = meeting.duration
        meeting.type, meeting.timezone, meeting.start_time = kind, timezone, start
        if data.topic is not None:
            meeting.topic = data.topic
        if data.agenda is not None:
            meeting.agenda = data.agenda
        if data.duration is not None:
            meeting.duration = data.duration
        if data.password is not None and data.password != meeting.password:
            meeting.password = data.password
            meeting.h323_password = meeting.pstn_password = _numeric_twin(data.password)
            meeting.encrypted_password = ids.short_secret()
        if data.settings is not None:
            meeting.settings = merge_settings(meeting.settings, data.settings)
        if data.tracking_fields is not None:
            meeting.tracking_fields = list(data.tracking_fields)
        if data.pre_schedule is not None:
            meeting.pre_schedule = data.pre_schedule
        if data.recurrence is not None:
            meeting.recurrence = data.recurrence.to_json()
        if kind == 8:
            regenerate = before["type"] != 8 or data.recurrence is not None
            regenerate = regenerate or start != meeting_start(before) or "timezone" in data.sent
            if regenerate:
                self._regenerate(meeting)
            elif meeting.duration != old_duration:
                for occ in meeting.occurrences.values():
                    if occ.duration == old_duration:
                        occ.duration = meeting.duration
        else:
            meeting.occurrences = {}
        return _diff(before, snapshot(meeting))

    def update_occurrence(self, meeting: Meeting, occurrence_id: str, data: MeetingInput) -> Change:
        """PATCH ``?occurrence_id=``: only start, duration, agenda and some settings."""
        occ = self.occurrence(meeting, occurrence_id)
        old_item = _occurrence_item(occ.occurrence_id, occ.start_time, occ.duration)
        if data.start is not None:
            occ.start_time = data.start.resolve(_zone(meeting.timezone)).replace(microsecond=0)
        if data.duration is not None:
            occ.duration = data.duration
        if data.agenda is not None:
            occ.agenda = data.agenda
        if data.settings is not None:
            allowed = {k: v for k, v in data.settings.items() if k in OCCURRENCE_SETTINGS}
            occ.settings.update(allowed)
        new_item = _occurrence_item(occ.occurrence_id, occ.start_time, occ.duration)
        return Change(
            new={"occurrences": [new_item]},
            old={"occurrences": [old_item]},
            occurrence_ids=(occurrence_id,),
        )

    def delete(self, meeting: Meeting) -> None:
        meeting.deleted = True
        self.by_host.get(meeting.host_id, {}).pop(meeting.id, None)

    def delete_occurrence(self, meeting: Meeting, occurrence_id: str) -> Occurrence:
        occ = self.occurrence(meeting, occurrence_id)
        occ.deleted = True
        return occ

    def list_page(
        self,
        host_id: str,
        *,
        list_type: str,
        page_size: int,
        page_token: str | None,
        now: datetime,
    ) -> Page:
        """One page of the host's meetings in creation order; the token is opaque and expires."""
        after = 0
        if page_token:
            cursor = self._cursors.get(page_token)
            if cursor is None or cursor.expires_at <= now or cursor.host_id != host_id:
                raise ApiError(400, 300, "Invalid next_page_token.")
            after, list_type = cursor.after_seq, cursor.list_type
        matching = [m for m in self.by_host.get(host_id, {}).values() if _listed(m, list_type, now)]
        remaining = [m for m in matching if m.seq > after]
        page = remaining[:page_size]
        token = ""
        if len(remaining) > page_size:
            token = secrets.token_urlsafe(24)
            self._prune_cursors(now)
            self._cursors[token] = _Cursor(
                host_id=host_id,
                list_type=list_type,
                after_seq=page[-1].seq,
                expires_at=now + PAGE_TOKEN_LIFETIME,
            )
        return Page(meetings=page, total_records=len(matching), next_page_token=token)

    def _prune_cursors(self, now: datetime) -> None:
        if len(self._cursors) > 1000:
            for key in [k for k, c in self._cursors.items() if c.expires_at <= now]:
                del self._cursors[key]

    @staticmethod
    def _regenerate(meeting: Meeting) -> None:
        assert meeting.recurrence is not None and meeting.start_time is not None
        recurrence = Recurrence.from_json(meeting.recurrence)
        starts = expand(recurrence, start=meeting.start_time, zone=_zone(meeting.timezone))
        meeting.occurrences = {
            str(epoch_ms(s)): Occurrence(
                occurrence_id=str(epoch_ms(s)), start_time=s, duration=meeting.duration
            )
            for s in starts
        }
        if starts:
            # Zoom moves the series start to its first real occurrence.
            meeting.start_time = starts[0]


def meeting_start(view: dict[str, Any]) -> datetime | None:
    text = view.get("start_time")
    if not text:
        return None
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def _listed(meeting: Meeting, list_type: str, now: datetime) -> bool:
    if meeting.type == 1 or list_type == "live":
        # Instant meetings are never listed; nothing in the sandbox is ever live.
        return False
    if list_type == "scheduled":
        return True
    ends = [o.start_time + timedelta(minutes=o.duration) for o in meeting.occurrences.values()]
    if meeting.start_time is not None and meeting.type == 2:
        ends.append(meeting.start_time + timedelta(minutes=meeting.duration))
    if list_type == "previous_meetings":
        return bool(ends) and max(ends) < now
    return meeting.type == 3 or any(end >= now for end in ends)


def _diff(before: dict[str, Any], after: dict[str, Any]) -> Change:
    changed = [key for key in after if after[key] != before[key]]
    return Change(
        new={key: after[key] for key in changed}, old={key: before[key] for key in changed}
    )


def _occurrence_item(occurrence_id: str, start: datetime, duration: int) -> dict[str, Any]:
    return {
        "occurrence_id": occurrence_id,
        "start_time": zoom_time(start),
        "duration": duration,
    }


def _zone(name: str) -> ZoneInfo:
    zone = zone_or_none(name)
    return zone if zone is not None else ZoneInfo("UTC")


def _numeric_twin(password: str) -> str:
    """Zoom's H.323/PSTN passcode: the passcode itself when numeric, else other digits."""
    return password if password.isdigit() else ids.numeric_passcode(max(len(password), 6))


def _needs_recurrence() -> ApiError:
    return validation_failed(
        [{"field": "recurrence", "message": "Recurrence is required for meeting type 8."}]
    )
