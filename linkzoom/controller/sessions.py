"""Server-side browser sessions for the controller pages.

The cookie holds 32 random bytes; the database holds only their SHA-256 digest, so a copy of the
database signs no one in, and revoking a row ends the session at once, everywhere. Each session
has an absolute deadline (``expires_at``, fixed at sign-in) and an idle deadline (``last_seen_at``
plus the policy's idle time); :func:`linkzoom.controller.plan.session_verdict` decides.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.config import Settings
from linkzoom.controller.plan import SessionPolicy, needs_touch, session_verdict
from linkzoom.store.controller_tables import ControllerSession
from linkzoom.store.models import User

TOKEN_PREFIX = "lzc_"
POLICY = SessionPolicy()


def policy_for(settings: Settings) -> SessionPolicy:
    """The administrator's lifetimes (``LINKZOOM_CONTROLLER_IDLE_MINUTES``/``_SESSION_HOURS``)."""
    return SessionPolicy(
        idle=timedelta(minutes=settings.controller_idle_minutes),
        absolute=timedelta(hours=settings.controller_session_hours),
    )


# Ended sessions are deleted a day after their deadline; nothing shows them, so no longer.
RETENTION = timedelta(days=1)


def cookie_name(secure: bool) -> str:
    """``__Host-`` (https only) pins the cookie to this host and path ``/``: a sibling subdomain
    cannot plant or shadow it."""
    return "__Host-lz_session" if secure else "lz_session"


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True, kw_only=True)
class Issued:
    token: str
    session_id: str


async def issue(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    address: str | None,
    policy: SessionPolicy = POLICY,
) -> Issued:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ControllerSession(
        id=secrets.token_hex(16),
        user_id=user_id,
        token_hash=digest(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + policy.absolute,
        revoked_at=None,
        address=address,
    )
    session.add(row)
    await session.flush()
    return Issued(token=token, session_id=row.id)


async def authenticate(
    session: AsyncSession, token: str, *, now: datetime, policy: SessionPolicy = POLICY
) -> tuple[User, ControllerSession] | None:
    """The user and session behind a cookie, or ``None`` if it no longer signs anyone in."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    found = (
        await session.execute(
            select(ControllerSession, User)
            .join(User, User.id == ControllerSession.user_id)
            .where(ControllerSession.token_hash == digest(token))
        )
    ).one_or_none()
    if found is None:
        return None
    row, user = found
    verdict = session_verdict(
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        now=now,
        policy=policy,
    )
    if verdict != "active" or user.disabled_at is not None:
        if row.revoked_at is None:
            row.revoked_at = now  # an idle session stays dead even if the clock were set back
        return None
    if needs_touch(row.last_seen_at, now):
        row.last_seen_at = now
    return user, row


async def revoke(session: AsyncSession, *, session_id: str, now: datetime) -> None:
    await session.execute(
        update(ControllerSession)
        .where(ControllerSession.id == session_id, ControllerSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_all(
    session: AsyncSession, *, user_id: int, now: datetime, keep: str | None = None
) -> int:
    """End every session of ``user_id`` except ``keep`` (the browser asking, if any)."""
    query = update(ControllerSession).where(
        ControllerSession.user_id == user_id, ControllerSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(ControllerSession.id != keep)
    result = await session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0))


async def prune(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(
        delete(ControllerSession).where(ControllerSession.expires_at < now - RETENTION)
    )
