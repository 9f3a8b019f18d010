"""The Overview's figures, read from what the service keeps: the daily roll-up, the calendar
bindings, the per-user Zoom quota and the worker heartbeats. Read-only, a handful of grouped
queries over indexed or small tables, so an administrator's refresh costs little."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.calendar.models import DELETING, FAILED, PENDING, SYNCED
from linkzoom.overview.tally import MEETING_CREATED, ZOOM_ERROR
from linkzoom.problems import (
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomGrantInvalid,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.models import User, ZoomDailyUsage
from linkzoom.store.overview_tables import DailyCount, WorkerBeat

DAYS = 14
NEAR_LIMIT = 0.8  # a user at 80 % of Zoom's daily create/update limit is "near" it
NEAR_LIMIT_SHOWN = 20


@dataclass(frozen=True, kw_only=True)
class Day:
    day: date
    meetings: int
    errors: int


@dataclass(frozen=True, kw_only=True)
class ErrorKind:
    code: str  # the problem type, as in the API's problem+json ``type``
    title: str
    count: int


_TITLES = {
    kind.code: kind.title
    for kind in (
        ZoomAccessTokenRejected,
        ZoomError,
        ZoomGrantInvalid,
        ZoomMeetingLocked,
        ZoomMeetingNotFound,
        ZoomRateLimited,
        ZoomRequestInvalid,
        ZoomUnavailable,
    )
}


@dataclass(frozen=True, kw_only=True)
class CalendarFigures:
    synced: int
    pending: int  # due today
    deferred: int  # waiting for a later UTC day (Zoom's daily limit)
    failed: int


@dataclass(frozen=True, kw_only=True)
class NearLimit:
    username: str
    display_name: str
    writes: int
    blocked_until: datetime | None


@dataclass(frozen=True, kw_only=True)
class Worker:
    host: str
    pid: int
    started_at: datetime
    seen_at: datetime
    alive: bool


@dataclass(frozen=True, kw_only=True)
class Overview:
    now: datetime
    days: list[Day]  # the last DAYS UTC days, oldest first, today last
    errors_today: list[ErrorKind]  # most frequent first
    calendar: CalendarFigures
    daily_limit: int
    near_limit: list[NearLimit]
    workers: list[Worker]

    @property
    def today(self) -> Day:
        return self.days[-1]

    @property
    def near_threshold(self) -> int:
        return near_threshold(self.daily_limit)

    @property
    def workers_alive(self) -> int:
        return sum(worker.alive for worker in self.workers)


def near_threshold(daily_limit: int) -> int:
    return math.ceil(daily_limit * NEAR_LIMIT)


async def load(
    session: AsyncSession, *, now: datetime, daily_limit: int, worker_interval: float
) -> Overview:
    today = now.astimezone(UTC).date()
    return Overview(
        now=now,
        days=await _days(session, today),
        errors_today=await _errors(session, today),
        calendar=await _calendar(session, today),
        daily_limit=daily_limit,
        near_limit=await _near_limit(session, today, now, daily_limit),
        workers=await _workers(session, now, worker_interval),
    )


async def _days(session: AsyncSession, today: date) -> list[Day]:
    first = today - timedelta(days=DAYS - 1)
    rows = await session.execute(
        select(DailyCount.day, DailyCount.name, func.sum(DailyCount.count))
        .where(DailyCount.day >= first, DailyCount.name.in_((MEETING_CREATED, ZOOM_ERROR)))
        .group_by(DailyCount.day, DailyCount.name)
    )
    counted = {(day, name): int(total) for day, name, total in rows}
    return [
        Day(
            day=day,
            meetings=counted.get((day, MEETING_CREATED), 0),
            errors=counted.get((day, ZOOM_ERROR), 0),
        )
        for day in (first + timedelta(days=n) for n in range(DAYS))
    ]


async def _errors(session: AsyncSession, today: date) -> list[ErrorKind]:
    rows = await session.execute(
        select(DailyCount.kind, DailyCount.count).where(
            DailyCount.day == today, DailyCount.name == ZOOM_ERROR
        )
    )
    kinds = [
        ErrorKind(code=code, title=_TITLES.get(code, code), count=int(count))
        for code, count in rows
    ]
    return sorted(kinds, key=lambda kind: (-kind.count, kind.code))


async def _calendar(session: AsyncSession, today: date) -> CalendarFigures:
    tomorrow = datetime.combine(today + timedelta(days=1), time(), UTC)
    waiting = CalendarBinding.status.in_((PENDING, DELETING))
    later = CalendarBinding.due_at >= tomorrow
    bucket = case(
        (waiting & later, "deferred"),
        (waiting, "pending"),
        else_=CalendarBinding.status,
    )
    rows = await session.execute(
        select(bucket, func.count())
        .where(or_(CalendarBinding.deleted.is_(False), waiting))  # a deleted event waits or is gone
        .group_by(bucket)
    )
    counted = {name: int(count) for name, count in rows}
    return CalendarFigures(
        synced=counted.get(SYNCED, 0),
        pending=counted.get("pending", 0),
        deferred=counted.get("deferred", 0),
        failed=counted.get(FAILED, 0),
    )


async def _near_limit(
    session: AsyncSession, today: date, now: datetime, daily_limit: int
) -> list[NearLimit]:
    threshold = near_threshold(daily_limit)
    rows = await session.execute(
        select(
            User.username, User.display_name, ZoomDailyUsage.writes, ZoomDailyUsage.blocked_until
        )
        .join(User, User.id == ZoomDailyUsage.user_id)
        .where(
            ZoomDailyUsage.day == today,
            or_(ZoomDailyUsage.writes >= threshold, ZoomDailyUsage.blocked_until > now),
        )
        .order_by(ZoomDailyUsage.writes.desc(), User.username)
        .limit(NEAR_LIMIT_SHOWN)
    )
    return [
        NearLimit(
            username=username,
            display_name=display_name,
            writes=writes,
            blocked_until=blocked if blocked is not None and blocked > now else None,
        )
        for username, display_name, writes, blocked in rows
    ]


async def _workers(session: AsyncSession, now: datetime, interval: float) -> list[Worker]:
    # Alive: seen within three passes (a pass can take a while when Zoom is slow).
    alive_since = now - timedelta(seconds=max(3 * interval, 90))
    rows = await session.scalars(select(WorkerBeat).order_by(WorkerBeat.seen_at.desc()))
    return [
        Worker(
            host=row.host,
            pid=row.pid,
            started_at=row.started_at,
            seen_at=row.seen_at,
            alive=row.seen_at >= alive_since,
        )
        for row in rows
    ]
