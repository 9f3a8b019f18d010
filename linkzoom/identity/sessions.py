"""One session mechanism with two policies: device sessions (the add-in's bearer tokens,
:mod:`linkzoom.identity.device_sessions`) and browser sessions (the console's cookie,
:mod:`linkzoom.controller.sessions`).

A token is a prefix and 32 random bytes; the database holds only its SHA-256 digest, so a copy
of the database signs no one in, and a lookup stays one indexed equality (no salt or slow hash:
there is nothing to brute-force). Revoking a row ends the session at once, everywhere. Each
session has an absolute deadline (``expires_at``, fixed when it is issued) and, where its policy
has one, an idle deadline (``last_seen_at`` plus the idle time); :func:`session_verdict` decides.
``last_seen_at`` is written at most once a :data:`TOUCH_RESOLUTION`, which is precise enough for
the idle timeout and the Devices panel and saves a write on nearly every request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Literal, TypeVar

from sqlalchemy import ScalarSelect, bindparam, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.controller_tables import ControllerSession
from linkzoom.store.models import DeviceSession, User
from linkzoom.store.programs import Program, Statement, run_in_session
from linkzoom.store.types import TZDateTime

# last_seen_at is written at most this often; idle timeouts are measured against it.
TOUCH_RESOLUTION = timedelta(minutes=1)
MAX_TOKEN_LENGTH = 200

Row = TypeVar("Row", DeviceSession, ControllerSession)
Verdict = Literal["active", "idle", "expired", "revoked"]
# Why a token signs no one in: unknown (or not a token at all), ended, or its user disabled.
Refusal = Literal["unknown", "ended", "disabled"]


@dataclass(frozen=True, kw_only=True)
class SessionPolicy(Generic[Row]):
    """What differs between the kinds of session."""

    table: type[Row]
    token_prefix: str
    absolute: timedelta  # from issue to the hard deadline
    idle: timedelta | None = None  # ``None``: no idle timeout
    # Whether a refused session is marked revoked, so it stays dead even if the clock were set
    # back (an idle session would otherwise come back to life).
    revoke_refused: bool = False

    def __post_init__(self) -> None:
        if self.absolute <= timedelta(0):
            raise ValueError("SessionPolicy needs 0 < absolute")
        if self.idle is not None and not timedelta(0) < self.idle <= self.absolute:
            raise ValueError("SessionPolicy needs 0 < idle <= absolute")


@dataclass(frozen=True, kw_only=True)
class Issued(Generic[Row]):
    token: str
    session: Row


def digest(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def session_verdict(
    *,
    last_seen_at: datetime,
    expires_at: datetime,
    revoked_at: datetime | None,
    now: datetime,
    policy: SessionPolicy[Any],
) -> Verdict:
    """Whether a session may still be used at ``now`` (the absolute deadline wins over idle)."""
    if revoked_at is not None:
        return "revoked"
    if now >= expires_at:
        return "expired"
    if policy.idle is not None and now - last_seen_at >= policy.idle:
        return "idle"
    return "active"


def needs_touch(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= TOUCH_RESOLUTION


async def issue(
    session: AsyncSession,
    policy: SessionPolicy[Row],
    *,
    user_id: int,
    now: datetime,
    lifetime: timedelta | None = None,
    **columns: Any,
) -> Issued[Row]:
    """A new session row (``columns``: the kind's own, such as the device name)."""
    token = policy.token_prefix + secrets.token_urlsafe(32)
    row = policy.table(
        id=secrets.token_hex(16),
        user_id=user_id,
        token_hash=digest(token),
        created_at=now,
        last_seen_at=now,
        expires_at=now + (policy.absolute if lifetime is None else lifetime),
        revoked_at=None,
        **columns,
    )
    session.add(row)
    await session.flush()
    return Issued(token=token, session=row)


def authenticating(
    policy: SessionPolicy[Row],
    token: str,
    *,
    now: datetime,
    also: ScalarSelect[Any] | None = None,
) -> Program[tuple[User, Row, Any] | Refusal]:
    """The user and session behind ``token``, and ``also`` (a scalar subquery built once, read
    by the same statement: a request that needs one more fact, such as the feature switch,
    spares a round trip); else why not. A program (:mod:`linkzoom.store.programs`): one
    indexed read, and a write only when the session is touched or refused."""
    if not token.startswith(policy.token_prefix) or len(token) > MAX_TOKEN_LENGTH:
        return "unknown"
    lookup = _lookup(policy.table, also)
    found = (yield lookup.statement(digest=digest(token))).first()
    if found is None:
        return "unknown"
    row, user, value = lookup.split(found)
    verdict = session_verdict(
        last_seen_at=row.last_seen_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        now=now,
        policy=policy,
    )
    refusal: Refusal | None = (
        "ended" if verdict != "active" else "disabled" if user.disabled_at is not None else None
    )
    if refusal is not None:
        if policy.revoke_refused and row.revoked_at is None:
            yield lookup.revoke(row_id=row.id, now=now)
        return refusal
    if needs_touch(row.last_seen_at, now):
        yield lookup.touch(row_id=row.id, now=now)
        row.last_seen_at = now
    return user, row, value


async def authenticate(
    session: AsyncSession,
    policy: SessionPolicy[Row],
    token: str,
    *,
    now: datetime,
    also: ScalarSelect[Any] | None = None,
) -> tuple[User, Row, Any] | Refusal:
    """:func:`authenticating` in the caller's session."""
    return await run_in_session(session, authenticating(policy, token, now=now, also=also))


@dataclass(frozen=True)
class _Lookup(Generic[Row]):
    """The statements of one kind of session, built once: the read of a token's session and
    user (and one more fact), the touch, the revoke of a refused session."""

    table: type[Row]
    statement: Statement
    touch: Statement
    revoke: Statement
    session_columns: tuple[str, ...]
    user_columns: tuple[str, ...]

    def split(self, found: tuple[Any, ...]) -> tuple[Row, User, Any]:
        """Detached ORM objects from the row (the callers' types), without the ORM's load."""
        width = len(self.session_columns)
        row = self.table(**dict(zip(self.session_columns, found[:width], strict=True)))
        user_values = found[width : width + len(self.user_columns)]
        user = User(**dict(zip(self.user_columns, user_values, strict=True)))
        return row, user, found[-1]


_LOOKUPS: dict[tuple[type[Any], ScalarSelect[Any] | None], _Lookup[Any]] = {}


def _lookup(table: type[Row], also: ScalarSelect[Any] | None) -> _Lookup[Row]:
    found = _LOOKUPS.get((table, also))
    if found is None:
        session_columns = tuple(c.key for c in table.__table__.columns)
        user_columns = tuple(c.key for c in User.__table__.columns)
        read = (
            select(
                *table.__table__.columns,
                *User.__table__.columns,
                literal(None) if also is None else also,
            )
            .join_from(table, User, User.id == table.user_id)
            .where(table.token_hash == bindparam("digest"))
        )
        found = _LOOKUPS[(table, also)] = _Lookup(
            table=table,
            statement=Statement(read),
            touch=Statement(
                update(table)
                .where(table.id == bindparam("row_id"))
                .values(last_seen_at=bindparam("now", type_=TZDateTime))
            ),
            revoke=Statement(
                update(table)
                .where(table.id == bindparam("row_id"), table.revoked_at.is_(None))
                .values(revoked_at=bindparam("now", type_=TZDateTime))
            ),
            session_columns=session_columns,
            user_columns=user_columns,
        )
    return found


async def revoke(
    session: AsyncSession,
    policy: SessionPolicy[Row],
    *,
    session_id: str,
    now: datetime,
    user_id: int | None = None,
) -> bool:
    """End one session (only if it is ``user_id``'s, when given); whether one was live."""
    table = policy.table
    query = update(table).where(table.id == session_id, table.revoked_at.is_(None))
    if user_id is not None:
        query = query.where(table.user_id == user_id)
    result = await session.execute(query.values(revoked_at=now))
    return bool(getattr(result, "rowcount", 0))


async def revoke_all(
    session: AsyncSession,
    policy: SessionPolicy[Row],
    *,
    user_id: int,
    now: datetime,
    keep: str | None = None,
) -> int:
    """End every live session of ``user_id`` except ``keep``; how many."""
    table = policy.table
    query = update(table).where(table.user_id == user_id, table.revoked_at.is_(None))
    if keep is not None:
        query = query.where(table.id != keep)
    result = await session.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0))
