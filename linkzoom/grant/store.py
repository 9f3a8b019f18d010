"""The Zoom grant: tokens sealed in the ``Zoom``/``oauth`` preference, facts in ``zoom_grants``.

``GrantState`` is the opened view of both rows. Store functions take the caller's session and
never commit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.grant_tables import ZoomGrant
from linkzoom.store.models import Preference
from linkzoom.store.programs import Program, Statement, run_in_session
from linkzoom.vault import preferences
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.models import TokenSet, ZoomUser

RESOURCE = "Zoom"
TAG = "oauth"


@dataclass(frozen=True, kw_only=True)
class GrantState:
    user_id: int
    preference_id: int
    version: int
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refreshed_at: datetime
    authorized_at: datetime
    reauthorize_by: datetime
    broken_at: datetime | None
    zoom_user_id: str
    zoom_account_id: str
    account_email: str | None
    last_used_at: datetime | None


def _payload(tokens: TokenSet) -> dict[str, str]:
    return {"access_token": tokens.access_token, "refresh_token": tokens.refresh_token}


_G = ZoomGrant.__table__.c
_P = Preference.__table__.c
# Every Zoom call reads it (compose, calendar): the grant's facts and its sealed tokens in one
# indexed join, a statement compiled once (linkzoom.store.programs).
_LOAD = Statement(
    select(
        _P.id,
        _P.version,
        _P.key_id,
        _P.ciphertext,
        _P.resource,
        _P.tag,
        _P.last_used_at,
        _G.access_expires_at,
        _G.refreshed_at,
        _G.authorized_at,
        _G.reauthorize_by,
        _G.broken_at,
        _G.zoom_user_id,
        _G.zoom_account_id,
        _G.account_email,
    )
    .join_from(ZoomGrant.__table__, Preference.__table__, _P.id == _G.preference_id)
    .where(_G.user_id == bindparam("user_id"))
)


def loading(sealer: Sealer, *, user_id: int) -> Program[GrantState | None]:
    found = (yield _LOAD(user_id=user_id)).first()
    if found is None:
        return None
    (
        preference_id,
        version,
        key_id,
        ciphertext,
        resource,
        tag,
        last_used_at,
        access_expires_at,
        refreshed_at,
        authorized_at,
        reauthorize_by,
        broken_at,
        zoom_user_id,
        zoom_account_id,
        account_email,
    ) = found
    secret = preferences.open_sealed(
        sealer, user_id=user_id, resource=resource, tag=tag, key_id=key_id, ciphertext=ciphertext
    )
    return GrantState(
        user_id=user_id,
        preference_id=preference_id,
        version=version,
        access_token=secret["access_token"],
        refresh_token=secret["refresh_token"],
        access_expires_at=access_expires_at,
        refreshed_at=refreshed_at,
        authorized_at=authorized_at,
        reauthorize_by=reauthorize_by,
        broken_at=broken_at,
        zoom_user_id=zoom_user_id,
        zoom_account_id=zoom_account_id,
        account_email=account_email,
        last_used_at=last_used_at,
    )


async def load(session: AsyncSession, sealer: Sealer, *, user_id: int) -> GrantState | None:
    return await run_in_session(session, loading(sealer, user_id=user_id))


async def store_new(
    session: AsyncSession,
    sealer: Sealer,
    *,
    user_id: int,
    tokens: TokenSet,
    zoom_user: ZoomUser,
    now: datetime,
    reauthorize_after: timedelta,
) -> None:
    """Store a freshly consented grant, replacing any earlier one (authorized_at restarts)."""
    row = await preferences.put(
        session,
        sealer,
        user_id=user_id,
        resource=RESOURCE,
        tag=TAG,
        payload=_payload(tokens),
        now=now,
    )
    await session.execute(delete(ZoomGrant).where(ZoomGrant.user_id == user_id))
    session.add(
        ZoomGrant(
            user_id=user_id,
            preference_id=row.id,
            zoom_user_id=zoom_user.id,
            zoom_account_id=zoom_user.account_id,
            account_email=zoom_user.email,
            scope=tokens.scope,
            authorized_at=now,
            reauthorize_by=now + reauthorize_after,
            access_expires_at=tokens.expires_at(now),
            refreshed_at=now,
            broken_at=None,
            broken_reason=None,
        )
    )


async def store_refreshed(
    session: AsyncSession,
    sealer: Sealer,
    *,
    state: GrantState,
    tokens: TokenSet,
    now: datetime,
    lease_owner: str,
) -> bool:
    """Persist rotated tokens over the grant they were refreshed from; ``False`` (nothing
    written) when the stored grant is no longer that one.

    Zoom has already spent the old refresh token, so these are the only valid tokens *of that
    grant*: they are written even if our lease lapsed meanwhile, and they clear a ``broken``
    mark (a process that refreshed with the spent token while ours was in flight got
    ``invalid_grant`` about a grant that is in fact alive). But a new consent stored meanwhile
    is a newer grant and must survive: the write is a compare-and-swap on the row's version,
    taken after checking that the stored refresh token is still the one we spent. (A key
    rotation also bumps the version without changing the tokens, which is why the check is on
    the content and the swap on the version read with it.)
    """
    row = await session.scalar(
        select(Preference).where(Preference.id == state.preference_id).with_for_update()
    )
    if row is None or preferences.open_row(sealer, row)["refresh_token"] != state.refresh_token:
        return False
    kid, ciphertext = preferences.seal_payload(
        sealer, user_id=state.user_id, resource=RESOURCE, tag=TAG, payload=_payload(tokens)
    )
    swapped = await session.execute(
        update(Preference)
        .where(Preference.id == row.id, Preference.version == row.version)
        .values(key_id=kid, ciphertext=ciphertext, version=row.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if not getattr(swapped, "rowcount", 0):
        return False
    await session.execute(
        update(ZoomGrant)
        .where(ZoomGrant.user_id == state.user_id, ZoomGrant.preference_id == row.id)
        .values(
            access_expires_at=tokens.expires_at(now),
            refreshed_at=now,
            scope=tokens.scope,
            broken_at=None,
            broken_reason=None,
        )
    )
    await release_lease(session, user_id=state.user_id, owner=lease_owner)
    return True


async def renew_lease(
    session: AsyncSession, *, user_id: int, owner: str, now: datetime, duration: timedelta
) -> bool:
    """Extend a lease this caller holds; ``False`` when it no longer holds it."""
    result = await session.execute(
        update(ZoomGrant)
        .where(ZoomGrant.user_id == user_id, ZoomGrant.lease_owner == owner)
        .values(lease_until=now + duration)
    )
    return bool(getattr(result, "rowcount", 0))


async def take_lease(
    session: AsyncSession, *, user_id: int, owner: str, now: datetime, duration: timedelta
) -> bool:
    """Compare-and-swap the refresh lease; true when this caller now holds it."""
    result = await session.execute(
        update(ZoomGrant)
        .where(
            ZoomGrant.user_id == user_id,
            (ZoomGrant.lease_until.is_(None)) | (ZoomGrant.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + duration)
    )
    return bool(getattr(result, "rowcount", 0))


async def release_lease(session: AsyncSession, *, user_id: int, owner: str) -> None:
    await session.execute(
        update(ZoomGrant)
        .where(ZoomGrant.user_id == user_id, ZoomGrant.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
    )


async def mark_broken(
    session: AsyncSession, *, state: GrantState, reason: str, now: datetime
) -> bool:
    """Mark broken only if the refresh token Zoom refused is still the stored one; when another
    process stored a newer token meanwhile, the refusal is about a token already replaced."""
    current = await session.scalar(
        select(Preference.version).where(Preference.id == state.preference_id)
    )
    if current != state.version:
        return False
    await session.execute(
        update(ZoomGrant)
        .where(ZoomGrant.user_id == state.user_id)
        .values(broken_at=now, broken_reason=reason, lease_owner=None, lease_until=None)
    )
    return True


async def erase(session: AsyncSession, *, user_id: int) -> bool:
    """Delete the tokens; the ``zoom_grants`` row goes with them (ON DELETE CASCADE)."""
    await session.execute(delete(ZoomGrant).where(ZoomGrant.user_id == user_id))
    return await preferences.remove(session, user_id=user_id, resource=RESOURCE, tag=TAG)


async def users_for_zoom_user(
    session: AsyncSession, *, zoom_user_id: str, zoom_account_id: str | None
) -> list[int]:
    query = select(ZoomGrant.user_id).where(ZoomGrant.zoom_user_id == zoom_user_id)
    if zoom_account_id:
        query = query.where(ZoomGrant.zoom_account_id == zoom_account_id)
    return list(await session.scalars(query))


async def due_for_keep_alive(
    session: AsyncSession, *, refreshed_before: datetime, now: datetime, limit: int = 100
) -> list[int]:
    result = await session.scalars(
        select(ZoomGrant.user_id)
        .where(
            ZoomGrant.refreshed_at < refreshed_before,
            ZoomGrant.broken_at.is_(None),
            ZoomGrant.reauthorize_by > now,
        )
        .order_by(ZoomGrant.refreshed_at)
        .limit(limit)
    )
    return list(result)
