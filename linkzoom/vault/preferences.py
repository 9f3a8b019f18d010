"""Per-user preferences keyed (user, resource name, preference tag), sealed at rest.

Store functions take the caller's ``session`` keyword-only and never commit: the caller owns the
transaction. Payloads are JSON objects; their plaintext exists only in memory.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.models import Preference
from linkzoom.store.programs import Program, Statement
from linkzoom.store.types import TZDateTime
from linkzoom.vault.seal import Sealer, preference_context

# Writing last_used_at on every read would turn each API call into a write; a minute's
# resolution is plenty for "last used" on My Account.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@dataclass(frozen=True, kw_only=True)
class OpenedPreference:
    row: Preference
    payload: dict[str, Any]


def seal_payload(
    sealer: Sealer, *, user_id: int, resource: str, tag: str, payload: dict[str, Any]
) -> tuple[str, bytes]:
    plaintext = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return sealer.seal(plaintext, preference_context(user_id, resource, tag))


def open_row(sealer: Sealer, row: Preference) -> dict[str, Any]:
    return open_sealed(
        sealer,
        user_id=row.user_id,
        resource=row.resource,
        tag=row.tag,
        key_id=row.key_id,
        ciphertext=row.ciphertext,
    )


def open_sealed(
    sealer: Sealer, *, user_id: int, resource: str, tag: str, key_id: str, ciphertext: bytes
) -> dict[str, Any]:
    plaintext = sealer.open(key_id, ciphertext, preference_context(user_id, resource, tag))
    payload = json.loads(plaintext)
    assert isinstance(payload, dict)
    return payload


async def put(
    session: AsyncSession,
    sealer: Sealer,
    *,
    user_id: int,
    resource: str,
    tag: str,
    payload: dict[str, Any],
    now: datetime,
) -> Preference:
    """Insert or replace a preference; bumps ``version`` so concurrent writers notice."""
    kid, ciphertext = seal_payload(
        sealer, user_id=user_id, resource=resource, tag=tag, payload=payload
    )
    row = await _row(session, user_id=user_id, resource=resource, tag=tag, lock=True)
    if row is None:
        row = Preference(
            user_id=user_id,
            resource=resource,
            tag=tag,
            key_id=kid,
            ciphertext=ciphertext,
            version=1,
            created_at=now,
            updated_at=now,
            last_used_at=None,
        )
        session.add(row)
        await session.flush()
        return row
    row.key_id, row.ciphertext = kid, ciphertext
    row.version += 1
    row.updated_at = now
    await session.flush()
    return row


async def get(
    session: AsyncSession, sealer: Sealer, *, user_id: int, resource: str, tag: str
) -> OpenedPreference | None:
    row = await _row(session, user_id=user_id, resource=resource, tag=tag)
    if row is None:
        return None
    return OpenedPreference(row=row, payload=open_row(sealer, row))


_TOUCH = Statement(
    update(Preference)
    .where(Preference.__table__.c.id == bindparam("preference_id"))
    .values(last_used_at=bindparam("now", type_=TZDateTime))
)


def touching(*, preference_id: int, last_used_at: datetime | None, now: datetime) -> Program[None]:
    """Record use, at most once per :data:`LAST_USED_RESOLUTION`."""
    if last_used_at is None or now - last_used_at >= LAST_USED_RESOLUTION:
        yield _TOUCH(preference_id=preference_id, now=now)


async def list_for_user(session: AsyncSession, *, user_id: int) -> list[Preference]:
    result = await session.scalars(
        select(Preference)
        .where(Preference.user_id == user_id)
        .order_by(Preference.resource, Preference.tag)
    )
    return list(result)


async def remove(session: AsyncSession, *, user_id: int, resource: str, tag: str) -> bool:
    result = await session.execute(
        delete(Preference).where(
            Preference.user_id == user_id, Preference.resource == resource, Preference.tag == tag
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def _row(
    session: AsyncSession, *, user_id: int, resource: str, tag: str, lock: bool = False
) -> Preference | None:
    query = select(Preference).where(
        Preference.user_id == user_id, Preference.resource == resource, Preference.tag == tag
    )
    if lock:
        query = query.with_for_update()
    return (await session.scalars(query)).one_or_none()
