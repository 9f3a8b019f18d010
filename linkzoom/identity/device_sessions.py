"""Device sessions for the add-in API: random bearer tokens, stored only as SHA-256 digests.

A token is 32 random bytes, so a plain digest is enough (no salt or slow hash needed: there is
nothing to brute-force), and lookups stay one indexed equality.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ScalarSelect, delete, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import NotAuthenticated
from linkzoom.store.models import DeviceSession, User

TOKEN_PREFIX = "lzd_"
# last_seen_at is bookkeeping for the Devices panel; once a minute is precise enough and saves
# a write on nearly every request.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class IssuedSession:
    token: str
    session: DeviceSession


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


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
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = DeviceSession(
        id=secrets.token_hex(16),
        user_id=user.id,
        token_hash=digest(token),
        device_name=device_name,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        revoked_at=None,
        created_address=address,
    )
    session.add(row)
    await session.flush()
    await _trim(session, user_id=user.id, keep=keep, now=now)
    return IssuedSession(token=token, session=row)


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
    user, device, _ = await authenticate_reading(session, token, now=now, also=None)
    return user, device


async def authenticate_reading(
    session: AsyncSession, token: str, *, now: datetime, also: ScalarSelect[Any] | None
) -> tuple[User, DeviceSession, Any]:
    """:func:`authenticate`, reading ``also`` (a scalar subquery) with the same statement: a
    request that needs one more fact (the feature switch) spares a round trip."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        raise NotAuthenticated("The access token is not valid.")
    extra = literal(None) if also is None else also
    found = (
        await session.execute(
            select(DeviceSession, User, extra)
            .join(User, User.id == DeviceSession.user_id)
            .where(DeviceSession.token_hash == digest(token))
        )
    ).one_or_none()
    if found is None:
        raise NotAuthenticated("The access token is not valid.")
    device, user, value = found
    if device.revoked_at is not None or device.expires_at <= now:
        raise NotAuthenticated("The session has ended; sign in again.")
    if user.disabled_at is not None:
        raise NotAuthenticated("This account is disabled.")
    if now - device.last_seen_at >= LAST_SEEN_RESOLUTION:
        await session.execute(
            update(DeviceSession).where(DeviceSession.id == device.id).values(last_seen_at=now)
        )
    return user, device, value


async def revoke(session: AsyncSession, *, session_id: str, user_id: int, now: datetime) -> bool:
    result = await session.execute(
        update(DeviceSession)
        .where(
            DeviceSession.id == session_id,
            DeviceSession.user_id == user_id,
            DeviceSession.revoked_at.is_(None),
        )
        .values(revoked_at=now)
    )
    return bool(getattr(result, "rowcount", 0))


async def revoke_all(session: AsyncSession, *, user_id: int, now: datetime) -> int:
    result = await session.execute(
        update(DeviceSession)
        .where(DeviceSession.user_id == user_id, DeviceSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0))


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
