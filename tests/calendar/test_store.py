"""Bindings in the database: claims, leases, fenced writes and versions, on both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from linkzoom.calendar import store
from linkzoom.calendar.models import PENDING, SYNCED, Confirmed, Desired, Series
from linkzoom.identity.users import add_local
from linkzoom.store.db import SessionFactory, create_engine, session_factory, transaction

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
SERIES = Series(topic="T", type=2, start=NOW, duration=30, timezone="UTC")
DESIRED = Desired(series=SERIES)
LEASE = timedelta(seconds=10)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def user(sessions: SessionFactory) -> int:
    async with transaction(sessions) as session:
        return (await add_local(session, username="u", password="password-123", now=NOW)).id


async def bindings(
    sessions: SessionFactory, user_id: int, count: int, due: datetime | None
) -> list[int]:
    ids = []
    async with transaction(sessions) as session:
        for n in range(count):
            ids.append(
                await store.insert(
                    session,
                    user_id=user_id,
                    event_key=f"e{n}",
                    desired=DESIRED,
                    status=PENDING,
                    due_at=due,
                    settle_from=None,
                    now=NOW,
                )
            )
    return ids


async def claim(
    sessions: SessionFactory, owner: str, limit: int = 100, now: datetime = NOW
) -> list[int]:
    async with transaction(sessions) as session:
        return await store.claim_due(session, owner=owner, now=now, until=now + LEASE, limit=limit)


async def test_claims_take_due_unleased_bindings_oldest_first(sessions: SessionFactory) -> None:
    user_id = await user(sessions)
    due = await bindings(sessions, user_id, 3, NOW - timedelta(seconds=1))
    async with transaction(sessions) as session:
        later = await store.insert(
            session,
            user_id=user_id,
            event_key="later",
            desired=DESIRED,
            status=PENDING,
            due_at=NOW + timedelta(minutes=1),
            settle_from=None,
            now=NOW,
        )
        idle = await store.insert(
            session,
            user_id=user_id,
            event_key="idle",
            desired=DESIRED,
            status=SYNCED,
            due_at=None,
            settle_from=None,
            now=NOW,
        )
    assert sorted(await claim(sessions, "a", limit=2) + await claim(sessions, "b")) == sorted(due)
    assert await claim(sessions, "c") == []  # all leased
    # Leases lapse: a dead worker's bindings go to the next claimant; the rest wait their time.
    taken = await claim(sessions, "d", now=NOW + LEASE + timedelta(seconds=1))
    assert sorted(taken) == sorted(due) and later not in taken and idle not in taken
    assert later in await claim(sessions, "e", now=NOW + timedelta(minutes=1))


async def test_concurrent_claims_never_share_a_binding(sessions: SessionFactory) -> None:
    user_id = await user(sessions)
    due = await bindings(sessions, user_id, 40, NOW)
    results = await asyncio.gather(*(claim(sessions, f"w{n}", limit=7) for n in range(6)))
    claimed = [binding_id for result in results for binding_id in result]
    assert len(claimed) == len(set(claimed)) == 40 and set(claimed) == set(due)


async def test_only_the_lease_holder_writes_zooms_side(sessions: SessionFactory) -> None:
    user_id = await user(sessions)
    (binding_id,) = await bindings(sessions, user_id, 1, NOW)
    await claim(sessions, "holder")
    confirmed = Confirmed(meeting_id=1, join_url="u", series=SERIES)
    async with transaction(sessions) as session:
        kwargs = {
            "binding_id": binding_id,
            "now": NOW,
            "confirmed": confirmed,
            "in_doubt": None,
            "lost_at": None,
            "sealed_passcode": None,
        }
        assert not await store.save(session, owner="intruder", **kwargs)  # type: ignore[arg-type]
        assert await store.save(session, owner="holder", **kwargs)  # type: ignore[arg-type]


async def test_a_change_during_a_pass_is_never_acknowledged_unseen(
    sessions: SessionFactory,
) -> None:
    user_id = await user(sessions)
    (binding_id,) = await bindings(sessions, user_id, 1, NOW)
    await claim(sessions, "worker")
    async with transaction(sessions) as session:
        seen = await store.load(session, binding_id=binding_id)
        assert seen is not None
        # The calendar changes while the worker talks to Zoom; its PUT saw nothing to send.
        assert await store.record_desired(
            session,
            binding=seen,
            desired=DESIRED,
            status=SYNCED,
            due_at=None,
            settle_from=None,
            link_seen=True,
            now=NOW,
        )
    async with transaction(sessions) as session:
        await store.release(
            session,
            binding_id=binding_id,
            owner="worker",
            version=seen.version,
            status=SYNCED,
            due_at=None,
            last_error=None,
            attempts=0,
            now=NOW,
        )
        after = await store.load(session, binding_id=binding_id)
        assert after is not None and after.lease_owner is None
        assert after.due_at == NOW  # looked at again, not forgotten
        assert not await store.forget(
            session, binding_id=binding_id, owner="worker", version=seen.version
        )


async def test_a_stale_writer_of_the_desired_state_loses(sessions: SessionFactory) -> None:
    user_id = await user(sessions)
    (binding_id,) = await bindings(sessions, user_id, 1, NOW)
    async with transaction(sessions) as session:
        first = await store.load(session, binding_id=binding_id)
        assert first is not None
        await store.signal(session, binding_id=binding_id, now=NOW, zoom_changed_at=NOW)
        assert not await store.record_desired(
            session,
            binding=first,
            desired=DESIRED,
            status=PENDING,
            due_at=NOW,
            settle_from=None,
            link_seen=False,
            now=NOW,
        )
