"""Zoom's ``meeting.deleted`` and ``meeting.updated`` for meetings that mirror calendar events.

Handlers must answer Zoom within its 3-second budget, so they only note what happened on the
binding and make it due; the reconciler calls Zoom. A deleted meeting whose event still wants
one is made again (the binding is flagged ``link_changed`` so the add-in refreshes the link). A
changed meeting is fetched and the calendar's state applied again: the calendar wins. Zoom also
reports the changes we make ourselves; an update whose calendar fields all equal what we last
confirmed is that echo, and is ignored. Meetings we do not mirror are ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.calendar import store
from linkzoom.calendar.models import DELETING, PENDING, Confirmed
from linkzoom.runtime import Runtime
from linkzoom.zoom.webhooks import Handler

# Fields of a meeting.updated ``object`` that are not the calendar's business.
_NOT_CALENDAR = frozenset(
    {"id", "uuid", "host_id", "agenda", "settings", "join_url", "tracking_fields"}
)


def register(runtime: Runtime) -> None:
    runtime.webhooks.on("meeting.deleted", _handler(runtime, deleted=True))
    runtime.webhooks.on("meeting.updated", _handler(runtime, deleted=False))


def _handler(runtime: Runtime, *, deleted: bool) -> Handler:
    async def handle(session: AsyncSession, payload: Mapping[str, Any]) -> None:
        meeting = payload.get("object")
        if not isinstance(meeting, Mapping):
            return
        meeting_id = meeting_id_of(meeting.get("id"))
        host = meeting.get("host_id")
        if meeting_id is None:
            return
        now = runtime.clock()
        bindings = await store.by_meeting(
            session,
            zoom_meeting_id=meeting_id,
            zoom_user_id=host if isinstance(host, str) else None,
        )
        for binding in bindings:
            whole = deleted and not meeting.get("occurrences")
            if not deleted and is_echo(meeting, payload, binding.confirmed):
                continue
            note: dict[str, Any] = (
                {"zoom_deleted_meeting_id": meeting_id} if whole else {"zoom_changed_at": now}
            )
            status = DELETING if binding.desired.deleted else PENDING
            await store.signal(session, binding_id=binding.id, now=now, status=status, **note)

    return handle


def meeting_id_of(value: object) -> int | None:
    # meeting.deleted/updated send a number; meeting.started sends a string. Accept both.
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def is_echo(
    meeting: Mapping[str, Any], payload: Mapping[str, Any], known: Confirmed | None
) -> bool:
    """Does the update only repeat what we last confirmed (our own change, reported back)?"""
    if known is None or payload.get("scope") == "single":
        return False
    if "password" in meeting:
        # We never change a passcode: the host did, at Zoom, and with it the join link.
        return False
    series = known.series
    ours: dict[str, object] = {
        "topic": series.topic,
        "type": series.type,
        "duration": series.duration,
        "timezone": series.timezone,
        "start_time": series.start,
    }
    for name, value in meeting.items():
        if name in _NOT_CALENDAR:
            continue
        if name not in ours:
            return False  # recurrence, occurrences, …: look at the whole meeting
        if name == "start_time":
            value = _instant(value)
        if value != ours[name]:
            return False
    return True


def _instant(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
