"""Disconnecting Zoom: tokens go at once, the revoke Zoom owes us is retried until confirmed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from linkzoom import worker
from linkzoom.grant import revocations
from linkzoom.grant import store as grant_store
from linkzoom.grant.service import ZoomAccounts
from linkzoom.problems import ZoomError, ZoomGrantInvalid, ZoomUnavailable
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.grant_tables import ZoomAuthorization, ZoomPendingRevoke
from linkzoom.store.models import AuditEvent, Preference
from linkzoom.zoom.models import TokenSet, ZoomUser
from tests.support.clock import FakeClock
from tests.vault.test_preferences import make_users

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("attempts", "wait"),
    [
        (0, timedelta(minutes=1)),
        (1, timedelta(minutes=1)),
        (2, timedelta(minutes=2)),
        (5, timedelta(minutes=16)),
        (9, timedelta(hours=4, minutes=16)),
        (10, timedelta(hours=6)),
        (10_000, timedelta(hours=6)),
    ],
)
def test_backoff(attempts: int, wait: timedelta) -> None:
    assert revocations.backoff(attempts) == wait


@pytest.mark.parametrize(
    ("expires_in", "token"),
    [
        (timedelta(hours=1), "access"),
        (timedelta(minutes=5, seconds=1), "access"),
        (timedelta(minutes=5), "refresh"),
        (-timedelta(days=2), "refresh"),
    ],
)
def test_the_access_token_is_used_while_it_lives(expires_in: timedelta, token: str) -> None:
    chosen = revocations.token_to_revoke(
        "access", "refresh", access_expires_at=NOW + expires_in, now=NOW
    )
    assert chosen == token


class FakeRevoke:
    """Zoom's revoke endpoint, failing the way it is told to."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.failure: Exception | None = None

    async def revoke(self, token: str) -> None:
        self.tokens.append(token)
        if self.failure is not None:
            raise self.failure


def accounts(runtime: Runtime, endpoint: FakeRevoke) -> ZoomAccounts:
    return ZoomAccounts(
        runtime.sessions,
        runtime.sealer,
        oauth=lambda: endpoint,  # type: ignore[arg-type,return-value]
        clock=runtime.clock,
    )


async def linked(runtime: Runtime) -> int:
    (user_id,) = await make_users(runtime, "alice")
    await store_grant(runtime, user_id)
    return user_id


async def store_grant(runtime: Runtime, user_id: int) -> None:
    async with transaction(runtime.sessions) as session:
        await grant_store.store_new(
            session,
            runtime.sealer,
            user_id=user_id,
            tokens=TokenSet(access_token="acc", refresh_token="ref", expires_in=3599, scope="s"),
            zoom_user=ZoomUser(id="zu", account_id="za"),
            now=runtime.clock(),
            reauthorize_after=timedelta(days=365),
        )


async def owed(runtime: Runtime) -> list[ZoomPendingRevoke]:
    async with transaction(runtime.sessions) as session:
        return list(await session.scalars(select(ZoomPendingRevoke)))


async def test_a_confirmed_revoke_leaves_nothing_behind(runtime: Runtime) -> None:
    endpoint = FakeRevoke()
    user_id = await linked(runtime)
    assert await accounts(runtime, endpoint).disconnect(
        user_id, actor="alice", actor_user_id=user_id, address=None
    )
    assert endpoint.tokens == ["acc"]
    assert await owed(runtime) == []


async def test_an_unreachable_zoom_is_retried_with_back_off(
    runtime: Runtime, clock: FakeClock
) -> None:
    endpoint = FakeRevoke()
    endpoint.failure = ZoomUnavailable("Could not connect to Zoom.")
    user_id = await linked(runtime)
    service = accounts(runtime, endpoint)
    assert await service.disconnect(user_id, actor="alice", actor_user_id=user_id, address=None)
    async with transaction(runtime.sessions) as session:
        assert await session.scalar(select(func.count()).select_from(Preference)) == 0
    (row,) = await owed(runtime)
    assert (row.attempts, row.last_error, row.user_id) == (1, "zoom-unavailable", user_id)
    assert b"acc" not in row.ciphertext and b"ref" not in row.ciphertext
    assert row.next_attempt_at == clock() + timedelta(minutes=1)

    assert await service.retry_revokes() == 0 and len(endpoint.tokens) == 1  # not due yet
    clock.advance(minutes=1)
    assert await service.retry_revokes() == 0
    (row,) = await owed(runtime)
    assert row.attempts == 2 and row.next_attempt_at == clock() + timedelta(minutes=2)

    # Hours later the access token is dead; the refresh token still names the grant.
    clock.advance(hours=2)
    endpoint.failure = None
    assert await service.retry_revokes() == 1
    assert endpoint.tokens == ["acc", "acc", "ref"]
    assert await owed(runtime) == []


async def test_a_token_zoom_no_longer_knows_needs_no_more_tries(runtime: Runtime) -> None:
    endpoint = FakeRevoke()
    endpoint.failure = ZoomGrantInvalid("Invalid Token!")
    user_id = await linked(runtime)
    await accounts(runtime, endpoint).disconnect(
        user_id, actor="alice", actor_user_id=user_id, address=None
    )
    assert await owed(runtime) == []


async def test_after_thirty_days_the_retry_gives_up_and_says_so(
    runtime: Runtime, clock: FakeClock
) -> None:
    endpoint = FakeRevoke()
    endpoint.failure = ZoomError("Invalid client_id or client_secret.", http_status=401)
    user_id = await linked(runtime)
    service = accounts(runtime, endpoint)
    await service.disconnect(user_id, actor="alice", actor_user_id=user_id, address=None)
    clock.advance(days=30)
    assert await service.retry_revokes() == 0
    assert await owed(runtime) == []
    async with transaction(runtime.sessions) as session:
        actions = list(await session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions == ["zoom.revoked", "zoom.revoke_abandoned"]


async def test_two_workers_never_revoke_one_grant_twice(runtime: Runtime, clock: FakeClock) -> None:
    endpoint = FakeRevoke()
    endpoint.failure = ZoomUnavailable("down")
    user_id = await linked(runtime)
    await accounts(runtime, endpoint).disconnect(
        user_id, actor="alice", actor_user_id=user_id, address=None
    )
    clock.advance(minutes=1)
    async with transaction(runtime.sessions) as session:
        first = await revocations.claim(session, runtime.sealer, row_id=None, now=clock())
    async with transaction(runtime.sessions) as session:
        second = await revocations.claim(session, runtime.sealer, row_id=None, now=clock())
    assert len(first) == 1 and second == []
    assert "acc" not in repr(first[0])


async def test_worker_upkeep_retries_owed_revokes(runtime: Runtime, clock: FakeClock) -> None:
    user_id = await linked(runtime)
    endpoint = FakeRevoke()
    endpoint.failure = ZoomUnavailable("down")
    runtime.zoom_accounts = accounts(runtime, endpoint)
    await runtime.zoom_accounts.disconnect(
        user_id, actor="alice", actor_user_id=user_id, address=None
    )
    endpoint.failure = None
    clock.advance(minutes=1)
    runtime.tokens.keep_alive = _no_keep_alive  # type: ignore[method-assign]
    await worker.upkeep(runtime)
    assert await owed(runtime) == []


async def _no_keep_alive(*, refresh_token_lifetime: timedelta) -> int:
    return 0


async def test_an_unreadable_owed_revoke_is_set_aside_and_the_rest_of_upkeep_runs(
    runtime: Runtime, clock: FakeClock
) -> None:
    """One queued revoke sealed under a key that left the ring used to stop every upkeep step
    (they shared one ``try``): now it is marked, the other revokes go through, pruning runs."""
    first, second = await make_users(runtime, "erin", "frank")
    for user_id in (first, second):
        await store_grant(runtime, user_id)
    endpoint = FakeRevoke()
    endpoint.failure = ZoomUnavailable("down")
    runtime.zoom_accounts = accounts(runtime, endpoint)
    for user_id in (first, second):
        await runtime.zoom_accounts.disconnect(
            user_id, actor="x", actor_user_id=user_id, address=None
        )
    async with transaction(runtime.sessions) as session:
        row = await session.scalar(
            select(ZoomPendingRevoke).where(ZoomPendingRevoke.user_id == first)
        )
        assert row is not None
        row.key_id = "gone"  # sealed under a key the ring no longer holds
        session.add(
            ZoomAuthorization(
                user_id=second,
                ticket_hash=b"t" * 32,
                created_at=clock() - timedelta(hours=1),
                expires_at=clock() - timedelta(minutes=50),
            )
        )
    endpoint.failure = None
    clock.advance(minutes=1)
    runtime.tokens.keep_alive = _no_keep_alive  # type: ignore[method-assign]
    assert await worker.upkeep(runtime) == []
    left = await owed(runtime)
    assert [r.user_id for r in left] == [first] and left[0].last_error == "sealed-data-unreadable"
    async with transaction(runtime.sessions) as session:
        assert await revocations.unreadable(session) == 1
        assert await session.scalar(select(func.count()).select_from(ZoomAuthorization)) == 0


async def test_a_failing_upkeep_step_is_counted_and_the_others_still_run(
    runtime: Runtime, clock: FakeClock
) -> None:
    async def broken(*, refresh_token_lifetime: timedelta) -> int:
        raise RuntimeError("keep-alive blew up")

    runtime.tokens.keep_alive = broken  # type: ignore[method-assign]
    (user_id,) = await make_users(runtime, "gina")
    async with transaction(runtime.sessions) as session:
        session.add(
            ZoomAuthorization(
                user_id=user_id,
                ticket_hash=b"u" * 32,
                created_at=clock() - timedelta(hours=1),
                expires_at=clock() - timedelta(minutes=50),
            )
        )
    assert await worker.upkeep(runtime) == ["keep_alive"]
    assert runtime.metrics.upkeep_failures.labels("keep_alive")._value.get() == 1
    async with transaction(runtime.sessions) as session:
        assert await session.scalar(select(func.count()).select_from(ZoomAuthorization)) == 0
