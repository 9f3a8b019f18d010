"""Deployment-wide switches an administrator flips at run time (console or CLI)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ScalarSelect, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import FeatureDisabled
from linkzoom.store.models import AppSetting

ZOOM_ENABLED = "zoom.enabled"
ON = "true"  # the switch's stored value when Zoom is enabled


# The switch's stored value as a subquery, for a caller to read with its own statement (built
# once: the statements that read it are compiled once, see linkzoom.store.programs).
ZOOM_SWITCH: ScalarSelect[str] = (
    select(AppSetting.value).where(AppSetting.key == ZOOM_ENABLED).scalar_subquery()
)


async def zoom_enabled(session: AsyncSession) -> bool:
    return await session.scalar(select(ZOOM_SWITCH)) == ON


def check_zoom_enabled(value: str | None) -> None:
    """Raise 403 ``feature-disabled`` unless the switch's stored ``value`` is on."""
    if value != ON:
        raise FeatureDisabled("An administrator has not enabled Zoom for this organisation yet.")


async def require_zoom_enabled(session: AsyncSession) -> None:
    check_zoom_enabled(await session.scalar(select(ZOOM_SWITCH)))


async def set_zoom_enabled(session: AsyncSession, enabled: bool, *, now: datetime) -> bool:
    """Set the switch; returns whether it changed."""
    row = await session.get(AppSetting, ZOOM_ENABLED, with_for_update=True)
    value = ON if enabled else "false"
    if row is None:
        session.add(AppSetting(key=ZOOM_ENABLED, value=value, updated_at=now))
        return True
    if row.value == value:
        return False
    row.value, row.updated_at = value, now
    return True


async def is_unset(session: AsyncSession) -> bool:
    return await session.get(AppSetting, ZOOM_ENABLED) is None
