"""Single-flight refresh: many callers, one refresh; rotated tokens stored first; failures."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from linkzoom.metrics import Metrics
from linkzoom.problems import ReauthorizationRequired, ZoomGrantInvalid, ZoomNotLinked
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import Preference, ZoomGrant
from linkzoom.vault import zoom_grant
from linkzoom.vault.refresh import TokenRefresher
from linkzoom.zoom.models import TokenSet, ZoomUser
from tests.support.clock import FakeClock
from tests.vault.test_preferences import make_users


class FakeTokenEndpoint:
    """Zoom's rotation rule: each refresh spends the presented refresh token."""

    def __init__(self, latency: float = 0.02) -> None:
        self.current = "r0"
        self.calls = 0
        self.latency = latency
        self.before_answer: list[object] = []

    async def refresh(self, refresh_token: str) -> TokenSet:
        self.calls += 1
        await asyncio.sleep(self.latency)
        if refresh_token != self.current:
            raise ZoomGrantInvalid("Invalid Token!")
        self.current = f"r{self.calls}"
        return TokenSet(
            access_token=f"a{self.calls}",
            refresh_token=self.current,
            expires_in=3599,
            scope="meeting:write",
            token_type="bearer",
        )


def refresher(runtime: Runtime, endpoint: FakeTokenEndpoint) -> TokenRefresher:
    return TokenRefresher(
        runtime.sessions,
        runtime.sealer,
        oauth=lambda: endpoint,
        clock=runtime.clock,
        metrics=Metrics(),
        poll_seconds=0.01,
    )


async def linked_user(runtime: Runtime) -> int:
    (user_id,) = await make_users(runtime, "alice")
    async with transaction(runtime.sessions) as session:
        await zoom_grant.store_new(
            session,
            runtime.sealer,
            user_id=user_id,
            tokens=TokenSet(
                access_token="a0",
                refresh_token="r0",
                expires_in=3599,
                scope="meeting:write",
                token_type="bearer",
            ),
            zoom_user=ZoomUser(
                id="zu1",
                account_id="acc1",
                email="alice@zoom.test",
                first_name="Alice",
                last_name="L",
                display_name="Alice L",
                timezone="UTC",
                type=2,
            ),
            now=runtime.clock(),
            reauthorize_after=timedelta(days=365),
        )
    return user_id


async def stored(runtime: Runtime, user_id: int) -> zoom_grant.GrantState:
    async with transaction(runtime.sessions) as session:
        state = await zoom_grant.load(session, runtime.sealer, user_id=user_id)
    assert state is not None
    return state


async def test_fresh_token_needs_no_refresh(runtime: Runtime) -> None:
    user_id = await linked_user(runtime)
    endpoint = FakeTokenEndpoint()
    assert await refresher(runtime, endpoint).access_token(user_id) == "a0"
    assert endpoint.calls == 0


async def test_two_hundred_concurrent_callers_cause_one_refresh(
    runtime: Runtime, clock: FakeClock
) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()
    tokens = refresher(runtime, endpoint)
    results = await asyncio.gather(*(tokens.access_token(user_id) for _ in range(200)))
    assert endpoint.calls == 1
    assert set(results) == {"a1"}
    state = await stored(runtime, user_id)
    assert (state.access_token, state.refresh_token) == ("a1", "r1")


async def test_two_refreshers_sharing_the_database_refresh_once(
    runtime: Runtime, clock: FakeClock
) -> None:
    """Two refreshers stand for two processes: no shared in-memory lock, only the lease."""
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint(latency=0.05)
    first, second = refresher(runtime, endpoint), refresher(runtime, endpoint)
    results = await asyncio.gather(
        *(r.access_token(user_id) for _ in range(50) for r in (first, second))
    )
    assert endpoint.calls == 1
    assert set(results) == {"a1"}


async def test_rejected_token_is_refreshed_once_even_before_expiry(runtime: Runtime) -> None:
    user_id = await linked_user(runtime)
    endpoint = FakeTokenEndpoint()
    tokens = refresher(runtime, endpoint)
    assert await tokens.access_token(user_id, rejected="a0") == "a1"
    # A second caller that was rejected with the old token gets the new one, no new refresh.
    assert await tokens.access_token(user_id, rejected="a0") == "a1"
    assert endpoint.calls == 1


async def test_rotated_refresh_token_is_stored_before_the_access_token_is_used(
    runtime: Runtime, clock: FakeClock
) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()
    token = await refresher(runtime, endpoint).access_token(user_id)
    state = await stored(runtime, user_id)
    assert token == state.access_token == "a1" and state.refresh_token == endpoint.current


async def test_invalid_grant_marks_broken_and_deletes_nothing(
    runtime: Runtime, clock: FakeClock
) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()
    endpoint.current = "spent-elsewhere"
    with pytest.raises(ZoomNotLinked) as caught:
        await refresher(runtime, endpoint).access_token(user_id)
    assert caught.value.user_id == user_id
    async with transaction(runtime.sessions) as session:
        grant = await session.scalar(select(ZoomGrant))
        assert grant is not None and grant.broken_at is not None
        assert grant.broken_reason == "invalid_grant"
        assert await session.scalar(select(Preference)) is not None
    with pytest.raises(ZoomNotLinked):
        await refresher(runtime, endpoint).access_token(user_id)
    assert endpoint.calls == 1


async def test_invalid_grant_for_a_token_already_replaced_uses_the_new_one(
    runtime: Runtime, clock: FakeClock
) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()
    tokens = refresher(runtime, endpoint)
    original = endpoint.refresh

    async def other_process_wins(refresh_token: str) -> TokenSet:
        # Another process refreshed (and stored) between our read and our call.
        fresh = await original(refresh_token)
        state = await stored(runtime, user_id)
        async with transaction(runtime.sessions) as session:
            await zoom_grant.store_refreshed(
                session, runtime.sealer, state=state, tokens=fresh, now=clock(), lease_owner="other"
            )
        return await original(refresh_token)  # now spent: invalid_grant

    endpoint.refresh = other_process_wins  # type: ignore[method-assign]
    assert await tokens.access_token(user_id) == "a1"
    assert (await stored(runtime, user_id)).broken_at is None


async def test_past_reauthorize_by_nothing_is_refreshed(runtime: Runtime, clock: FakeClock) -> None:
    user_id = await linked_user(runtime)
    clock.advance(days=365)
    endpoint = FakeTokenEndpoint()
    with pytest.raises(ReauthorizationRequired):
        await refresher(runtime, endpoint).access_token(user_id)
    assert endpoint.calls == 0


async def test_a_dead_lease_holder_is_outlived(runtime: Runtime, clock: FakeClock) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    async with transaction(runtime.sessions) as session:
        assert await zoom_grant.take_lease(
            session, user_id=user_id, owner="crashed", now=clock(), duration=timedelta(seconds=30)
        )
    endpoint = FakeTokenEndpoint()
    waiting = asyncio.create_task(refresher(runtime, endpoint).access_token(user_id))
    await asyncio.sleep(0.1)
    assert not waiting.done() and endpoint.calls == 0
    clock.advance(seconds=31)
    assert await asyncio.wait_for(waiting, 5) == "a1"


async def test_keep_alive_refreshes_idle_grants_only(runtime: Runtime, clock: FakeClock) -> None:
    user_id = await linked_user(runtime)
    endpoint = FakeTokenEndpoint()
    tokens = refresher(runtime, endpoint)
    assert await tokens.keep_alive(refresh_token_lifetime=timedelta(days=90)) == 0
    clock.advance(days=46)
    assert await tokens.keep_alive(refresh_token_lifetime=timedelta(days=90)) == 1
    assert (await stored(runtime, user_id)).refresh_token == "r1"
    assert await tokens.keep_alive(refresh_token_lifetime=timedelta(days=90)) == 0
