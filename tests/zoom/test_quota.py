"""The daily cap: our own count resets at 00:00 UTC; Zoom's refusal lasts until Zoom says."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from linkzoom.problems import ZoomRateLimited
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.zoom import quota
from tests.support.clock import FakeClock
from tests.vault.test_preferences import make_users


async def reserve(runtime: Runtime, user_id: int, *, limit: int = 100) -> None:
    async with transaction(runtime.sessions) as session:
        await quota.reserve_write(session, user_id=user_id, now=runtime.clock(), limit=limit)


async def refused_until(runtime: Runtime, user_id: int) -> datetime:
    with pytest.raises(ZoomRateLimited) as caught:
        await reserve(runtime, user_id)
    assert caught.value.kind == "daily"
    return caught.value.retry_at


async def exhaust(runtime: Runtime, user_id: int, until: datetime | None) -> datetime:
    async with transaction(runtime.sessions) as session:
        return await quota.mark_exhausted(
            session, user_id=user_id, now=runtime.clock(), until=until
        )


async def test_zoom_named_instant_is_honoured_not_midnight(
    runtime: Runtime, clock: FakeClock
) -> None:
    (user_id,) = await make_users(runtime, "alice")
    named = clock() + timedelta(hours=3)
    assert await exhaust(runtime, user_id, named) == named
    assert await refused_until(runtime, user_id) == named
    clock.advance(hours=3, seconds=1)  # still the same UTC day, but Zoom's instant has passed
    await reserve(runtime, user_id)


async def test_without_an_instant_the_block_lasts_until_midnight(
    runtime: Runtime, clock: FakeClock
) -> None:
    (user_id,) = await make_users(runtime, "bob")
    midnight = datetime.combine(clock().date() + timedelta(days=1), datetime.min.time(), UTC)
    assert await exhaust(runtime, user_id, None) == midnight
    assert await refused_until(runtime, user_id) == midnight
    # An instant Zoom could not mean (two days and more away, or past) counts as none.
    assert await exhaust(runtime, user_id, clock() + timedelta(days=5)) == midnight
    assert await exhaust(runtime, user_id, clock() - timedelta(hours=1)) == midnight


async def test_a_block_past_midnight_holds_on_the_next_day_too(
    runtime: Runtime, clock: FakeClock
) -> None:
    (user_id,) = await make_users(runtime, "carol")
    named = datetime.combine(clock().date() + timedelta(days=1), datetime.min.time(), UTC)
    named += timedelta(hours=2)
    await exhaust(runtime, user_id, named)
    clock.advance(hours=13)  # 01:00 the next UTC day, before Zoom's 02:00
    assert clock().date() == named.date()
    assert await refused_until(runtime, user_id) == named
    clock.advance(hours=1, seconds=1)
    await reserve(runtime, user_id)


async def test_our_own_count_stops_at_the_limit_until_midnight(
    runtime: Runtime, clock: FakeClock
) -> None:
    (user_id,) = await make_users(runtime, "dave")
    for _ in range(3):
        await reserve(runtime, user_id)
    with pytest.raises(ZoomRateLimited) as caught:
        await reserve(runtime, user_id, limit=3)
    assert caught.value.retry_at.hour == 0 and "00:00 UTC" in caught.value.detail
