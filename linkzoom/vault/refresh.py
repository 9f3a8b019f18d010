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

Grants past ``reauthorize_by`` are never refreshed: the user must consent again, yearly.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import weakref
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.clock import Clock
from linkzoom.metrics import Metrics
from linkzoom.problems import (
    Problem,
    ReauthorizationRequired,
    ZoomGrantInvalid,
    ZoomNotLinked,
)
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.vault import preferences, zoom_grant
from linkzoom.vault.seal import Sealer
from linkzoom.vault.zoom_grant import GrantState
from linkzoom.zoom.auth import ZoomBearerAuth
from linkzoom.zoom.models import TokenSet

log = logging.getLogger(__name__)

# Refresh a little before Zoom's expiry, so a token never dies in flight.
EXPIRY_MARGIN = timedelta(seconds=60)
LEASE = timedelta(seconds=30)


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
        poll_seconds: float = 0.05,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._oauth = oauth
        self._clock = clock
        self._metrics = metrics
        self._poll = poll_seconds
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
        """The user's grant, read in the caller's transaction; raises when it cannot be used
        (not linked, broken, or past the yearly reauthorization)."""
        state = await zoom_grant.load(session, self._sealer, user_id=user_id)
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
            await preferences.touch(
                session,
                preference_id=state.preference_id,
                last_used_at=state.last_used_at,
                now=now,
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
                held = await zoom_grant.take_lease(
                    session, user_id=user_id, owner=self.instance, now=self._clock(), duration=LEASE
                )
            if held:
                return await self._refresh_holding_lease(user_id, rejected)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 0.5)

    async def _refresh_holding_lease(self, user_id: int, rejected: str | None) -> str:
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
                await zoom_grant.store_refreshed(
                    session,
                    self._sealer,
                    state=state,
                    tokens=tokens,
                    now=self._clock(),
                    lease_owner=self.instance,
                )
            self._metrics.refreshes.labels("ok").inc()
            log.info("zoom grant refreshed", extra={"user_id": user_id})
            return tokens.access_token
        finally:
            async with transaction(self._sessions) as session:
                await zoom_grant.release_lease(session, user_id=user_id, owner=self.instance)

    async def _after_invalid_grant(self, state: GrantState) -> str:
        async with transaction(self._sessions) as session:
            broken = await zoom_grant.mark_broken(
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
            due = await zoom_grant.due_for_keep_alive(
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
