"""Daily counts, kept in memory by each process and added to ``daily_counts`` by its worker.

Why not write on the spot: a count on every compose would be one more statement on the request
path (the path "The request path at the floor" keeps to a minimum). Counting in memory costs a
dict update; each process's worker pass adds what it counted with one upsert per (day, name,
kind), ``count = count + n``, so several processes add up instead of overwriting each other.
Counts of a process killed between passes are lost: the Overview is a picture, not a ledger.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.db import SessionFactory, dialect_insert, transaction
from linkzoom.store.overview_tables import DailyCount

MEETING_CREATED = "meeting_created"  # every meeting Zoom confirmed creating, compose or calendar
ZOOM_ERROR = "zoom_error"  # kind: the problem type of a failed call to Zoom
RETENTION = timedelta(days=90)
_KIND_LENGTH = 64

Key = tuple[date, str, str]


class DailyTally:
    def __init__(self) -> None:
        self._counts: Counter[Key] = Counter()

    def add(self, now: datetime, name: str, kind: str = "") -> None:
        """Count one ``name`` (of ``kind``) on ``now``'s UTC day."""
        self._counts[(now.astimezone(UTC).date(), name, kind[:_KIND_LENGTH])] += 1

    def pending(self) -> dict[Key, int]:
        """What this process counted and has not added to the table yet."""
        return dict(self._counts)

    async def flush(self, sessions: SessionFactory) -> int:
        """Add what was counted to ``daily_counts``; on failure keep it for the next pass."""
        counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            async with transaction(sessions) as session:
                await _add(session, counts)
        except BaseException:
            self._counts.update(counts)
            raise
        return sum(counts.values())


async def _add(session: AsyncSession, counts: Counter[Key]) -> None:
    insert = dialect_insert(session)
    # One order for every process, so two flushes on PostgreSQL never wait on each other in a cycle.
    for (day, name, kind), count in sorted(counts.items()):
        statement = insert(DailyCount).values(day=day, name=name, kind=kind, count=count)
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=["day", "name", "kind"],
                set_={"count": DailyCount.count + statement.excluded.count},
            )
        )


async def prune(session: AsyncSession, *, today: date) -> None:
    await session.execute(delete(DailyCount).where(DailyCount.day < today - RETENTION))
