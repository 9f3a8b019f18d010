"""Zoom's per-user daily cap on meeting create/update, kept by us so we never send a call
Zoom will refuse. The cap resets at 00:00 UTC; usage is one row per (user, UTC day).

Reservation is one atomic ``UPDATE … SET writes = writes + 1 WHERE writes < limit``, safe across
processes on SQLite and PostgreSQL without a lock held.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import ZoomRateLimited
from linkzoom.store.models import ZoomDailyUsage
from linkzoom.zoom.ratelimit import next_utc_midnight


def utc_day(now: datetime) -> date:
    return now.astimezone(UTC).date()


def _insert_for(session: AsyncSession) -> Any:
    """``INSERT … ON CONFLICT`` is dialect-specific in SQLAlchemy; both our databases have it."""
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def daily_limit_reached(now: datetime) -> ZoomRateLimited:
    reset = next_utc_midnight(now)
    return ZoomRateLimited(
        "Zoom's daily limit of meeting creations and updates for this user has been reached; "
        f"it resets at 00:00 UTC ({reset.isoformat().replace('+00:00', 'Z')}).",
        kind="daily",
        retry_at=reset,
        now=now,
    )


async def reserve_write(session: AsyncSession, *, user_id: int, now: datetime, limit: int) -> None:
    """Count one create/update against today's cap, or raise ``ZoomRateLimited`` (daily)."""
    day = utc_day(now)
    insert = _insert_for(session)
    await session.execute(
        insert(ZoomDailyUsage)
        .values(user_id=user_id, day=day, writes=0, exhausted=False)
        .on_conflict_do_nothing()
    )
    result = await session.execute(
        update(ZoomDailyUsage)
        .where(
            ZoomDailyUsage.user_id == user_id,
            ZoomDailyUsage.day == day,
            ZoomDailyUsage.writes < limit,
            ZoomDailyUsage.exhausted.is_(False),
        )
        .values(writes=ZoomDailyUsage.writes + 1)
    )
    if not getattr(result, "rowcount", 0):
        raise daily_limit_reached(now)


async def mark_exhausted(session: AsyncSession, *, user_id: int, now: datetime) -> None:
    """Zoom said the cap is reached (its count may differ from ours): stop until midnight."""
    day = utc_day(now)
    insert = _insert_for(session)
    await session.execute(
        insert(ZoomDailyUsage)
        .values(user_id=user_id, day=day, writes=0, exhausted=True)
        .on_conflict_do_update(index_elements=["user_id", "day"], set_={"exhausted": True})
    )
