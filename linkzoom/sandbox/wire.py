"""Rendering sandbox records as Zoom's JSON (pure).

Field names and shapes follow SPEC23 and Zoom's Node SDK types; see ``shared/research/zoom-api.md``.
Absolute URLs (join, start, personal meeting) are built from ``base_url``: the sandbox's own
external address including any mount prefix.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from .clock import zoom_time
from .defaults import GLOBAL_DIAL_IN_NUMBERS
from .records import Meeting, Occurrence, User


def user_json(user: User, *, base_url: str) -> dict[str, Any]:
    """``GET /v2/users/me``."""
    created = zoom_time(user.created_at)
    return {
        "id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "email": user.email,
        "type": 2,
        "role_name": "Owner",
        "pmi": user.pmi,
        "use_pmi": False,
        "personal_meeting_url": f"{base_url}/j/{user.pmi}",
        "timezone": user.timezone,
        "verified": 1,
        "dept": "",
        "created_at": created,
        "user_created_at": created,
        "last_login_time": created,
        "last_client_version": "",
        "pic_url": "",
        "cms_user_id": "",
        "jid": f"{user.id.lower()}@xmpp.sandbox.zoom.test",
        "group_ids": [],
        "im_group_ids": [],
        "account_id": user.account_id,
        "language": "en-US",
        "phone_country": "",
        "phone_number": "",
        "status": "active",
        "job_title": "",
        "company": "",
        "location": "",
        "login_types": [100],
        "role_id": "0",
        "account_number": int.from_bytes(user.account_id.encode()[:4], "big") % 10**9,
        "cluster": "us05",
    }


def join_url(meeting: Meeting, *, base_url: str) -> str:
    return f"{base_url}/j/{meeting.id}?pwd={meeting.encrypted_password}"


def meeting_json(
    meeting: Meeting,
    *,
    host: User,
    base_url: str,
    now: datetime,
    occurrence: Occurrence | None = None,
    show_previous: bool = False,
) -> dict[str, Any]:
    """A meeting as create (201) and get (200) return it; ``occurrence`` narrows to one."""
    settings = dict(meeting.settings)
    if occurrence is not None:
        settings.update(occurrence.settings)
    settings["global_dial_in_numbers"] = [dict(n) for n in GLOBAL_DIAL_IN_NUMBERS]
    body: dict[str, Any] = {
        "uuid": meeting.uuid,
        "id": meeting.id,
        "host_id": meeting.host_id,
        "host_email": host.email,
        "assistant_id": "",
        "topic": meeting.topic,
        "type": meeting.type,
        "status": "waiting",
    }
    start = occurrence.start_time if occurrence is not None else meeting.start_time
    if start is not None:
        body["start_time"] = zoom_time(start)
    body["duration"] = occurrence.duration if occurrence is not None else meeting.duration
    agenda = occurrence.agenda if occurrence is not None else None
    body.update(
        {
            "timezone": meeting.timezone,
            "agenda": agenda if agenda is not None else meeting.agenda,
            "created_at": zoom_time(meeting.created_at),
            # start_url logs in as the host: it carries a secret (see /_sandbox/secrets).
            "start_url": f"{base_url}/s/{meeting.id}?zak={meeting.start_zak}",
            "join_url": join_url(meeting, base_url=base_url),
            "password": meeting.password,
            "h323_password": meeting.h323_password,
            "pstn_password": meeting.pstn_password,
            "encrypted_password": meeting.encrypted_password,
            "settings": settings,
            "pre_schedule": meeting.pre_schedule,
        }
    )
    if meeting.tracking_fields:
        body["tracking_fields"] = [{**t, "visible": True} for t in meeting.tracking_fields]
    if meeting.recurrence is not None:
        body["recurrence"] = dict(meeting.recurrence)
    if meeting.type == 8:
        body["occurrences"] = occurrences_json(meeting, now=now, show_previous=show_previous)
    return body


def occurrences_json(
    meeting: Meeting, *, now: datetime | None = None, show_previous: bool = True
) -> list[dict[str, Any]]:
    """Live occurrences; without ``show_previous`` those already over are left out."""
    items = []
    for occ in meeting.occurrences.values():
        if occ.deleted:
            continue
        ended = occ.start_time + timedelta(minutes=occ.duration)
        if not show_previous and now is not None and ended < now:
            continue
        items.append(
            {
                "occurrence_id": occ.occurrence_id,
                "start_time": zoom_time(occ.start_time),
                "duration": occ.duration,
                "status": "available",
            }
        )
    return items


def list_item_json(meeting: Meeting, *, base_url: str) -> dict[str, Any]:
    """One entry of ``GET /v2/users/{userId}/meetings``."""
    item: dict[str, Any] = {
        "uuid": meeting.uuid,
        "id": meeting.id,
        "host_id": meeting.host_id,
        "topic": meeting.topic,
        "type": meeting.type,
    }
    if meeting.start_time is not None:
        item["start_time"] = zoom_time(meeting.start_time)
    item.update(
        {
            "duration": meeting.duration,
            "timezone": meeting.timezone,
            "created_at": zoom_time(meeting.created_at),
            "join_url": join_url(meeting, base_url=base_url),
        }
    )
    if meeting.agenda:
        # Zoom truncates the agenda to 250 characters in lists.
        item["agenda"] = meeting.agenda[:250]
    return item


def webhook_object(meeting: Meeting) -> dict[str, Any]:
    """The ``object`` of ``meeting.deleted``."""
    item: dict[str, Any] = {
        "uuid": meeting.uuid,
        "id": meeting.id,
        "host_id": meeting.host_id,
        "topic": meeting.topic,
        "type": meeting.type,
    }
    if meeting.start_time is not None:
        item["start_time"] = zoom_time(meeting.start_time)
    item["duration"] = meeting.duration
    item["timezone"] = meeting.timezone
    return item


def snapshot(meeting: Meeting) -> dict[str, Any]:
    """The fields ``meeting.updated`` reports, as wire values, for before/after diffs."""
    return {
        "topic": meeting.topic,
        "type": meeting.type,
        "start_time": zoom_time(meeting.start_time) if meeting.start_time else None,
        "duration": meeting.duration,
        "timezone": meeting.timezone,
        "agenda": meeting.agenda,
        "password": meeting.password,
        "settings": dict(meeting.settings),
        "recurrence": dict(meeting.recurrence) if meeting.recurrence else None,
        "occurrences": occurrences_json(meeting) if meeting.type == 8 else None,
    }
