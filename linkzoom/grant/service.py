"""Use cases around a user's Zoom connection: status, disconnect, deauthorization."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.clock import Clock
from linkzoom.grant import revocations
from linkzoom.grant import store as grant_store
from linkzoom.problems import Problem, ZoomGrantInvalid
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.grant_tables import ZoomGrant
from linkzoom.store.programs import Program, Statement, run_in_session
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.oauth import ZoomOAuth
from linkzoom.zoom.webhooks import Handler

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class ZoomStatus:
    linked: bool
    broken: bool
    account_email: str | None
    authorized_at: datetime | None
    reauthorize_by: datetime | None
    reauthorization_required: bool


class GrantFacts(Protocol):
    """The clear-text columns of a grant that its status is made of."""

    broken_at: datetime | None
    reauthorize_by: datetime
    account_email: str | None
    authorized_at: datetime


# Read on every calendar PUT and /me: the four columns as a row, with a statement built once,
# rather than the whole grant (tokens included) as an ORM object.
_FACTS = Statement(
    select(
        ZoomGrant.broken_at,
        ZoomGrant.reauthorize_by,
        ZoomGrant.account_email,
        ZoomGrant.authorized_at,
    ).where(ZoomGrant.user_id == bindparam("grant_user"))
)


@dataclass
class _Facts:
    broken_at: datetime | None
    reauthorize_by: datetime
    account_email: str | None
    authorized_at: datetime


def reading_status(*, user_id: int, now: datetime) -> Program[ZoomStatus]:
    """What the user's grant looks like, from the clear-text facts alone (nothing decrypted)."""
    row = (yield _FACTS(grant_user=user_id)).first()
    return status_of(None if row is None else _Facts(*row), now)


async def status(session: AsyncSession, *, user_id: int, now: datetime) -> ZoomStatus:
    return await run_in_session(session, reading_status(user_id=user_id, now=now))


def status_of(grant: GrantFacts | Row[Any] | None, now: datetime) -> ZoomStatus:
    if grant is None:
        return ZoomStatus(
            linked=False,
            broken=False,
            account_email=None,
            authorized_at=None,
            reauthorize_by=None,
            reauthorization_required=False,
        )
    lapsed = now >= grant.reauthorize_by
    return ZoomStatus(
        linked=grant.broken_at is None and not lapsed,
        broken=grant.broken_at is not None,
        account_email=grant.account_email,
        authorized_at=grant.authorized_at,
        reauthorize_by=grant.reauthorize_by,
        reauthorization_required=lapsed,
    )


class ZoomAccounts:
    def __init__(
        self,
        sessions: SessionFactory,
        sealer: Sealer,
        *,
        oauth: Callable[[], ZoomOAuth],
        clock: Clock,
    ) -> None:
        self._sessions = sessions
        self._sealer = sealer
        self._oauth = oauth
        self._clock = clock

    async def disconnect(
        self, user_id: int, *, actor: str, actor_user_id: int | None, address: str | None
    ) -> bool:
        """Destroy the local tokens first, then revoke at Zoom.

        Local deletion never waits on Zoom: once this returns, no device of the user can use
        the grant. The revoke Zoom still owes is recorded in the same transaction as the
        deletion (:mod:`linkzoom.grant.revocations`) and tried at once; if Zoom cannot be
        reached, the worker retries it in the background.
        """
        now = self._clock()
        owed: str | None = None
        async with transaction(self._sessions) as session:
            try:
                state = await grant_store.load(session, self._sealer, user_id=user_id)
            except Problem:
                state = None  # tokens we cannot open cannot be revoked; they are erased anyway
            removed = await grant_store.erase(session, user_id=user_id)
            if state is not None:
                owed = await revocations.enqueue(session, self._sealer, state=state, now=now)
            if removed:
                await audit.record(
                    session,
                    action="zoom.revoked",
                    at=now,
                    actor=actor,
                    actor_user_id=actor_user_id,
                    subject_user_id=user_id,
                    address=address,
                )
        if owed is not None:
            await self.revoke_owed(owed)
        return removed

    async def retry_revokes(self) -> int:
        """Retry the revocations that are due (the worker calls this); returns how many Zoom
        confirmed."""
        confirmed = 0
        while True:
            async with transaction(self._sessions) as session:
                due = await revocations.claim(session, self._sealer, row_id=None, now=self._clock())
            for pending in due:
                confirmed += await self._attempt(pending)
            if len(due) < revocations.CLAIM_BATCH:
                return confirmed

    async def revoke_owed(self, row_id: str) -> None:
        """Try now the revoke recorded as ``row_id``; the worker retries it if this fails."""
        async with transaction(self._sessions) as session:
            claimed = await revocations.claim(
                session, self._sealer, row_id=row_id, now=self._clock()
            )
        for pending in claimed:
            await self._attempt(pending)

    async def _attempt(self, pending: revocations.PendingRevoke) -> int:
        try:
            await self._oauth().revoke(pending.token)
        except ZoomGrantInvalid:
            pass  # Zoom no longer knows the token: nothing is left to revoke
        except Problem as exc:
            log.warning(
                "zoom revoke failed; will retry",
                extra={"user_id": pending.user_id, "problem": exc.code},
            )
            async with transaction(self._sessions) as session:
                now = self._clock()
                if not await revocations.failed(session, pending=pending, error=exc.code, now=now):
                    log.error("zoom revoke abandoned", extra={"user_id": pending.user_id})
                    await audit.record(
                        session,
                        action="zoom.revoke_abandoned",
                        at=now,
                        actor="linkzoom",
                        subject_user_id=pending.user_id,
                        detail={"attempts": pending.attempts + 1, "last_error": exc.code},
                    )
            return 0
        async with transaction(self._sessions) as session:
            await revocations.done(session, row_id=pending.id)
        if pending.attempts:
            log.info("zoom revoke confirmed on retry", extra={"user_id": pending.user_id})
        return 1

    async def deauthorized(
        self, session: AsyncSession, *, zoom_user_id: str, zoom_account_id: str | None
    ) -> int:
        """Zoom says the user removed our app: erase their grant (nothing to revoke), in the
        caller's transaction (the webhook intake's, which also records the delivery)."""
        now = self._clock()
        user_ids = await grant_store.users_for_zoom_user(
            session, zoom_user_id=zoom_user_id, zoom_account_id=zoom_account_id
        )
        for user_id in user_ids:
            await grant_store.erase(session, user_id=user_id)
            await audit.record(
                session,
                action="zoom.deauthorized",
                at=now,
                actor="zoom",
                subject_user_id=user_id,
                detail={"zoom_user_id": zoom_user_id, "zoom_account_id": zoom_account_id},
            )
        return len(user_ids)


def deauthorization_handler(accounts: ZoomAccounts) -> Handler:
    """``app_deauthorized``: the user removed our app in Zoom; their grant is erased."""

    async def handle(session: AsyncSession, payload: Mapping[str, Any]) -> None:
        user_id = payload.get("user_id")
        if isinstance(user_id, str) and user_id:
            account_id = payload.get("account_id")
            await accounts.deauthorized(
                session,
                zoom_user_id=user_id,
                zoom_account_id=account_id if isinstance(account_id, str) else None,
            )

    return handle
