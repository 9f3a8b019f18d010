"""Keeping a Zoom account's per-second budget across every process that calls Zoom for it.

Zoom counts calls per account and rate-limit label (meeting create and list are *medium*; get,
update and delete are *light*), whichever app or user makes them, over a sliding second. All
linkzoom processes share one row per (account, label) in ``calendar_pace`` holding the earliest
instant the next call may go. A caller takes its turn with one compare-and-swap
``UPDATE … SET next = slot + step WHERE next <= now`` at the moment it is about to send, and
sleeps until ``next`` otherwise. The slots are a fixed schedule one ``step`` apart; a caller
taking its slot late (by at most ``LATE_US``: older slots are dropped, so an idle account gets no
burst) sends late, never early. So in any second at most ``(1 s + lateness) / step`` calls leave,
which stays within Zoom's count for lateness up to about 100 ms, and the schedule does not drift
by every caller's lateness. Reserving at send time rather than in advance keeps a killed
process from holding slots. Within a process an ``asyncio.Lock`` queues callers, so only one per
process polls the row.

The budget is Zoom Pro's (light 30/s, medium 20/s), used to ``SHARE`` of it to leave room for the
jitter between our turn and Zoom's arrival clock, and for other apps on the account. A per-second
429 from Zoom moves the row to its ``Retry-After`` instant for everyone. Clocks of processes on
different hosts must agree to well under ``step`` for the pace to hold.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime

from sqlalchemy import ColumnElement, and_, case, select, update
from sqlalchemy.dialects import postgresql, sqlite

from linkzoom.store.calendar_tables import CalendarPace
from linkzoom.store.db import SessionFactory, transaction

OPERATION_LABELS = {
    "create": "medium",
    "list": "medium",
    "get": "light",
    "update": "light",
    "delete": "light",
}
PRO_BUDGET: Mapping[str, float] = {"light": 30, "medium": 20, "heavy": 10}
SHARE = 0.92
_US = 1_000_000
LATE_US = 25_000  # how late a turn may be taken and still count as its slot


class AccountPacer:
    """See the module docstring. ``budget=None`` turns pacing off (tests with a fake clock)."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        budget: Mapping[str, float] | None = PRO_BUDGET,
        share: float = SHARE,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._sessions = sessions
        self._budget = dict(budget or {})
        self._share = share
        self._clock = clock
        self._sleep = sleep
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._rows: set[tuple[str, str]] = set()

    def _step_us(self, label: str) -> int | None:
        rate = self._budget.get(label)
        return None if not rate else max(1, int(_US / (rate * self._share)))

    async def turn(self, account_id: str | None, operation: str) -> None:
        """Wait until a call of ``operation`` may go to the account, and take that turn."""
        label = OPERATION_LABELS[operation]
        step = self._step_us(label)
        if step is None or not account_id:
            return
        key = (account_id, label)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            await self._ensure_row(key)
            while True:
                now = int(self._clock() * _US)
                async with transaction(self._sessions) as session:
                    # The next turn is one step after this one's slot, not after "now": a
                    # late caller must not push the whole schedule back. A slot further in the
                    # past than LATE_US is not kept, so an idle account gets no burst.
                    floor = now - min(step // 2, LATE_US)
                    slot = case(
                        (CalendarPace.next_at_us > floor, CalendarPace.next_at_us), else_=floor
                    )
                    taken = await session.execute(
                        update(CalendarPace)
                        .where(_row(key), CalendarPace.next_at_us <= now)
                        .values(next_at_us=slot + step)
                    )
                    if getattr(taken, "rowcount", 0):
                        return
                    next_at = await session.scalar(select(CalendarPace.next_at_us).where(_row(key)))
                await self._sleep(max(0, (next_at or now) - now) / _US)

    async def hold(self, account_id: str | None, operation: str, until: datetime) -> None:
        """Zoom refused a call for the second (``Retry-After``): nobody sends until ``until``."""
        label = OPERATION_LABELS[operation]
        if self._step_us(label) is None or not account_id:
            return
        key = (account_id, label)
        await self._ensure_row(key)
        at = int(until.timestamp() * _US)
        async with transaction(self._sessions) as session:
            await session.execute(
                update(CalendarPace)
                .where(_row(key), CalendarPace.next_at_us < at)
                .values(next_at_us=at)
            )

    async def _ensure_row(self, key: tuple[str, str]) -> None:
        if key in self._rows:
            return
        async with transaction(self._sessions) as session:
            dialect = session.get_bind().dialect.name
            insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
            await session.execute(
                insert(CalendarPace)
                .values(zoom_account_id=key[0], label=key[1], next_at_us=0)
                .on_conflict_do_nothing()
            )
        self._rows.add(key)


def _row(key: tuple[str, str]) -> ColumnElement[bool]:
    return and_(CalendarPace.zoom_account_id == key[0], CalendarPace.label == key[1])
