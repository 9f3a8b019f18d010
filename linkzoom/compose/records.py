"""The ``compose_meetings`` rows: each function takes the caller's session and never commits.

State changes are conditional updates (``… WHERE state = 'creating'``), so when a request and
the settling pass race for the same attempt, exactly one of them wins, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.compose.models import Attempt, Keyed, MeetingPlan
from linkzoom.store.compose_tables import ComposeMeeting
from linkzoom.store.programs import Program, Statement, run_in_session
from linkzoom.store.types import TZDateTime
from linkzoom.zoom.models import Meeting

ORIGIN = "compose"
# Row ids are ``secrets.token_urlsafe(16)``; this admits any URL-safe id up to 64 characters.
_ROW_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
CREATING, ACTIVE, DELETED, GONE = "creating", "active", "deleted", "gone"
ORPHANED, ABANDONED = "orphaned", "abandoned"

# The two writes of every compose, built once as Core statements on the table and compiled
# once per dialect (linkzoom.store.programs): no ORM unit of work, no per-call building.
_TABLE = cast(Table, ComposeMeeting.__table__)
_ATTEMPT_COLUMNS = (
    "id",
    "user_id",
    "origin",
    "state",
    "topic",
    "start_time",
    "duration_minutes",
    "timezone",
    "attempted_at",
)
_INSERT_ATTEMPT = Statement(insert(_TABLE).values({c: bindparam(c) for c in _ATTEMPT_COLUMNS}))
# With an Idempotency-Key: nothing written (no row returned) when the user has used the key.
_INSERT_KEYED_ATTEMPT = Statement.upsert(
    lambda insert: (
        insert(_TABLE)
        .values(
            {c: bindparam(c) for c in (*_ATTEMPT_COLUMNS, "idempotency_key_hash", "request_digest")}
        )
        .on_conflict_do_nothing(index_elements=["user_id", "idempotency_key_hash"])
        .returning(_TABLE.c.id)
    )
)
_CONFIRM = Statement(
    update(_TABLE)
    .where(_TABLE.c.id == bindparam("row_id"), _TABLE.c.state == CREATING)
    .values(
        state=ACTIVE,
        zoom_meeting_id=bindparam("new_zoom_id"),
        join_url=bindparam("new_join_url"),
        created_at=bindparam("new_created_at", type_=TZDateTime),
        start_time=func.coalesce(
            bindparam("new_start_time", type_=TZDateTime), _TABLE.c.start_time
        ),
        duration_minutes=func.coalesce(bindparam("new_duration"), _TABLE.c.duration_minutes),
        timezone=func.coalesce(bindparam("new_timezone"), _TABLE.c.timezone),
    )
)


@dataclass(frozen=True, kw_only=True)
class Record:
    """A confirmed meeting as the ``sent`` and ``DELETE`` calls need it."""

    id: str
    user_id: int
    state: str
    zoom_meeting_id: int
    join_url: str
    start_time: datetime
    duration_minutes: int
    timezone: str
    sent_at: datetime | None


def adding_attempt(
    *,
    row_id: str,
    user_id: int,
    plan: MeetingPlan,
    now: datetime,
    keyed: Keyed | None = None,
) -> Program[Attempt | None]:
    """Write down a create before it is sent, so a lost answer can be found again (also when
    this process dies while Zoom is working on it). With an ``Idempotency-Key``: ``None``, and
    nothing written, when the user already has an attempt with that key."""
    values = {
        "id": row_id,
        "user_id": user_id,
        "origin": ORIGIN,
        "state": CREATING,
        "topic": plan.topic,
        "start_time": plan.start_time,
        "duration_minutes": plan.duration_minutes,
        "timezone": plan.timezone,
        "attempted_at": now,
    }
    if keyed is None:
        yield _INSERT_ATTEMPT(**values)
    else:
        inserted = yield _INSERT_KEYED_ATTEMPT(
            **values, idempotency_key_hash=keyed.key_hash, request_digest=keyed.request_digest
        )
        if inserted.first() is None:
            return None
    return Attempt(
        id=row_id, user_id=user_id, topic=plan.topic, start_time=plan.start_time, attempted_at=now
    )


def confirming(*, row_id: str, meeting: Meeting, now: datetime) -> Program[bool]:
    """``creating`` → ``active`` with Zoom's answer; ``False`` if the attempt was settled first.
    What Zoom left out (start, duration, zone) keeps the value that was sent."""
    result = yield _CONFIRM(
        row_id=row_id,
        new_zoom_id=meeting.id,
        new_join_url=meeting.join_url,
        new_created_at=now,
        new_start_time=meeting.start_time,
        new_duration=meeting.duration,
        new_timezone=meeting.timezone,
    )
    return result.rowcount > 0


async def confirm(session: AsyncSession, *, row_id: str, meeting: Meeting, now: datetime) -> bool:
    return await run_in_session(session, confirming(row_id=row_id, meeting=meeting, now=now))


async def forget_attempt(session: AsyncSession, *, row_id: str) -> None:
    """Zoom refused the create outright: no meeting exists, nothing to remember."""
    await session.execute(
        delete(ComposeMeeting).where(ComposeMeeting.id == row_id, ComposeMeeting.state == CREATING)
    )


async def find(session: AsyncSession, *, row_id: str, user_id: int) -> Record | None:
    """The user's confirmed meeting (active or ended); another user's id finds nothing, and so
    does one we cannot have made, without asking the database (a client's NUL in a PostgreSQL
    query is an error, not a miss)."""
    if not _ROW_ID.fullmatch(row_id):
        return None
    row = await session.scalar(
        select(ComposeMeeting).where(
            ComposeMeeting.id == row_id,
            ComposeMeeting.user_id == user_id,
            ComposeMeeting.origin == ORIGIN,
            ComposeMeeting.state.in_((ACTIVE, DELETED, GONE)),
        )
    )
    return None if row is None else _record(row)


def _record(row: ComposeMeeting) -> Record | None:
    if row.zoom_meeting_id is None or row.join_url is None:
        return None
    return Record(
        id=row.id,
        user_id=row.user_id,
        state=row.state,
        zoom_meeting_id=row.zoom_meeting_id,
        join_url=row.join_url,
        start_time=row.start_time,
        duration_minutes=row.duration_minutes,
        timezone=row.timezone,
        sent_at=row.sent_at,
    )


async def record_sent(
    session: AsyncSession, *, row_id: str, start_time: datetime, sent_at: datetime
) -> None:
    await session.execute(
        update(ComposeMeeting)
        .where(ComposeMeeting.id == row_id)
        .values(start_time=start_time, sent_at=sent_at)
    )


async def end(session: AsyncSession, *, row_id: str, state: str, now: datetime) -> None:
    """``active`` → ``deleted`` (the user discarded it) or ``gone`` (Zoom no longer had it)."""
    await _change(session, row_id, ACTIVE, {"state": state, "ended_at": now})


async def unsent_drafts(session: AsyncSession, *, before: datetime, limit: int) -> list[Record]:
    """Confirmed meetings whose message was never sent, created before ``before``, oldest first:
    drafts the user discarded (Outlook tells no add-in about a discard) or left for good."""
    rows = await session.scalars(
        select(ComposeMeeting)
        .where(
            ComposeMeeting.origin == ORIGIN,
            ComposeMeeting.state == ACTIVE,
            ComposeMeeting.sent_at.is_(None),
            ComposeMeeting.created_at < before,
        )
        .order_by(ComposeMeeting.created_at)
        .limit(limit)
    )
    return [record for row in rows if (record := _record(row)) is not None]


@dataclass(frozen=True, kw_only=True)
class Unsettled:
    """An overdue attempt (``creating``) or an orphan still to delete (``orphaned``)."""

    attempt: Attempt
    state: str
    zoom_meeting_id: int | None


async def unsettled(session: AsyncSession, *, before: datetime, limit: int) -> list[Unsettled]:
    """Attempts whose answer is overdue (``creating`` since before ``before``), and orphans
    whose deletion at Zoom has not gone through yet, oldest first."""
    rows = await session.scalars(
        select(ComposeMeeting)
        .where(
            or_(
                (ComposeMeeting.state == CREATING) & (ComposeMeeting.attempted_at < before),
                ComposeMeeting.state == ORPHANED,
            )
        )
        .order_by(ComposeMeeting.attempted_at)
        .limit(limit)
    )
    return [
        Unsettled(
            attempt=Attempt(
                id=row.id,
                user_id=row.user_id,
                topic=row.topic,
                start_time=row.start_time,
                attempted_at=row.attempted_at,
            ),
            state=row.state,
            zoom_meeting_id=row.zoom_meeting_id,
        )
        for row in rows
    ]


async def recorded_ids(session: AsyncSession, zoom_ids: Collection[int]) -> set[int]:
    """Which of ``zoom_ids`` some row already holds (those meetings are not orphans)."""
    if not zoom_ids:
        return set()
    found = await session.scalars(
        select(ComposeMeeting.zoom_meeting_id).where(
            ComposeMeeting.zoom_meeting_id.in_(list(zoom_ids))
        )
    )
    return {zoom_id for zoom_id in found if zoom_id is not None}


async def claim_orphan(session: AsyncSession, *, row_id: str, zoom_id: int) -> bool:
    """``creating`` → ``orphaned``: the lost create's meeting, found at Zoom, is to be deleted.
    The unique ``zoom_meeting_id`` means no two rows can ever claim the same meeting."""
    return await _change(session, row_id, CREATING, {"state": ORPHANED, "zoom_meeting_id": zoom_id})


async def abandon(session: AsyncSession, *, row_id: str, from_state: str, now: datetime) -> bool:
    """The attempt is settled: no meeting of it is left at Zoom."""
    return await _change(session, row_id, from_state, {"state": ABANDONED, "ended_at": now})


async def _change(
    session: AsyncSession, row_id: str, from_state: str, values: dict[str, object]
) -> bool:
    result = await session.execute(
        update(ComposeMeeting)
        .where(ComposeMeeting.id == row_id, ComposeMeeting.state == from_state)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))
