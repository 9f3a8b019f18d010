"""Zoom access tokens for a user, refreshed single-flight across coroutines and processes.

Why this is delicate: Zoom rotates refresh tokens. Every refresh returns a new refresh token
and spends the old one at once, with no grace period. Two refreshes racing with the same refresh
token end with one winner and one ``invalid_grant``; worse, if the loser's answer is the one we
store, the user's grant is destroyed and they must consent again (cal.com #729, kaltura #11064).

How we serialise:

1. In-process, one ``asyncio.Lock`` per user: of a hundred coroutines that find the access token
   expired, one goes on; the rest wait, then re-read and find the fresh token.
2. Across processes, a lease on the user's ``zoom_grants`` row taken by compare-and-swap
   (``UPDATE … WHERE lease_until IS NULL OR lease_until < now``). It works the same on SQLite and
   PostgreSQL, holds no transaction open during the call to Zoom, and lapses by itself if its
   holder dies. A process that cannot take the lease polls until the stored token changes (the
   holder succeeded) or the lease lapses (the holder died).
3. After taking the lease we re-read the row: the token may have been refreshed between our
   first look and the lease.
4. The rotated tokens are committed *before* the new access token is handed to anyone, so a
   crash after the commit loses nothing, and a crash before it loses only what Zoom would have
   made us redo anyway.
5. ``invalid_grant`` marks the grant broken (``409 zoom-not-linked``), unless the refresh token
   Zoom refused has meanwhile been replaced by another process, in which case we use the new one.
6. The lease outlasts the slowest refresh the OAuth client can make (:func:`lease_for`: every
   attempt's timeouts and the waits between them) and is renewed while the call is in flight,
   so a slow Zoom never lets a second process refresh with a token the first has just spent.
   Should it happen anyway (the process stalled), the first process's tokens still win: they
   are the grant's only valid ones, so storing them clears the ``broken`` mark.
7. Storing is a compare-and-swap: if a new consent replaced the grant while we refreshed, the
   consent stays and our tokens (of the replaced grant) are discarded, or revoked at Zoom when
   the new consent is another Zoom account's (Zoom revokes by user, so revoking tokens of the
   same account would revoke the new consent too).

Grants past ``reauthorize_by`` are never refreshed: the user must consent again, yearly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.clock import Clock
from linkzoom.grant import revocations
from linkzoom.grant import store as grant_store
from linkzoom.grant.store import GrantState
from linkzoom.metrics import Metrics
from linkzoom.problems import (
    Problem,
    ReauthorizationRequired,
    ZoomGrantInvalid,
    ZoomNotLinked,
)
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.programs import Program, run_in_session
from linkzoom.vault import preferences
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.auth import ZoomBearerAuth
from linkzoom.zoom.models import TokenSet
from linkzoom.zoom.retry import RetryPolicy

log = logging.getLogger(__name__)

# Refresh a little before Zoom's expiry, so a token never dies in flight.
EXPIRY_MARGIN = timedelta(seconds=60)
LEASE_MARGIN = timedelta(seconds=5)


def lease_for(timeout_seconds: float, retry: RetryPolicy) -> timedelta:
    """How long the slowest refresh can take: each attempt may wait for a pooled connection,
    then connect (at most 5 s), write and read, each bounded by the timeout; between attempts
    the policy waits at most its longest back-off or ``Retry-After``. Renewal covers the rest
    (a response trickling in resets httpx's read timeout)."""
    connect = min(5.0, timeout_seconds)
    attempt = 3 * timeout_seconds + connect
    pause = max(retry.max_delay, retry.max_retry_after)
    worst = retry.max_attempts * attempt + (retry.max_attempts - 1) * pause
    return timedelta(seconds=worst) + LEASE_MARGIN


class RefreshEndpoint(Protocol):
    """The one thing we need of Zoom's OAuth server here (``ZoomOAuth`` provides it)."""

    async def refresh(self, refresh_token: str) -> TokenSet: ...


class GrantTokens:
    """The :class:`~linkzoom.zoom.auth.TokenProvider` for one user.

    ``preread`` is the grant as a caller already read it in its own transaction (with the
    quota check, say), sparing the hot path a second round trip while the token is fresh.
    """

    def __init__(
        self, refresher: TokenRefresher, user_id: int, preread: GrantState | None = None
    ) -> None:
        self._refresher = refresher
        self.user_id = user_id
        self._preread = preread

    async def access_token(self) -> str:
        preread, self._preread = self._preread, None
        if preread is not None and not self._refresher.stale(preread, None):
            return preread.access_token
        return await self._refresher.access_token(self.user_id)

    async def refreshed_access_token(self, rejected: str) -> str:
        return await self._refresher.access_token(self.user_id, rejected=rejected)


class TokenRefresher:
    def __init__(
        self,
        sessions: SessionFactory,
        sealer: Sealer,
        *,
        oauth: Callable[[], RefreshEndpoint],
        clock: Clock,
        metrics: Metrics,
        lease: timedelta,
        revoke_owed: Callable[[str], Awaitable[None]] | None = None,
        poll_seconds: float = 0.05,
    ) -> None:
        """``revoke_owed`` tries an owed revoke at once (the worker retries it otherwise)."""
        self._sessions = sessions
        self._sealer = sealer
        self._oauth = oauth
        self._clock = clock
        self._metrics = metrics
        self._poll = poll_seconds
        self._lease = lease
        self._revoke_owed = revoke_owed
        self.instance = secrets.token_hex(8)
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()

    def auth_for(self, user_id: int, *, preread: GrantState | None = None) -> ZoomBearerAuth:
        return ZoomBearerAuth(GrantTokens(self, user_id, preread))

    async def access_token(self, user_id: int, *, rejected: str | None = None) -> str:
        """A usable access token; refreshes when it is (nearly) expired or Zoom rejected it."""
        state = await self._read(user_id, touch=True)
        if not self.stale(state, rejected):
            return state.access_token
        lock = self._locks.get(user_id)
        if lock is None:
            lock = self._locks[user_id] = asyncio.Lock()
        async with lock:
            return await self._refresh(user_id, rejected)

    async def refresh_now(self, user_id: int) -> None:
        """Refresh regardless of expiry: the keep-alive for idle grants."""
        state = await self._read(user_id)
        await self.access_token(user_id, rejected=state.access_token)

    def stale(self, state: GrantState, rejected: str | None) -> bool:
        if rejected is not None:
            return state.access_token == rejected
        return state.access_expires_at - EXPIRY_MARGIN <= self._clock()

    async def _read(self, user_id: int, *, touch: bool = False) -> GrantState:
        async with transaction(self._sessions) as session:
            return await self.usable_grant(session, user_id, touch=touch)

    async def usable_grant(
        self, session: AsyncSession, user_id: int, *, touch: bool = True
    ) -> GrantState:
        """:meth:`using_grant` in the caller's session."""
        return await run_in_session(session, self.using_grant(user_id, touch=touch))

    def using_grant(self, user_id: int, *, touch: bool = True) -> Program[GrantState]:
        """The user's grant; raises when it cannot be used (not linked, broken, or past the
        yearly reauthorization)."""
        state = yield from grant_store.loading(self._sealer, user_id=user_id)
        now = self._clock()
        if state is None:
            raise ZoomNotLinked("Connect your Zoom account first.", user_id=user_id)
        if state.broken_at is not None:
            raise ZoomNotLinked(
                "Zoom no longer accepts this account's authorization; connect Zoom again.",
                user_id=user_id,
            )
        if now >= state.reauthorize_by:
            raise ReauthorizationRequired(
                "Your yearly Zoom authorization has lapsed; authorize Zoom again.",
                user_id=user_id,
            )
        if touch:
            yield from preferences.touching(
                preference_id=state.preference_id, last_used_at=state.last_used_at, now=now
            )
        return state

    async def _refresh(self, user_id: int, rejected: str | None) -> str:
        delay = self._poll
        while True:
            state = await self._read(user_id)
            if not self.stale(state, rejected):
                self._metrics.refreshes.labels("joined").inc()
                return state.access_token
            async with transaction(self._sessions) as session:
                held = await grant_store.take_lease(
                    session,
                    user_id=user_id,
                    owner=self.instance,
                    now=self._clock(),
                    duration=self._lease,
                )
            if held:
                return await self._refresh_holding_lease(user_id, rejected)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _refresh_holding_lease(self, user_id: int, rejected: str | None) -> str:
        renewer = asyncio.create_task(self._renew_lease(user_id))
        try:
            state = await self._read(user_id)  # re-read: someone may have just refreshed
            if not self.stale(state, rejected):
                self._metrics.refreshes.labels("joined").inc()
                return state.access_token
            try:
                tokens = await self._oauth().refresh(state.refresh_token)
            except ZoomGrantInvalid:
                self._metrics.refreshes.labels("invalid_grant").inc()
                return await self._after_invalid_grant(state)
            except Exception:
                self._metrics.refreshes.labels("error").inc()
                raise
            async with transaction(self._sessions) as session:
                stored = await grant_store.store_refreshed(
                    session,
                    self._sealer,
                    state=state,
                    tokens=tokens,
                    now=self._clock(),
                    lease_owner=self.instance,
                )
            if not stored:
                self._metrics.refreshes.labels("superseded").inc()
                return await self._after_superseded(state, tokens)
            self._metrics.refreshes.labels("ok").inc()
            log.info("zoom grant refreshed", extra={"user_id": user_id})
            return tokens.access_token
        finally:
            renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await renewer
            async with transaction(self._sessions) as session:
                await grant_store.release_lease(session, user_id=user_id, owner=self.instance)

    async def _renew_lease(self, user_id: int) -> None:
        """Keep the lease while the refresh is in flight, renewing at a third of its length."""
        while True:
            await asyncio.sleep(self._lease.total_seconds() / 3)
            try:
                async with transaction(self._sessions) as session:
                    held = await grant_store.renew_lease(
                        session,
                        user_id=user_id,
                        owner=self.instance,
                        now=self._clock(),
                        duration=self._lease,
                    )
            except Problem as exc:  # the database blinked; the lease still has two thirds left
                log.warning("refresh lease not renewed", extra={"problem": exc.code})
                continue
            if not held:
                return

    async def _after_superseded(self, state: GrantState, tokens: TokenSet) -> str:
        """A new consent (or a disconnect) replaced the grant we refreshed: it stays."""
        now = self._clock()
        owed: str | None = None
        async with transaction(self._sessions) as session:
            current = await grant_store.load(session, self._sealer, user_id=state.user_id)
            if current is None or current.zoom_user_id != state.zoom_user_id:
                orphan = replace(
                    state,
                    access_token=tokens.access_token,
                    refresh_token=tokens.refresh_token,
                    access_expires_at=tokens.expires_at(now),
                )
                owed = await revocations.enqueue(session, self._sealer, state=orphan, now=now)
        if owed is not None and self._revoke_owed is not None:
            await self._revoke_owed(owed)
        log.info("zoom grant replaced during a refresh", extra={"user_id": state.user_id})
        return (await self._read(state.user_id)).access_token

    async def _after_invalid_grant(self, state: GrantState) -> str:
        async with transaction(self._sessions) as session:
            broken = await grant_store.mark_broken(
                session, state=state, reason="invalid_grant", now=self._clock()
            )
        if broken:
            log.warning(
                "zoom grant refused by Zoom; marked broken", extra={"user_id": state.user_id}
            )
            raise ZoomNotLinked(
                "Zoom no longer accepts this account's authorization; connect Zoom again.",
                user_id=state.user_id,
            )
        return (await self._read(state.user_id)).access_token

    async def keep_alive(self, *, refresh_token_lifetime: timedelta) -> int:
        """Refresh grants idle for half the refresh token's lifetime, so none lapses unused."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            due = await grant_store.due_for_keep_alive(
                session, refreshed_before=now - refresh_token_lifetime / 2, now=now
            )
        done = 0
        for user_id in due:
            try:
                await self.refresh_now(user_id)
                done += 1
            except Problem as exc:
                # One user's broken grant or a Zoom hiccup must not stop the others' upkeep;
                # the next pass tries again.
                log.warning(
                    "keep-alive refresh failed", extra={"user_id": user_id, "problem": exc.code}
                )
        return done
