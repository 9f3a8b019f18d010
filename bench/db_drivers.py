"""Database drivers for the request path, measured on the shape of a compose's transactions.

A compose needs, before Zoom is called, one read by an indexed key and two writes (an upsert
and an insert) in one transaction, and after it one update. This runs that pair of
transactions through each way of talking to the database we could choose, one at a time in a
loop (so the figure is CPU, not waiting), and prints the CPU time per pair:

- SQLite: SQLAlchemy's ``AsyncSession`` on aiosqlite (what linkzoom uses), SQLAlchemy's
  ``AsyncConnection`` on aiosqlite, aiosqlite alone, and the standard ``sqlite3`` module in one
  worker thread with one hop per transaction;
- PostgreSQL: ``AsyncSession`` on psycopg 3 (what linkzoom uses), ``AsyncSession`` on asyncpg,
  psycopg 3 alone (prepared statements), asyncpg alone (prepared statements).

    .venv/bin/python bench/db_drivers.py [--pairs 3000] [--pg postgresql://postgres@127.0.0.1:5432/postgres]

Needs ``make bench`` (asyncpg). A throwaway PostgreSQL database is made and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aiosqlite
import asyncpg
import psycopg
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

SCHEMA = [
    "CREATE TABLE caller (token BYTEA PRIMARY KEY, user_id INTEGER NOT NULL, name TEXT NOT NULL)",
    "CREATE TABLE usage (user_id INTEGER, day TEXT, writes INTEGER NOT NULL, "
    "PRIMARY KEY (user_id, day))",
    "CREATE TABLE attempt (id TEXT PRIMARY KEY, user_id INTEGER NOT NULL, state TEXT NOT NULL, "
    "meeting BIGINT)",
    "INSERT INTO caller VALUES ('\\x01', 1, 'alice')",
]
# The statements of one compose, in each paramstyle: (read, upsert, insert, update).
NAMED = (
    "SELECT user_id, name FROM caller WHERE token = :token",
    "INSERT INTO usage VALUES (:user_id, :day, 1) ON CONFLICT (user_id, day) "
    "DO UPDATE SET writes = usage.writes + 1 WHERE usage.writes < 1000000000 RETURNING writes",
    "INSERT INTO attempt VALUES (:id, :user_id, 'creating', NULL)",
    "UPDATE attempt SET state = 'active', meeting = :meeting WHERE id = :id",
)
QMARK = (
    "SELECT user_id, name FROM caller WHERE token = ?",
    NAMED[1].replace(":user_id", "?").replace(":day", "?"),
    "INSERT INTO attempt VALUES (?, ?, 'creating', NULL)",
    "UPDATE attempt SET state = 'active', meeting = ? WHERE id = ?",
)
PYFORMAT = tuple(
    s.replace(":token", "%(token)s")
    .replace(":user_id", "%(user_id)s")
    .replace(":day", "%(day)s")
    .replace(":id", "%(id)s")
    .replace(":meeting", "%(meeting)s")
    for s in NAMED
)
DOLLAR = (
    "SELECT user_id, name FROM caller WHERE token = $1",
    NAMED[1].replace(":user_id", "$1").replace(":day", "$2"),
    "INSERT INTO attempt VALUES ($1, $2, 'creating', NULL)",
    "UPDATE attempt SET state = 'active', meeting = $1 WHERE id = $2",
)
TOKEN = b"\x01"
DAY = "2026-12-07"

Pair = Callable[[], Awaitable[None]]


def row_id() -> str:
    return secrets.token_hex(8)


async def through_sqlalchemy(url: str, *, session: bool, pairs: int) -> float:
    """CPU µs per pair through SQLAlchemy; the engine lives and dies in this one event loop."""
    engine = create_async_engine(url)
    try:
        return await _loop(sqlalchemy_pair(engine, session=session), pairs) * 1e6
    finally:
        await engine.dispose()


def sqlalchemy_pair(engine: AsyncEngine, *, session: bool) -> Pair:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    read, upsert, insert, confirm = (text(s) for s in NAMED)

    async def with_session() -> None:
        new = row_id()
        async with sessions() as s, s.begin():
            user_id = (await s.execute(read, {"token": TOKEN})).one()[0]
            await s.execute(upsert, {"user_id": user_id, "day": DAY})
            await s.execute(insert, {"id": new, "user_id": user_id})
        async with sessions() as s, s.begin():
            await s.execute(confirm, {"id": new, "meeting": 1})

    async def with_connection() -> None:
        new = row_id()
        async with engine.begin() as c:
            user_id = (await c.execute(read, {"token": TOKEN})).one()[0]
            await c.execute(upsert, {"user_id": user_id, "day": DAY})
            await c.execute(insert, {"id": new, "user_id": user_id})
        async with engine.begin() as c:
            await c.execute(confirm, {"id": new, "meeting": 1})

    return with_session if session else with_connection


def sqlite_figures(pairs: int) -> list[tuple[str, float]]:
    tmp = Path(tempfile.mkdtemp())
    path = tmp / "drivers.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        for statement in SCHEMA:
            setup.execute(statement.replace("BYTEA", "BLOB").replace("'\\x01'", "x'01'"))
    figures = []
    for session in (True, False):
        kind = "AsyncSession" if session else "AsyncConnection"
        sqlite_url = f"sqlite+aiosqlite:///{path}"
        micros = asyncio.run(through_sqlalchemy(sqlite_url, session=session, pairs=pairs))
        figures.append((f"SQLAlchemy {kind} + aiosqlite", micros))

    async def raw_aiosqlite() -> float:
        async with aiosqlite.connect(path, isolation_level=None) as db:

            async def pair() -> None:
                new = row_id()
                await db.execute("BEGIN")
                async with db.execute(QMARK[0], (TOKEN,)) as cursor:
                    user_id = (await cursor.fetchone() or (0,))[0]
                async with db.execute(QMARK[1], (user_id, DAY)) as cursor:
                    await cursor.fetchone()
                await db.execute(QMARK[2], (new, user_id))
                await db.execute("COMMIT")
                await db.execute(QMARK[3], (1, new))

            return (await _loop(pair, pairs)) * 1e6

    figures.append(("aiosqlite alone", asyncio.run(raw_aiosqlite())))

    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    worker = ThreadPoolExecutor(1)

    def before(new: str) -> None:
        connection.execute("BEGIN")
        user_id = connection.execute(QMARK[0], (TOKEN,)).fetchone()[0]
        connection.execute(QMARK[1], (user_id, DAY)).fetchone()
        connection.execute(QMARK[2], (new, user_id))
        connection.execute("COMMIT")

    def after(new: str) -> None:
        connection.execute(QMARK[3], (1, new))

    async def threaded() -> float:
        loop = asyncio.get_running_loop()

        async def pair() -> None:
            new = row_id()
            await loop.run_in_executor(worker, before, new)
            await loop.run_in_executor(worker, after, new)

        return (await _loop(pair, pairs)) * 1e6

    figures.append(("sqlite3 in a worker thread, one hop a transaction", asyncio.run(threaded())))
    return figures


async def _loop(pair: Pair, pairs: int) -> float:
    for _ in range(200):
        await pair()
    started = time.process_time()
    for _ in range(pairs):
        await pair()
    return (time.process_time() - started) / pairs


def postgres_figures(pairs: int, pg: str) -> list[tuple[str, float]]:
    name = f"linkzoom_drivers_{secrets.token_hex(4)}"
    with psycopg.connect(pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = pg.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(url, autocommit=True) as setup:
            for statement in SCHEMA:
                setup.execute(statement)
        figures = []
        for driver in ("psycopg", "asyncpg"):
            driven = url.replace("postgresql://", f"postgresql+{driver}://")
            micros = asyncio.run(through_sqlalchemy(driven, session=True, pairs=pairs))
            figures.append((f"SQLAlchemy AsyncSession + {driver}", micros))

        async def raw_psycopg() -> float:
            async with await psycopg.AsyncConnection.connect(url) as c:

                async def pair() -> None:
                    new = row_id()
                    async with c.transaction():
                        cursor = await c.execute(PYFORMAT[0], {"token": TOKEN}, prepare=True)
                        user_id = (await cursor.fetchone() or (0,))[0]
                        await c.execute(PYFORMAT[1], {"user_id": user_id, "day": DAY}, prepare=True)
                        await c.execute(PYFORMAT[2], {"id": new, "user_id": user_id}, prepare=True)
                    async with c.transaction():
                        await c.execute(PYFORMAT[3], {"id": new, "meeting": 1}, prepare=True)

                return (await _loop(pair, pairs)) * 1e6

        figures.append(("psycopg 3 alone (prepared)", asyncio.run(raw_psycopg())))

        async def raw_asyncpg() -> float:
            c = await asyncpg.connect(url)
            try:
                read, upsert, insert, confirm = [await c.prepare(s) for s in DOLLAR]

                async def pair() -> None:
                    new = row_id()
                    async with c.transaction():
                        user_id = (await read.fetchrow(TOKEN))[0]
                        await upsert.fetchrow(user_id, DAY)
                        await insert.fetch(new, user_id)
                    async with c.transaction():
                        await confirm.fetch(1, new)

                return (await _loop(pair, pairs)) * 1e6
            finally:
                await c.close()

        figures.append(("asyncpg alone (prepared)", asyncio.run(raw_asyncpg())))
        return figures
    finally:
        with psycopg.connect(pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", type=int, default=3000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    figures = sqlite_figures(args.pairs) + postgres_figures(args.pairs, args.pg)
    baseline = {"SQLite": figures[0][1], "PostgreSQL": figures[4][1]}
    print(f"CPU per compose-shaped pair of transactions ({args.pairs} pairs, one at a time)\n")
    for index, (label, micros) in enumerate(figures):
        database = "SQLite" if index < 4 else "PostgreSQL"
        ratio = micros / baseline[database]
        print(f"{database:<11}{label:<52}{micros:8.0f} µs  {ratio:5.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
