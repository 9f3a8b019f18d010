"""The account pace, shared through the database by every process that calls Zoom."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from linkzoom.calendar.pacing import AccountPacer
from linkzoom.store.db import SessionFactory, create_engine, session_factory

RATE = 100.0  # calls a second for the light label, in this test
SHARE = 0.9
STEP = 1 / (RATE * SHARE)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_two_processes_together_keep_one_accounts_pace(sessions: SessionFactory) -> None:
    # Two pacers stand for two worker processes; each runs three callers at once.
    pacers = [AccountPacer(sessions, budget={"light": RATE}, share=SHARE) for _ in range(2)]
    turns: list[float] = []

    async def caller(pacer: AccountPacer) -> None:
        for _ in range(6):
            await pacer.turn("account-1", "update")
            turns.append(time.monotonic())

    await pacer_warm_up(pacers)
    started = time.monotonic()
    await asyncio.gather(*(caller(p) for p in pacers for _ in range(3)))
    assert len(turns) == 36
    # 36 turns need 35 steps at least; the pace does not dawdle either.
    assert time.monotonic() - started >= 35 * STEP * 0.95
    assert time.monotonic() - started < 35 * STEP * 4


async def pacer_warm_up(pacers: list[AccountPacer]) -> None:
    for pacer in pacers:
        await pacer.turn("account-1", "update")
    await asyncio.sleep(STEP)


async def test_accounts_and_labels_have_their_own_pace(sessions: SessionFactory) -> None:
    pacer = AccountPacer(sessions, budget={"light": 2, "medium": 2}, share=1.0)
    started = time.monotonic()
    await pacer.turn("a", "update")
    await pacer.turn("b", "update")
    await pacer.turn("a", "create")
    await pacer.turn("a", "get")  # light again, for "a": waits half a second
    assert 0.4 < time.monotonic() - started < 1.5


async def test_a_per_second_refusal_holds_everyone_back(sessions: SessionFactory) -> None:
    pacer = AccountPacer(sessions, budget={"light": 1000}, share=1.0)
    await pacer.turn("a", "delete")
    await pacer.hold("a", "update", datetime.now(UTC) + timedelta(seconds=0.4))
    started = time.monotonic()
    await AccountPacer(sessions, budget={"light": 1000}).turn("a", "get")
    assert time.monotonic() - started >= 0.35


async def test_no_budget_no_waiting(sessions: SessionFactory) -> None:
    pacer = AccountPacer(sessions, budget=None)
    started = time.monotonic()
    for _ in range(50):
        await pacer.turn("a", "update")
    assert time.monotonic() - started < 0.1
