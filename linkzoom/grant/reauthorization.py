"""How long a Zoom grant lasts before the user must consent again.

``LINKZOOM_REAUTHORIZE_DAYS`` is the default; an administrator can store another period on the
console. It applies to grants made from then on: each grant keeps the ``reauthorize_by`` it was
given at consent, so shortening the period never locks anyone out at once.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import ValidationFailed
from linkzoom.store.models import AppSetting

KEY = "zoom.reauthorize_days"
MIN_DAYS, MAX_DAYS = 1, 3650  # the bounds LINKZOOM_REAUTHORIZE_DAYS accepts


def check_days(days: int) -> int:
    if not MIN_DAYS <= days <= MAX_DAYS:
        raise ValidationFailed.one("reauthorize_days", f"must be between {MIN_DAYS} and {MAX_DAYS}")
    return days


async def stored_days(session: AsyncSession) -> int | None:
    row = await session.get(AppSetting, KEY)
    if row is None:
        return None
    try:
        return check_days(int(row.value))
    except (ValueError, ValidationFailed):
        return None  # a value we cannot use is ignored, not fatal to every consent


async def period(session: AsyncSession, *, default: timedelta) -> timedelta:
    """The period for a grant made now: the stored one, else ``default``."""
    days = await stored_days(session)
    return default if days is None else timedelta(days=days)


async def save_days(session: AsyncSession, days: int | None, *, now: datetime) -> None:
    """Store a period, or forget it (``None``) so the environment's default applies again."""
    row = await session.get(AppSetting, KEY, with_for_update=True)
    if days is None:
        if row is not None:
            await session.delete(row)
        return
    value = str(check_days(days))
    if row is None:
        session.add(AppSetting(key=KEY, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
