"""The Overview's figures on both databases: counts added by several processes, today's
buckets of calendar work, users near Zoom's daily limit, and which workers are alive."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from linkzoom.overview import beats, figures, tally
from linkzoom.overview.beats import WorkerIdentity
from linkzoom.overview.tally import MEETING_CREATED, ZOOM_ERROR, DailyTally
from linkzoom.problems import ServiceUnavailable
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.db import SessionFactory, create_engine, session_factory, transaction
from linkzoom.store.models import User, ZoomDailyUsage
from linkzoom.store.overview_tables import DailyCount

NOW = datetime(2026, 12, 6, 15, 30, tzinfo=UTC)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url, pool_size=2)
    yield session_factory(engine)
    await engine.dispose()


async def load(sessions: SessionFactory, now: datetime = NOW) -> figures.Overview:
    async with transaction(sessions) as session:
        return await figures.load(session, now=now, daily_limit=100, worker_interval=30)


async def test_counts_of_several_processes_add_up_by_day_and_kind(
    sessions: SessionFactory,
) -> None:
    api, worker = DailyTally(), DailyTally()
    for _ in range(3):
        api.add(NOW, MEETING_CREATED)
    api.add(NOW - timedelta(days=1), MEETING_CREATED)
    api.add(NOW, ZOOM_ERROR, "zoom-unavailable")
    worker.add(NOW, MEETING_CREATED)
    worker.add(NOW, ZOOM_ERROR, "zoom-unavailable")
    worker.add(NOW, ZOOM_ERROR, "zoom-rate-limited")
    assert await api.flush(sessions) == 5
    assert await worker.flush(sessions) == 3
    assert await worker.flush(sessions) == 0  # nothing counted twice
    overview = await load(sessions)
    assert len(overview.days) == figures.DAYS and overview.days[-1].day == NOW.date()
    assert (overview.today.meetings, overview.today.errors) == (4, 3)
    assert overview.days[-2].meetings == 1 and sum(d.meetings for d in overview.days) == 5
    assert [(k.code, k.title, k.count) for k in overview.errors_today] == [
        ("zoom-unavailable", "Zoom is unavailable", 2),
        ("zoom-rate-limited", "Zoom rate limit reached", 1),
    ]


async def test_a_flush_that_fails_keeps_its_counts_for_the_next_pass(
    sessions: SessionFactory, tmp_path: Path
) -> None:
    counted = DailyTally()
    counted.add(NOW, MEETING_CREATED)
    unmigrated = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite'}", pool_size=1)
    with pytest.raises(ServiceUnavailable):  # no such table: as if the database were down
        await counted.flush(session_factory(unmigrated))
    await unmigrated.dispose()
    assert counted.pending() == {(NOW.date(), MEETING_CREATED, ""): 1}
    assert await counted.flush(sessions) == 1
    assert (await load(sessions)).today.meetings == 1


async def test_old_counts_are_pruned(sessions: SessionFactory) -> None:
    old = DailyTally()
    old.add(NOW - tally.RETENTION - timedelta(days=1), MEETING_CREATED)
    old.add(NOW - tally.RETENTION, MEETING_CREATED)
    await old.flush(sessions)
    async with transaction(sessions) as session:
        await tally.prune(session, today=NOW.date())
        kept = (await session.scalars(select(DailyCount.day))).all()
    assert kept == [(NOW - tally.RETENTION).date()]


async def _user(sessions: SessionFactory, name: str) -> int:
    async with transaction(sessions) as session:
        user = User(username=name, display_name=name.title(), source="local", created_at=NOW)
        session.add(user)
        await session.flush()
        return user.id


async def test_calendar_work_is_bucketed_as_the_admin_reads_it(sessions: SessionFactory) -> None:
    user_id = await _user(sessions, "alice")
    tomorrow = datetime(2026, 12, 7, tzinfo=UTC)
    rows = [
        ("synced", None, False),
        ("synced", None, True),  # a deleted event, done: not counted
        ("pending", NOW, False),
        ("deleting", NOW + timedelta(minutes=5), True),
        ("pending", tomorrow + timedelta(seconds=30), False),  # Zoom's daily limit: tomorrow
        ("failed", None, False),
    ]
    async with transaction(sessions) as session:
        for n, (status, due_at, deleted) in enumerate(rows):
            session.add(
                CalendarBinding(
                    user_id=user_id,
                    event_key=f"event-{n}",
                    desired={},
                    deleted=deleted,
                    status=status,
                    due_at=due_at,
                    created_at=NOW,
                    updated_at=NOW,
                )
            )
    calendar = (await load(sessions)).calendar
    assert calendar == figures.CalendarFigures(synced=1, pending=2, deferred=1, failed=1)


async def test_users_near_the_daily_limit_or_held_back_by_zoom(sessions: SessionFactory) -> None:
    busy, blocked, calm, yesterday = [
        await _user(sessions, name) for name in ("busy", "blocked", "calm", "yesterday")
    ]
    async with transaction(sessions) as session:
        for user_id, day, writes, until in [
            (busy, NOW.date(), 80, None),
            (blocked, NOW.date(), 12, NOW + timedelta(hours=2)),
            (calm, NOW.date(), 79, NOW - timedelta(minutes=1)),  # its hold is over
            (yesterday, NOW.date() - timedelta(days=1), 100, None),
        ]:
            session.add(
                ZoomDailyUsage(user_id=user_id, day=day, writes=writes, blocked_until=until)
            )
    near = (await load(sessions)).near_limit
    assert [(u.username, u.writes, u.blocked_until) for u in near] == [
        ("busy", 80, None),
        ("blocked", 12, NOW + timedelta(hours=2)),
    ]


async def test_a_worker_is_alive_while_it_beats_and_forgotten_after_a_day(
    sessions: SessionFactory,
) -> None:
    running = WorkerIdentity.this_process(NOW - timedelta(hours=1))
    stopped = WorkerIdentity.this_process(NOW - timedelta(hours=3))
    gone = WorkerIdentity.this_process(NOW - timedelta(days=3))
    async with transaction(sessions) as session:
        await beats.beat(session, gone, now=NOW - timedelta(days=2))
        await beats.beat(session, stopped, now=NOW - timedelta(hours=2))
        await beats.beat(session, running, now=NOW - timedelta(minutes=5))
        await beats.beat(session, running, now=NOW - timedelta(seconds=20))  # the same row
        await beats.prune(session, now=NOW)
    overview = await load(sessions)
    assert [(w.seen_at, w.alive) for w in overview.workers] == [
        (NOW - timedelta(seconds=20), True),
        (NOW - timedelta(hours=2), False),
    ]
    assert overview.workers_alive == 1
