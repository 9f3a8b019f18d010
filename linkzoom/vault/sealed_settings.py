"""Deployment-wide settings as rows: plain values in ``app_settings``, secrets sealed by the
vault in ``sealed_settings`` (write-only; :func:`linkzoom.zoom.app_credentials.reseal` re-seals
every sealed row under the primary key at key rotation)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.models import AppSetting
from linkzoom.vault.seal import Sealer, preference_context


def setting_context(name: str) -> bytes:
    """The associated data sealing the secret stored as ``name``. User id 0 is never a real
    user: this names a deployment-wide value."""
    return preference_context(0, "linkzoom.settings", name)


async def plain_values(session: AsyncSession, keys: Iterable[str]) -> dict[str, str]:
    rows = await session.execute(
        select(AppSetting.key, AppSetting.value).where(AppSetting.key.in_(list(keys)))
    )
    return {key: value for key, value in rows}


async def save_plain(
    session: AsyncSession, values: Mapping[str, str | None], *, now: datetime
) -> None:
    """Set each key; ``None`` removes it."""
    for key, value in values.items():
        row = await session.get(AppSetting, key, with_for_update=True)
        if value is None:
            if row is not None:
                await session.delete(row)
        elif row is None:
            session.add(AppSetting(key=key, value=value, updated_at=now))
        else:
            row.value, row.updated_at = value, now


async def open_sealed(session: AsyncSession, sealer: Sealer, name: str) -> str | None:
    sealed = await session.get(SealedSetting, name)
    if sealed is None:
        return None
    return sealer.open(sealed.key_id, sealed.ciphertext, setting_context(name)).decode()


async def save_sealed(
    session: AsyncSession, sealer: Sealer, name: str, value: str, *, now: datetime
) -> None:
    kid, ciphertext = sealer.seal(value.encode(), setting_context(name))
    sealed = await session.get(SealedSetting, name, with_for_update=True)
    if sealed is None:
        session.add(SealedSetting(name=name, key_id=kid, ciphertext=ciphertext, updated_at=now))
    else:
        sealed.key_id, sealed.ciphertext = kid, ciphertext
        sealed.version, sealed.updated_at = sealed.version + 1, now


async def remove(session: AsyncSession, *, plain: Iterable[str], sealed: Iterable[str]) -> None:
    await session.execute(delete(AppSetting).where(AppSetting.key.in_(list(plain))))
    await session.execute(delete(SealedSetting).where(SealedSetting.name.in_(list(sealed))))
