from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, select

from linkzoom.store.db import create_engine as create_async
from linkzoom.store.db import driver_url, session_factory
from linkzoom.store.models import AppSetting
from linkzoom.store.schema import Base


def test_migrations_match_the_models(database_url: str) -> None:
    engine = create_engine(driver_url(database_url, asynchronous=False))
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, Base.metadata) == []
    engine.dispose()


async def test_datetimes_come_back_aware_in_utc(database_url: str) -> None:
    engine = create_async(database_url)
    sessions = session_factory(engine)
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    async with sessions() as session, session.begin():
        session.add(AppSetting(key="k", value="v", updated_at=moment))
    async with sessions() as session:
        stored = await session.scalar(select(AppSetting.updated_at))
    await engine.dispose()
    assert stored == moment and stored is not None and stored.tzinfo is not None


async def test_naive_datetimes_are_refused(database_url: str) -> None:
    engine = create_async(database_url)
    sessions = session_factory(engine)
    with pytest.raises(Exception, match="naive datetime"):
        async with sessions() as session, session.begin():
            session.add(AppSetting(key="k", value="v", updated_at=datetime(2026, 1, 1)))
    await engine.dispose()
