"""The outbox of Zoom revocations: grants we erased locally that Zoom has not yet revoked.

A row is written in the same transaction that erases the user's tokens, so the local deletion
never waits on Zoom and yet no live grant is forgotten: the request that disconnected tries the
revoke at once, and if Zoom is unreachable the worker retries with back-off (:func:`backoff`)
until Zoom confirms or :data:`GIVE_UP_AFTER` has passed. Rows are claimed by moving
``next_attempt_at`` forward with a compare-and-swap, so two processes never revoke one grant twice.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.grant.store import GrantState
from linkzoom.problems import SealedDataUnreadable
from linkzoom.store.grant_tables import ZoomPendingRevoke
from linkzoom.vault.seal import Sealer, preference_context

CLAIM = timedelta(minutes=2)  # longer than any one revoke call with its retries
CLAIM_BATCH = 50
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=6)
# Past this, the refresh token has likely lapsed at Zoom anyway; stop and say so in the audit.
GIVE_UP_AFTER = timedelta(days=30)
# An access token this close to expiry may die in flight; revoke with the refresh token instead.
ACCESS_MARGIN = timedelta(minutes=5)
UNREADABLE = "sealed-data-unreadable"


@dataclass(frozen=True, kw_only=True)
class PendingRevoke:
    id: str
    user_id: int | None
    token: str = field(repr=False)
    attempts: int
    created_at: datetime


def backoff(attempts: int) -> timedelta:
    """Wait after the ``attempts``-th failure: 1, 2, 4 … minutes, at most six hours."""
    return min(FIRST_RETRY * (1 << min(max(attempts - 1, 0), 20)), MAX_RETRY)


def token_to_revoke(
    access_token: str, refresh_token: str, *, access_expires_at: datetime, now: datetime
) -> str:
    """Zoom documents revoking with the access token; once that has expired, the refresh token
    (which RFC 7009 requires servers to accept) still names the grant."""
    return access_token if now < access_expires_at - ACCESS_MARGIN else refresh_token


def _context(row_id: str) -> bytes:
    return preference_context(0, "linkzoom.zoom-revoke", row_id)


async def enqueue(
    session: AsyncSession, sealer: Sealer, *, state: GrantState, now: datetime
) -> str:
    """Record the grant as owed a revoke; the caller holds the claim for :data:`CLAIM`."""
    row_id = secrets.token_hex(16)
    payload = json.dumps({"access": state.access_token, "refresh": state.refresh_token}).encode()
    kid, ciphertext = sealer.seal(payload, _context(row_id))
    session.add(
        ZoomPendingRevoke(
            id=row_id,
            user_id=state.user_id,
            key_id=kid,
            ciphertext=ciphertext,
            access_expires_at=state.access_expires_at,
            created_at=now,
            attempts=0,
            next_attempt_at=now + CLAIM,
            last_error=None,
        )
    )
    await session.flush()
    return row_id


async def claim(
    session: AsyncSession,
    sealer: Sealer,
    *,
    row_id: str | None,
    now: datetime,
    limit: int = CLAIM_BATCH,
) -> list[PendingRevoke]:
    """Claim one row (``row_id``) regardless of its schedule, or up to ``limit`` due rows."""
    query = select(ZoomPendingRevoke)
    if row_id is not None:
        query = query.where(ZoomPendingRevoke.id == row_id)
    else:
        query = (
            query.where(ZoomPendingRevoke.next_attempt_at <= now)
            .order_by(ZoomPendingRevoke.next_attempt_at)
            .limit(limit)
        )
    claimed = []
    for row in list(await session.scalars(query)):
        result = await session.execute(
            update(ZoomPendingRevoke)
            .where(
                ZoomPendingRevoke.id == row.id,
                ZoomPendingRevoke.next_attempt_at == row.next_attempt_at,
            )
            .values(next_attempt_at=now + CLAIM)
        )
        if not getattr(result, "rowcount", 0):
            continue  # another process claimed it between our read and our write
        try:
            tokens = json.loads(sealer.open(row.key_id, row.ciphertext, _context(row.id)))
        except SealedDataUnreadable:
            # Its key left the ring (or the row was tampered with): this row cannot be revoked
            # until the key is back. Say so on the row and go on with the others.
            await session.execute(
                update(ZoomPendingRevoke)
                .where(ZoomPendingRevoke.id == row.id)
                .values(
                    attempts=row.attempts + 1,
                    next_attempt_at=now + backoff(row.attempts + 1),
                    last_error=UNREADABLE,
                )
            )
            continue
        claimed.append(
            PendingRevoke(
                id=row.id,
                user_id=row.user_id,
                token=token_to_revoke(
                    tokens["access"],
                    tokens["refresh"],
                    access_expires_at=row.access_expires_at,
                    now=now,
                ),
                attempts=row.attempts,
                created_at=row.created_at,
            )
        )
    return claimed


async def done(session: AsyncSession, *, row_id: str) -> None:
    await session.execute(delete(ZoomPendingRevoke).where(ZoomPendingRevoke.id == row_id))


async def failed(
    session: AsyncSession, *, pending: PendingRevoke, error: str, now: datetime
) -> bool:
    """Schedule the next attempt; ``False`` (and the row deleted) when it is time to give up."""
    if now - pending.created_at >= GIVE_UP_AFTER:
        await done(session, row_id=pending.id)
        return False
    attempts = pending.attempts + 1
    await session.execute(
        update(ZoomPendingRevoke)
        .where(ZoomPendingRevoke.id == pending.id)
        .values(attempts=attempts, next_attempt_at=now + backoff(attempts), last_error=error[:200])
    )
    return True


async def owed(session: AsyncSession) -> int:
    """How many revocations are still owed (for the console)."""
    return int(await session.scalar(select(func.count()).select_from(ZoomPendingRevoke)) or 0)


async def unreadable(session: AsyncSession) -> int:
    """How many owed revocations could not be opened (their key is missing from the ring)."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(ZoomPendingRevoke)
            .where(ZoomPendingRevoke.last_error == UNREADABLE)
        )
        or 0
    )


async def reseal(session: AsyncSession, sealer: Sealer) -> int:
    """Re-seal owed revokes under the primary key (``linkzoom keys rotate``). The worker claims
    rows by updating them, so a row it holds is simply re-sealed on the next pass."""
    count = 0
    rows = await session.scalars(
        select(ZoomPendingRevoke)
        .where(ZoomPendingRevoke.key_id != sealer.primary_kid)
        .with_for_update(skip_locked=True)
    )
    for row in list(rows):
        context = _context(row.id)
        row.key_id, row.ciphertext = sealer.seal(
            sealer.open(row.key_id, row.ciphertext, context), context
        )
        count += 1
    return count
