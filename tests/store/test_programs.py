"""Programs run alike on every runner: an ``AsyncSession``, sqlite3 in its thread, asyncpg.

Each test runs on both databases (the ``database_url`` fixture) and through both the session
runner and the database's lean runner; a row written by one is read back by the other.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import cast

import pytest
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError

from linkzoom.logs import JsonFormatter
from linkzoom.problems import NotFound, ServiceUnavailable
from linkzoom.store.db import SessionFactory, create_engine, session_factory
from linkzoom.store.models import AppSetting, User, ZoomDailyUsage
from linkzoom.store.programs import Program, Statement
from linkzoom.store.runners import (
    AsyncpgRunner,
    ProgramRunner,
    SessionRunner,
    SqliteThreadRunner,
    open_runner,
)
from linkzoom.store.types import TZDateTime

NOW = datetime(2026, 3, 8, 6, 58, 41, 123456, tzinfo=UTC)
SECRET = "alice.secret@example.org"

_USERS = cast(Table, User.__table__)
_ADD_USER = Statement(
    insert(_USERS)
    .values(
        username=bindparam("username"),
        display_name=bindparam("display_name"),
        source="local",
        is_admin=False,
        created_at=bindparam("created_at", type_=TZDateTime),
    )
    .returning(_USERS.c.id)
)
_READ_USER = Statement(
    select(User.username, User.created_at, User.disabled_at, User.is_admin).where(
        User.id == bindparam("user_id")
    )
)
_DISABLE = Statement(
    update(User)
    .where(User.id == bindparam("user_id"))
    .values(disabled_at=bindparam("now", type_=TZDateTime))
)
_COUNT_WRITE = Statement.upsert(
    lambda insert: (
        insert(ZoomDailyUsage.__table__)
        .values(user_id=bindparam("user_id"), day=bindparam("day"), writes=1)
        .on_conflict_do_update(
            index_elements=["user_id", "day"],
            set_={"writes": ZoomDailyUsage.__table__.c.writes + 1},
        )
        .returning(ZoomDailyUsage.__table__.c.writes)
    )
)
_SET = Statement(
    insert(cast(Table, AppSetting.__table__)).values(
        key=bindparam("key"),
        value=bindparam("value"),
        updated_at=bindparam("now", type_=TZDateTime),
    )
)


@pytest.fixture
async def sessions(database_url: str) -> AsyncIterator[SessionFactory]:
    engine = create_engine(database_url, pool_size=2)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
async def runners(
    database_url: str, sessions: SessionFactory
) -> AsyncIterator[tuple[ProgramRunner, ProgramRunner]]:
    lean = open_runner(database_url, sessions, pool_size=2)
    assert isinstance(lean, SqliteThreadRunner | AsyncpgRunner)
    yield SessionRunner(sessions), lean
    await lean.close()


def add_user(name: str) -> Program[int]:
    rows = yield _ADD_USER(username=name, display_name=name.title(), created_at=NOW)
    return int(rows.scalar())


def read_user(user_id: int) -> Program[tuple[object, ...] | None]:
    return (yield _READ_USER(user_id=user_id)).first()


def add_then_refuse(name: str) -> Program[None]:
    yield from add_user(name)
    raise NotFound("refused after a write")


async def test_a_row_written_by_one_runner_reads_the_same_through_the_other(
    runners: tuple[ProgramRunner, ProgramRunner],
) -> None:
    for writer, reader in (runners, runners[::-1]):
        name = f"user-{id(writer)}"
        user_id = await writer.run(add_user(name))
        found = await reader.run(read_user(user_id))
        assert found == (name, NOW, None, False)
        created = found[1]
        assert isinstance(created, datetime) and created.tzinfo is not None  # aware, UTC


async def test_rowcount_upserts_and_literal_defaults(
    runners: tuple[ProgramRunner, ProgramRunner],
) -> None:
    session, lean = runners
    user_id = await lean.run(add_user("alice"))

    def disable(user: int) -> Program[int]:
        return (yield _DISABLE(user_id=user, now=NOW + timedelta(hours=1))).rowcount

    assert await lean.run(disable(user_id)) == 1
    assert await session.run(disable(user_id + 1000)) == 0
    assert await lean.run(disable(user_id + 1000)) == 0

    def count(user: int) -> Program[int]:
        return int((yield _COUNT_WRITE(user_id=user, day=date(2026, 3, 8))).scalar())

    assert [await r.run(count(user_id)) for r in (lean, session, lean)] == [1, 2, 3]


async def test_a_program_not_run_atomically_keeps_each_statement(
    runners: tuple[ProgramRunner, ProgramRunner], sessions: SessionFactory
) -> None:
    _, lean = runners
    with pytest.raises(NotFound):
        await lean.run(add_then_refuse("carol"), atomic=False)
    async with sessions() as session:
        assert await session.scalar(select(User.id).where(User.username == "carol")) is not None


async def test_a_program_that_raises_rolls_its_transaction_back(
    runners: tuple[ProgramRunner, ProgramRunner], sessions: SessionFactory
) -> None:
    for runner in runners:
        with pytest.raises(NotFound):
            await runner.run(add_then_refuse("bob"))
    async with sessions() as session:
        assert await session.scalar(select(User.id).where(User.username == "bob")) is None


async def test_a_failed_statement_is_a_dbapi_error_without_its_values(
    runners: tuple[ProgramRunner, ProgramRunner], caplog: pytest.LogCaptureFixture
) -> None:
    _, lean = runners

    def set_twice() -> Program[None]:
        yield _SET(key=SECRET, value="1", now=NOW)
        yield _SET(key=SECRET, value="2", now=NOW)  # the primary key again

    with pytest.raises(DBAPIError) as caught:
        await lean.run(set_twice())
    # A unique violation is IntegrityError on both drivers: callers catch it to retry.
    assert isinstance(caught.value, IntegrityError)
    assert (
        "app_settings" in str(caught.value) and SECRET not in str(caught.value).split("DETAIL")[0]
    )
    record = logging.makeLogRecord({"msg": "failed", "levelno": logging.ERROR})
    record.exc_info = (type(caught.value), caught.value, caught.value.__traceback__)
    assert SECRET not in JsonFormatter().format(record)

    # The runner is still usable, and the failed transaction left nothing.
    def setting() -> Program[object]:
        return (yield Statement(select(AppSetting.value).where(AppSetting.key == SECRET))()).first()

    assert await lean.run(setting()) is None


async def test_an_unreachable_database_is_service_unavailable(tmp_path: object) -> None:
    postgres = AsyncpgRunner("postgresql://nobody@127.0.0.1:1/none", pool_size=1)
    with pytest.raises(ServiceUnavailable):
        await postgres.run(read_user(1))
    await postgres.close()
    sqlite = SqliteThreadRunner("/nonexistent-directory/linkzoom.db")
    with pytest.raises(ServiceUnavailable):
        await sqlite.run(read_user(1))
    await sqlite.close()
