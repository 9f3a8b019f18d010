"""The add-in's id: ``LINKZOOM_ADDIN_ID``, else a GUID generated once and kept in the settings.

It must never change for a deployment: Exchange keeps the add-in's custom properties (the event
key the mailbox watch reads) under the named property ``cecp-<add-in id>``.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.addin.manifests import Deployment
from linkzoom.config import Settings
from linkzoom.store.db import dialect_insert
from linkzoom.store.models import AppSetting

SETTING = "addin.id"


async def addin_id(session: AsyncSession, *, configured: str | None, now: datetime) -> str:
    if configured is not None:
        return configured
    # Two processes asking at once: the first insert wins, both read the winner.
    await session.execute(
        dialect_insert(session)(AppSetting)
        .values(key=SETTING, value=str(uuid.uuid4()), updated_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    stored = await session.scalar(select(AppSetting.value).where(AppSetting.key == SETTING))
    assert stored is not None
    return stored


async def deployment(session: AsyncSession, *, settings: Settings, now: datetime) -> Deployment:
    """What the manifests are rendered for: this deployment's public URL and add-in id."""
    identity = await addin_id(session, configured=settings.addin_id, now=now)
    return Deployment(public_url=settings.public_url, addin_id=identity)
