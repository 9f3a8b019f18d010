"""Where the request path's programs (:mod:`linkzoom.store.programs`) run: the lean drivers.

- **SQLite**: one ``sqlite3`` connection in one thread of its own; a whole transaction is one
  hop to that thread (aiosqlite makes a hop per statement). SQLite has one writer at a time
  anyway, so one thread per process loses no concurrency; ``BEGIN IMMEDIATE`` takes the write
  lock up front, so a transaction that reads and then writes waits for another process's writer
  (``busy_timeout``) instead of failing when its snapshot went stale.
- **PostgreSQL**: an asyncpg pool; asyncpg prepares each statement once per connection and
  keeps it (its statement cache), so a request's statements cost one round trip each.
- Anything else (``sqlite:///:memory:``, which a second connection would not see) runs in an
  ``AsyncSession`` of the service's engine.

Driver errors are translated here, once: an unreachable database is ``ServiceUnavailable``;
any other failure becomes SQLAlchemy's ``DBAPIError`` with its parameters hidden, exactly what
the rest of the service raises, so the error handler and the log formatters
(:func:`linkzoom.logs.format_exception`) treat both paths alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, IntegrityError

from linkzoom.problems import ServiceUnavailable
from linkzoom.store import db
from linkzoom.store.programs import Program, Rows, run_in_session

T = TypeVar("T")


class ProgramRunner(Protocol):
    async def run(self, program: Program[T], *, atomic: bool = True) -> T:
        """Run ``program`` as one transaction: committed when it returns, rolled back when it
        (or a statement) raises. ``atomic=False``: each statement commits on its own, for a
        program whose writes stand alone (a read and an idempotent touch), sparing ``BEGIN``
        and ``COMMIT`` (on SQLite, also the write lock a read would otherwise take)."""
        ...

    async def close(self) -> None: ...


class SessionRunner:
    """Programs in an ``AsyncSession`` of the service's engine."""

    def __init__(self, sessions: db.SessionFactory) -> None:
        self._sessions = sessions

    async def run(self, program: Program[T], *, atomic: bool = True) -> T:
        async with db.transaction(self._sessions) as session:  # a session always has one
            return await run_in_session(session, program)

    async def close(self) -> None:
        return None


class SqliteThreadRunner:
    """Programs on one ``sqlite3`` connection owned by one thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="linkzoom-sqlite")
        self._connection: sqlite3.Connection | None = None  # touched only by that thread

    async def run(self, program: Program[T], *, atomic: bool = True) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, self._transaction, program, atomic)

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._thread, self._close)
        self._thread.shutdown(wait=True)

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            try:
                # isolation_level=None: the transactions are ours (BEGIN IMMEDIATE … COMMIT).
                connection = sqlite3.connect(self._path, isolation_level=None)
            except sqlite3.Error as exc:
                raise ServiceUnavailable("The database is not reachable.") from exc
            for pragma in db.SQLITE_PRAGMAS:
                connection.execute(pragma)
            self._connection = connection
        return self._connection

    def _transaction(self, program: Program[T], atomic: bool) -> T:
        connection = self._connect()
        sql = "BEGIN IMMEDIATE"
        try:
            if atomic:
                connection.execute(sql)
            try:
                call = next(program)
                while True:
                    compiled = call.statement.compiled("sqlite")
                    sql = compiled.sql
                    cursor = connection.execute(sql, compiled.parameters(call.params))
                    rows = compiled.read(cursor.fetchall())
                    count = len(rows) if compiled.returns_rows else cursor.rowcount
                    call = program.send(Rows(rows=rows, rowcount=count))
            except StopIteration as done:
                if atomic:
                    sql = "COMMIT"
                    connection.execute(sql)
                return done.value  # type: ignore[no-any-return]
            except BaseException:
                if connection.in_transaction:
                    connection.rollback()
                raise
        except sqlite3.Error as exc:
            raise _translated(sql, exc, sqlite3.Error) from exc
        finally:
            program.close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class AsyncpgRunner:
    """Programs on an asyncpg pool, each statement prepared once per connection."""

    def __init__(self, dsn: str, *, pool_size: int) -> None:
        self._dsn = dsn
        self._pool_size = pool_size
        self._pool: Any = None
        self._opening = asyncio.Lock()

    async def run(self, program: Program[T], *, atomic: bool = True) -> T:
        import asyncpg

        pool = await self._opened()
        sql = "BEGIN"
        try:
            async with pool.acquire() as connection:
                transaction = connection.transaction() if atomic else contextlib.nullcontext()
                async with transaction:
                    try:
                        call = next(program)
                        while True:
                            compiled = call.statement.compiled("postgresql")
                            sql = compiled.sql
                            values = compiled.parameters(call.params)
                            if compiled.returns_rows:
                                rows = compiled.read(await connection.fetch(sql, *values))
                                result = Rows(rows=rows, rowcount=len(rows))
                            else:
                                status = await connection.execute(sql, *values)
                                result = Rows(rows=[], rowcount=_status_count(status))
                            call = program.send(result)
                    except StopIteration as done:
                        sql = "COMMIT"
                        return done.value  # type: ignore[no-any-return]
        except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError) as exc:
            raise ServiceUnavailable("The database is not reachable.") from exc
        except asyncpg.PostgresError as exc:
            if _unreachable_state(exc.sqlstate):
                raise ServiceUnavailable("The database is not reachable.") from exc
            raise _translated(sql, exc, asyncpg.PostgresError) from exc
        finally:
            program.close()

    async def _opened(self) -> Any:
        if self._pool is None:
            import asyncpg

            async with self._opening:
                if self._pool is None:
                    try:
                        self._pool = await asyncpg.create_pool(
                            self._dsn,
                            min_size=0,
                            max_size=self._pool_size,
                            init=_json_codecs,
                            reset=_keep_session,
                        )
                    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                        raise ServiceUnavailable("The database is not reachable.") from exc
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


async def _keep_session(connection: Any) -> None:
    """The pool's reset on release, which by default sends ``RESET ALL; UNLISTEN *; …`` (a
    round trip per transaction). Programs never change session state (no ``SET``, ``LISTEN``,
    advisory lock or cursor), and asyncpg still rolls back a transaction left open, so there
    is nothing to reset."""


async def _json_codecs(connection: Any) -> None:
    """JSON columns as SQLAlchemy's asyncpg dialect sets them up on each connection: the
    column type's bind processor serialises, the codec decodes (so rows read alike)."""
    await connection.set_type_codec(
        "json",
        encoder=str.encode,
        decoder=lambda raw: json.loads(raw.decode()),
        schema="pg_catalog",
        format="binary",
    )
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda text: b"\x01" + text.encode(),
        decoder=lambda raw: json.loads(raw[1:].decode()),
        schema="pg_catalog",
        format="binary",
    )


def open_runner(
    database_url: str, sessions: db.SessionFactory, *, pool_size: int = 10
) -> ProgramRunner:
    """The runner for the service's database."""
    url = make_url(database_url)
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return SqliteThreadRunner(url.database)
    if backend == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        return AsyncpgRunner(dsn, pool_size=pool_size)
    return SessionRunner(sessions)


def _integrity_violation(exc: BaseException) -> bool:
    if isinstance(exc, sqlite3.IntegrityError):
        return True
    sqlstate = getattr(exc, "sqlstate", None)
    return isinstance(sqlstate, str) and sqlstate.startswith("23")  # class 23: integrity


def _status_count(status: str) -> int:
    """The row count of a command tag: ``UPDATE 3``, ``DELETE 0``, ``INSERT 0 1``."""
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


def _unreachable_state(sqlstate: str | None) -> bool:
    # Class 08 (connection exception), 57P (operator intervention: shutdown, cannot connect
    # now), 53300 (too many connections): the server is not serving us, the request is fine.
    return sqlstate is not None and (
        sqlstate.startswith("08") or sqlstate.startswith("57P") or sqlstate == "53300"
    )


def _translated(sql: str, exc: BaseException, base: type[BaseException]) -> BaseException:
    """The driver's error as the rest of the service sees database errors (a unique or foreign
    key violation is SQLAlchemy's ``IntegrityError`` on both drivers, which callers catch)."""
    if _integrity_violation(exc):
        return IntegrityError(sql, None, exc, hide_parameters=True)
    wrapped = DBAPIError.instance(sql, None, exc, base, hide_parameters=True)  # type: ignore[arg-type]
    if isinstance(wrapped, DBAPIError) and db.unreachable(wrapped):
        return ServiceUnavailable("The database is not reachable.")
    return wrapped
