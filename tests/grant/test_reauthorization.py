"""The reauthorization period: the environment's default, or what an administrator stored."""

from __future__ import annotations

from datetime import timedelta

import pytest

from linkzoom.grant import reauthorization
from linkzoom.problems import ValidationFailed
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AppSetting

DEFAULT = timedelta(days=365)


async def test_default_then_stored_then_forgotten(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        assert await reauthorization.period(session, default=DEFAULT) == DEFAULT
        await reauthorization.save_days(session, 30, now=runtime.clock())
        assert await reauthorization.period(session, default=DEFAULT) == timedelta(days=30)
        await reauthorization.save_days(session, 90, now=runtime.clock())
        assert await reauthorization.stored_days(session) == 90
        await reauthorization.save_days(session, None, now=runtime.clock())
        await reauthorization.save_days(session, None, now=runtime.clock())
        assert await reauthorization.period(session, default=DEFAULT) == DEFAULT


@pytest.mark.parametrize("days", [0, -1, 3651])
async def test_out_of_range_is_refused(runtime: Runtime, days: int) -> None:
    async with transaction(runtime.sessions) as session:
        with pytest.raises(ValidationFailed):
            await reauthorization.save_days(session, days, now=runtime.clock())


@pytest.mark.parametrize("value", ["soon", "0", "99999"])
async def test_an_unusable_stored_value_falls_back(runtime: Runtime, value: str) -> None:
    async with transaction(runtime.sessions) as session:
        session.add(AppSetting(key=reauthorization.KEY, value=value, updated_at=runtime.clock()))
        await session.flush()
        assert await reauthorization.period(session, default=DEFAULT) == DEFAULT
