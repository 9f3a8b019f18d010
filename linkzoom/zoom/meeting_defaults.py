"""The organisation's meeting defaults, set by an administrator (console) and applied to every
meeting linkzoom creates. Stored as JSON in ``app_settings``; nothing secret."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import ValidationFailed
from linkzoom.store.models import AppSetting
from linkzoom.store.programs import Program, Statement, run_in_session

KEY = "zoom.meeting_defaults"


@dataclass(frozen=True, kw_only=True)
class MeetingDefaults:
    duration_minutes: int = 30
    # Compose meetings exist so recipients can join at once, before the host.
    join_before_host: bool = True
    waiting_room: bool = False
    passcode: bool = True
    mute_upon_entry: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.duration_minutes <= 1440:
            raise ValidationFailed.one("duration_minutes", "must be between 1 and 1440")


# Every compose reads it: one column, a statement compiled once (linkzoom.store.programs).
_READ = Statement(select(AppSetting.value).where(AppSetting.key == KEY))


def loading() -> Program[MeetingDefaults]:
    value = (yield _READ()).scalar()
    if value is None:
        return MeetingDefaults()
    stored = json.loads(value)
    known = {k: v for k, v in stored.items() if k in MeetingDefaults.__dataclass_fields__}
    return MeetingDefaults(**known)


async def load(session: AsyncSession) -> MeetingDefaults:
    return await run_in_session(session, loading())


async def save(session: AsyncSession, defaults: MeetingDefaults, *, now: datetime) -> None:
    value = json.dumps(asdict(defaults), sort_keys=True)
    row = await session.get(AppSetting, KEY, with_for_update=True)
    if row is None:
        session.add(AppSetting(key=KEY, value=value, updated_at=now))
    else:
        row.value, row.updated_at = value, now
