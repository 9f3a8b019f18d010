"""Zoom's per-user daily cap on meeting create/update, kept by us so we never send a call
Zoom will refuse. Our own count resets at 00:00 UTC; usage is one row per (user, UTC day).

Reservation is one atomic ``INSERT … ON CONFLICT DO UPDATE SET writes = writes + 1 WHERE
writes < limit AND not blocked``, safe across processes on SQLite and PostgreSQL without a lock
held.

When Zoom itself refuses (its count may differ from ours), the user is blocked until the instant
Zoom's ``Retry-After`` names: Zoom is the authority. Only when it names none is that the next
00:00 UTC. The block is written on the row of every UTC day it covers, so a reservation reads
one row.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import ZoomRateLimited
from linkzoom.store.db import dialect_insert
from linkzoom.store.models import ZoomDailyUsage
from linkzoom.store.programs import Program, Statement, run_in_session
from linkzoom.store.types import TZDateTime
from linkzoom.zoom.ratelimit import next_utc_midnight

# A Retry-After further off than this is not believed (Zoom's daily limits reset within a day).
LONGEST_BLOCK = timedelta(days=2)


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def daily_limit_reached(now: datetime, *, until: datetime | None = None) -> ZoomRateLimited:
    reset = until or next_utc_midnight(now)
    when = reset.astimezone(UTC).isoformat().replace("+00:00", "Z")
    at = "00:00 UTC" if reset == next_utc_midnight(now) else reset.strftime("%H:%M UTC")
    return ZoomRateLimited(
        "Zoom's daily limit of meeting creations and updates for this user has been reached; "
        f"it resets at {at} ({when}).",
        kind="daily",
        retry_at=reset,
        now=now,
    )


def _reservation() -> Statement:
    """``INSERT … ON CONFLICT DO UPDATE … WHERE … RETURNING``: today's row made or counted up in
    one statement, refused (no row returned) at the cap or while Zoom's block lasts. One round
    trip instead of an insert and an update, on every create and update."""
    table = ZoomDailyUsage.__table__.c
    return Statement.upsert(
        lambda insert: (
            insert(ZoomDailyUsage.__table__)
            .values(
                user_id=bindparam("user_id"), day=bindparam("day"), writes=1, blocked_until=None
            )
            .on_conflict_do_update(
                index_elements=["user_id", "day"],
                set_={"writes": table.writes + 1},
                where=(table.writes < bindparam("limit"))
                & or_(
                    table.blocked_until.is_(None),
                    table.blocked_until <= bindparam("now", type_=TZDateTime),
                ),
            )
            .returning(table.writes)
        )
    )


_RESERVE = _reservation()
_BLOCKED = Statement(
    select(ZoomDailyUsage.blocked_until).where(
        ZoomDailyUsage.user_id == bindparam("user_id"), ZoomDailyUsage.day == bindparam("day")
    )
)


def reserving_write(*, user_id: int, now: datetime, limit: int) -> Program[None]:
    """Count one create/update against today's cap, or raise ``ZoomRateLimited`` (daily)."""
    day = utc_day(now)
    counted = yield _RESERVE(user_id=user_id, day=day, limit=limit, now=now)
    if counted.first() is not None:
        return
    blocked = (yield _BLOCKED(user_id=user_id, day=day)).scalar()
    raise daily_limit_reached(now, until=blocked if blocked is not None and blocked > now else None)


async def reserve_write(session: AsyncSession, *, user_id: int, now: datetime, limit: int) -> None:
    await run_in_session(session, reserving_write(user_id=user_id, now=now, limit=limit))


async def spare_writes(session: AsyncSession, *, user_id: int, now: datetime, limit: int) -> int:
    """How many creates/updates the user has left today (none while Zoom's block lasts)."""
    row = (
        await session.execute(
            select(ZoomDailyUsage.writes, ZoomDailyUsage.blocked_until).where(
                ZoomDailyUsage.user_id == user_id, ZoomDailyUsage.day == utc_day(now)
            )
        )
    ).first()
    if row is None:
        return limit
    writes, blocked = row
    if blocked is not None and blocked > now:
        return 0
    return max(0, limit - writes)


async def mark_exhausted(
    session: AsyncSession, *, user_id: int, now: datetime, until: datetime | None = None
) -> datetime:
    """Zoom said the cap is reached: block the user until ``until`` (Zoom's instant), else the
    next 00:00 UTC. Returns the instant the block ends."""
    end = until if until is not None and now < until <= now + LONGEST_BLOCK else None
    end = end or next_utc_midnight(now)
    day = utc_day(now)
    while day <= utc_day(end):
        await session.execute(
            dialect_insert(session)(ZoomDailyUsage)
            .values(user_id=user_id, day=day, writes=0, blocked_until=end)
            .on_conflict_do_update(index_elements=["user_id", "day"], set_={"blocked_until": end})
        )
        day += timedelta(days=1)
    return end
