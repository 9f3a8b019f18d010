"""Server-side browser sessions for the controller pages: the session mechanism of
:mod:`linkzoom.identity.sessions` with an idle timeout, behind a cookie.

The cookie holds the token; the database only its digest. Each session has an absolute deadline
(fixed at sign-in) and an idle one (``last_seen_at`` plus the policy's idle time); a session
refused for either is marked revoked, so it stays dead even if the clock were set back.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.config import Settings
from linkzoom.identity import sessions
from linkzoom.identity.sessions import SessionPolicy
from linkzoom.store.controller_tables import ControllerSession
from linkzoom.store.models import User

TOKEN_PREFIX = "lzc_"
POLICY = SessionPolicy(
    table=ControllerSession,
    token_prefix=TOKEN_PREFIX,
    idle=timedelta(minutes=30),
    absolute=timedelta(hours=12),
    revoke_refused=True,
)
Issued = sessions.Issued[ControllerSession]


def policy_for(settings: Settings) -> SessionPolicy[ControllerSession]:
    """The administrator's lifetimes (``LINKZOOM_CONTROLLER_IDLE_MINUTES``/``_SESSION_HOURS``)."""
    return replace(
        POLICY,
        idle=timedelta(minutes=settings.controller_idle_minutes),
        absolute=timedelta(hours=settings.controller_session_hours),
    )


# Ended sessions are deleted a day after their deadline; nothing shows them, so no longer.
RETENTION = timedelta(days=1)


def cookie_name(secure: bool) -> str:
    """``__Host-`` (https only) pins the cookie to this host and path ``/``: a sibling subdomain
    cannot plant or shadow it."""
    return "__Host-lz_session" if secure else "lz_session"


async def issue(
    session: AsyncSession,
    *,
    user_id: int,
    now: datetime,
    address: str | None,
    policy: SessionPolicy[ControllerSession] = POLICY,
) -> Issued:
    return await sessions.issue(session, policy, user_id=user_id, now=now, address=address)


async def authenticate(
    session: AsyncSession,
    token: str,
    *,
    now: datetime,
    policy: SessionPolicy[ControllerSession] = POLICY,
) -> tuple[User, ControllerSession] | None:
    """The user and session behind a cookie, or ``None`` if it no longer signs anyone in."""
    found = await sessions.authenticate(session, policy, token, now=now)
    if isinstance(found, str):
        return None
    user, row, _ = found
    return user, row


async def revoke(session: AsyncSession, *, session_id: str, now: datetime) -> None:
    await sessions.revoke(session, POLICY, session_id=session_id, now=now)


async def revoke_all(
    session: AsyncSession, *, user_id: int, now: datetime, keep: str | None = None
) -> int:
    """End every session of ``user_id`` except ``keep`` (the browser asking, if any)."""
    return await sessions.revoke_all(session, POLICY, user_id=user_id, now=now, keep=keep)


async def prune(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(
        delete(ControllerSession).where(ControllerSession.expires_at < now - RETENTION)
    )
