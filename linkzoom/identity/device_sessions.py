"""Device sessions for the add-in API: the session mechanism of :mod:`linkzoom.identity.sessions`
with bearer tokens, no idle timeout, a lifetime set at sign-in and a bounded number per user.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.identity import sessions
from linkzoom.identity.sessions import Refusal, SessionPolicy
from linkzoom.problems import NotAuthenticated
from linkzoom.store.models import DeviceSession, User
from linkzoom.store.programs import Program, run_in_session

TOKEN_PREFIX = "lzd_"
# The lifetime is the deployment's (LINKZOOM_SESSION_DAYS), given to :func:`issue`.
POLICY = SessionPolicy(table=DeviceSession, token_prefix=TOKEN_PREFIX, absolute=timedelta(days=30))
IssuedSession = sessions.Issued[DeviceSession]
_REFUSED: dict[Refusal, str] = {
    "unknown": "The access token is not valid.",
    "ended": "The session has ended; sign in again.",
    "disabled": "This account is disabled.",
}


async def issue(
    session: AsyncSession,
    *,
    user: User,
    device_name: str,
    lifetime: timedelta,
    now: datetime,
    address: str | None,
    keep: int = 20,
) -> IssuedSession:
    """A new session; the user's least recently used ones beyond ``keep`` live sessions are
    ended (a script signing in in a loop cannot grow the table, or the Devices panel, without
    bound), and ended ones beyond ``keep`` are deleted."""
    issued = await sessions.issue(
        session,
        POLICY,
        user_id=user.id,
        now=now,
        lifetime=lifetime,
        device_name=device_name,
        created_address=address,
    )
    await _trim(session, user_id=user.id, keep=keep, now=now)
    return issued


async def _trim(session: AsyncSession, *, user_id: int, keep: int, now: datetime) -> None:
    live = DeviceSession.revoked_at.is_(None) & (DeviceSession.expires_at > now)
    surplus = list(
        await session.scalars(
            select(DeviceSession.id)
            .where(DeviceSession.user_id == user_id, live)
            .order_by(DeviceSession.last_seen_at.desc(), DeviceSession.created_at.desc())
            .offset(keep)
        )
    )
    if surplus:
        await session.execute(
            update(DeviceSession).where(DeviceSession.id.in_(surplus)).values(revoked_at=now)
        )
    ended = list(
        await session.scalars(
            select(DeviceSession.id)
            .where(DeviceSession.user_id == user_id, ~live)
            .order_by(DeviceSession.last_seen_at.desc())
            .offset(keep)
        )
    )
    if ended:
        await session.execute(delete(DeviceSession).where(DeviceSession.id.in_(ended)))


async def authenticate(
    session: AsyncSession, token: str, *, now: datetime
) -> tuple[User, DeviceSession]:
    user, device, _ = await run_in_session(session, authenticating(token, now=now, also=None))
    return user, device


def authenticating(
    token: str, *, now: datetime, also: ScalarSelect[Any] | None
) -> Program[tuple[User, DeviceSession, Any]]:
    """The signed-in device's user and session, reading ``also`` (a scalar subquery built once)
    with the same statement: a request that needs one more fact (the feature switch) spares a
    round trip. Raises ``NotAuthenticated``."""
    found = yield from sessions.authenticating(POLICY, token, now=now, also=also)
    if isinstance(found, str):
        raise NotAuthenticated(_REFUSED[found])
    return found


async def revoke(session: AsyncSession, *, session_id: str, user_id: int, now: datetime) -> bool:
    return await sessions.revoke(session, POLICY, session_id=session_id, user_id=user_id, now=now)


async def revoke_all(session: AsyncSession, *, user_id: int, now: datetime) -> int:
    return await sessions.revoke_all(session, POLICY, user_id=user_id, now=now)


async def for_user(session: AsyncSession, *, user_id: int, now: datetime) -> list[DeviceSession]:
    rows = await session.scalars(
        select(DeviceSession)
        .where(
            DeviceSession.user_id == user_id,
            DeviceSession.revoked_at.is_(None),
            DeviceSession.expires_at > now,
        )
        .order_by(DeviceSession.last_seen_at.desc())
    )
    return list(rows)
