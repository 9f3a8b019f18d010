"""Engines and sessions: one async engine per process, built by the app's lifespan.

Users write plain ``sqlite:///`` or ``postgresql://`` URLs; we pick the drivers (aiosqlite and
psycopg 3) so the same URL serves the async app and the synchronous Alembic migrations.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from linkzoom.problems import ServiceUnavailable

SessionFactory = async_sessionmaker[AsyncSession]


def driver_url(database_url: str, *, asynchronous: bool) -> URL:
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite":
        return url.set(drivername="sqlite+aiosqlite" if asynchronous else "sqlite")
    if backend == "postgresql":
        return url.set(drivername="postgresql+psycopg")
    raise ValueError(f"unsupported database: {backend}")


def ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)


# WAL lets readers run beside the one writer; busy_timeout makes writers queue instead of
# failing with "database is locked" when two processes (run + worker) share the file. Every
# SQLite connection gets them: the engine's and the request path's (store/runners.py).
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA synchronous=NORMAL",
)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def create_engine(database_url: str, *, pool_size: int = 10) -> AsyncEngine:
    """The service's engine. ``hide_parameters``: a database error's message then names the
    statement but not its bound values (emails, event keys, ciphertexts), so logging it, as the
    error handler does, leaks none of them."""
    ensure_sqlite_directory(database_url)
    url = driver_url(database_url, asynchronous=True)
    if url.get_backend_name() == "sqlite":
        engine = create_async_engine(
            url, pool_size=pool_size, max_overflow=pool_size, hide_parameters=True
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    # No pre-ping: it costs a round trip on every checkout of every request. A connection the
    # server dropped fails its first statement instead (one 503), and SQLAlchemy then discards
    # the pool's stale connections; pool_recycle retires idle ones before servers time them out.
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_recycle=1800,
        pool_timeout=15,
        hide_parameters=True,
    )


def session_factory(engine: AsyncEngine) -> SessionFactory:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def transaction(sessions: SessionFactory) -> AsyncIterator[AsyncSession]:
    """A session inside one transaction: committed on success, rolled back on any error.

    A database that cannot be reached becomes :class:`ServiceUnavailable`, not a traceback.
    """
    try:
        async with sessions() as session, session.begin():
            yield session
    except OSError as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    except DBAPIError as exc:
        if unreachable(exc):
            raise ServiceUnavailable("The database is not reachable.") from exc
        raise


def unreachable(exc: DBAPIError) -> bool:
    """Whether a database error means the database is not serving us (503), not a bad
    statement. Both drivers report a refused or dropped connection as an OperationalError;
    SQLite's "database is locked" is one too, but it is contention, not unreachability."""
    if exc.connection_invalidated:
        return True
    return isinstance(exc, OperationalError) and "locked" not in str(exc.orig).lower()


def dialect_insert(session: AsyncSession) -> Callable[[Any], Any]:
    """``insert`` of the session's dialect, for ``ON CONFLICT`` (both SQLite and PostgreSQL
    speak it; the generic insert does not offer it)."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert
