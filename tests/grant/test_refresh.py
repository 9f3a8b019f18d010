"""Single-flight refresh: many callers, one refresh; rotated tokens stored first; failures."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from linkzoom.grant import revocations
from linkzoom.grant import store as grant_store
from linkzoom.grant.refresh import TokenRefresher, lease_for
from linkzoom.metrics import Metrics
from linkzoom.problems import ReauthorizationRequired, ZoomGrantInvalid, ZoomNotLinked
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.grant_tables import ZoomGrant
from linkzoom.store.models import Preference
from linkzoom.zoom.models import TokenSet, ZoomUser
from linkzoom.zoom.retry import RetryPolicy
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


def refresher(
    runtime: Runtime,
    endpoint: FakeTokenEndpoint,
    *,
    lease: timedelta = timedelta(seconds=30),
    clock: Callable[[], datetime] | None = None,
) -> TokenRefresher:
    return TokenRefresher(
        runtime.sessions,
        runtime.sealer,
        oauth=lambda: endpoint,
        clock=clock or runtime.clock,
        metrics=Metrics(),
        lease=lease,
        poll_seconds=0.01,
    )


async def linked_user(runtime: Runtime) -> int:
    (user_id,) = await make_users(runtime, "alice")
    async with transaction(runtime.sessions) as session:
        await grant_store.store_new(
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


async def stored(runtime: Runtime, user_id: int) -> grant_store.GrantState:
    async with transaction(runtime.sessions) as session:
        state = await grant_store.load(session, runtime.sealer, user_id=user_id)
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
            await grant_store.store_refreshed(
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
        assert await grant_store.take_lease(
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


def test_the_lease_outlasts_the_slowest_refresh_the_client_can_make() -> None:
    """The fixed 30 s lease was shorter than three 10 s timeouts with back-off between them."""
    policy = RetryPolicy()
    lease = lease_for(10.0, policy)
    slowest_attempt = 10 + 5 + 10 + 10  # pool wait, connect, write, read
    slowest = policy.max_attempts * slowest_attempt + 2 * policy.max_retry_after
    assert lease.total_seconds() > slowest
    assert lease_for(1.0, RetryPolicy(max_attempts=1)).total_seconds() > 4


async def test_a_slow_refresh_keeps_its_lease_and_the_grant_stays_valid(
    runtime: Runtime, clock: FakeClock
) -> None:
    """Process one's refresh outlasts the lease's first term; process two must keep waiting,
    not refresh with the token Zoom already spent (which would mark the grant broken)."""
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint(latency=1.0)  # Zoom rotates on receipt, answers a second later
    wall = lambda: datetime.now(UTC) + timedelta(hours=1)  # noqa: E731 - real time, for the lease
    first = refresher(runtime, endpoint, lease=timedelta(seconds=0.3), clock=wall)
    second = refresher(runtime, endpoint, lease=timedelta(seconds=0.3), clock=wall)
    slow = asyncio.create_task(first.access_token(user_id))
    await asyncio.sleep(0.1)
    waiting = await second.access_token(user_id)
    assert await slow == waiting == "a1"
    assert endpoint.calls == 1
    assert (await stored(runtime, user_id)).broken_at is None


async def test_fresh_tokens_stored_after_a_broken_mark_clear_it(
    runtime: Runtime, clock: FakeClock
) -> None:
    """Should another process mark the grant broken while ours is in flight (its refresh used
    the token ours had just spent), our tokens are the grant's only valid ones and win."""
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()

    async def marked_broken() -> None:
        state = await stored(runtime, user_id)
        async with transaction(runtime.sessions) as session:
            assert await grant_store.mark_broken(
                session, state=state, reason="invalid_grant", now=clock()
            )

    after_rotation(endpoint, marked_broken)
    assert await refresher(runtime, endpoint).access_token(user_id) == "a1"
    state = await stored(runtime, user_id)
    assert state.broken_at is None and state.refresh_token == "r1"


async def test_a_refresh_finishing_after_a_new_consent_does_not_overwrite_it(
    runtime: Runtime, clock: FakeClock
) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()
    after_rotation(
        endpoint, lambda: consent(runtime, user_id, zoom_user_id="zu1", access="consented")
    )
    assert await refresher(runtime, endpoint).access_token(user_id) == "consented"
    state = await stored(runtime, user_id)
    assert (state.access_token, state.refresh_token) == ("consented", "consented-r")
    # Same Zoom account: Zoom itself retired the older tokens; revoking them would revoke the
    # new consent too (Zoom revokes by user), so nothing is owed.
    async with transaction(runtime.sessions) as session:
        assert await revocations.owed(session) == 0


async def test_tokens_refreshed_for_a_replaced_account_are_revoked(
    runtime: Runtime, clock: FakeClock
) -> None:
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()
    after_rotation(
        endpoint, lambda: consent(runtime, user_id, zoom_user_id="zu-other", access="other")
    )
    assert await refresher(runtime, endpoint).access_token(user_id) == "other"
    async with transaction(runtime.sessions) as session:
        assert await revocations.owed(session) == 1
        (owed,) = await revocations.claim(
            session, runtime.sealer, row_id=None, now=clock() + timedelta(hours=1)
        )
    assert owed.token in ("a1", "r1")


async def test_a_key_rotation_during_a_refresh_does_not_lose_the_fresh_tokens(
    runtime: Runtime, clock: FakeClock
) -> None:
    """Rotation bumps the row's version without changing its tokens: the swap still happens."""
    user_id = await linked_user(runtime)
    clock.advance(hours=1)
    endpoint = FakeTokenEndpoint()

    async def resealed() -> None:
        async with transaction(runtime.sessions) as session:
            await session.execute(update(Preference).values(version=Preference.version + 1))

    after_rotation(endpoint, resealed)
    assert await refresher(runtime, endpoint).access_token(user_id) == "a1"
    assert (await stored(runtime, user_id)).refresh_token == "r1"


def after_rotation(endpoint: FakeTokenEndpoint, then: Callable[[], Awaitable[object]]) -> None:
    """Run ``then`` after Zoom has rotated the token, before its answer reaches us."""
    original = endpoint.refresh

    async def refresh(refresh_token: str) -> TokenSet:
        fresh = await original(refresh_token)
        await then()
        return fresh

    endpoint.refresh = refresh  # type: ignore[method-assign]


async def consent(runtime: Runtime, user_id: int, *, zoom_user_id: str, access: str) -> None:
    async with transaction(runtime.sessions) as session:
        await grant_store.store_new(
            session,
            runtime.sealer,
            user_id=user_id,
            tokens=TokenSet(
                access_token=access, refresh_token=f"{access}-r", expires_in=3599, scope="s"
            ),
            zoom_user=ZoomUser(id=zoom_user_id, account_id="acc1"),
            now=runtime.clock(),
            reauthorize_after=timedelta(days=365),
        )
