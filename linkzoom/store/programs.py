"""Transactions as programs: the request path's database work written once, run by any driver.

Theory of operation. A *program* is a generator that yields :class:`Call` values (a prebuilt
SQLAlchemy Core statement and its parameters) and receives each one's :class:`Rows`; what it
returns is the transaction's result, and an exception it raises rolls the transaction back. It
does no I/O of its own, so the same program runs

- inside an ``AsyncSession`` (:func:`run_in_session`: the console, the worker, tests), or
- on the request path's lean drivers (:mod:`linkzoom.store.runners`): a whole SQLite transaction
  in one hop to one ``sqlite3`` thread, or asyncpg's prepared statements on PostgreSQL.

Why: ``bench/db_drivers.py`` measured a compose's database work at 1,491 µs (SQLite) and
1,096 µs (PostgreSQL) of CPU through SQLAlchemy's async session, against 255 and 262 µs through
those drivers; SQLAlchemy's async layer costs more than the statements. Programs keep the
statements themselves in SQLAlchemy Core (typed columns, one schema) and compile each one once
per dialect (:class:`Statement`), applying the column types' own bind and result processors, so
a row written by either path reads the same through the other.

Sub-programs compose with ``yield from``: a compose reads as its list of steps.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Select
from sqlalchemy.dialects.postgresql import asyncpg as postgresql_asyncpg
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.dialects.sqlite import pysqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import UpdateBase
from sqlalchemy.sql.type_api import TypeEngine

T = TypeVar("T")
Processor = Callable[[Any], Any] | None

# The dialects the lean drivers speak: SQLite's qmark for sqlite3, numeric_dollar with bind
# casts for asyncpg (which prepares every statement and so needs each parameter's type).
DIALECTS: dict[str, Dialect] = {
    "sqlite": pysqlite.dialect(),
    "postgresql": postgresql_asyncpg.dialect(),  # type: ignore[no-untyped-call]
}


@dataclass(frozen=True, kw_only=True)
class Rows:
    """What a statement gave back: its rows (already through the column types' result
    processors) and how many rows it touched."""

    rows: Sequence[tuple[Any, ...]]
    rowcount: int

    def first(self) -> tuple[Any, ...] | None:
        return self.rows[0] if self.rows else None

    def scalar(self) -> Any:
        return self.rows[0][0] if self.rows else None


@dataclass(frozen=True)
class Compiled:
    """One statement compiled for one dialect: its SQL and how to bind and read it."""

    sql: str
    names: tuple[str, ...]  # the parameters in positional order
    defaults: tuple[Any, ...]  # a literal's value, bound when the call does not name it
    binds: tuple[Processor, ...]
    results: tuple[Processor, ...]
    returns_rows: bool
    # The result columns that have a processor, with it: most have none, and a row is read
    # on every request, so only those are touched.
    _processed: tuple[tuple[int, Callable[[Any], Any]], ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        processed = tuple((i, p) for i, p in enumerate(self.results) if p is not None)
        object.__setattr__(self, "_processed", processed)

    # Processors see None too, as in SQLAlchemy (a JSON column may store None as JSON null).
    def parameters(self, given: Mapping[str, Any]) -> list[Any]:
        values = []
        for name, default, process in zip(self.names, self.defaults, self.binds, strict=True):
            value = given.get(name, default)
            values.append(value if process is None else process(value))
        return values

    def read(self, raw: Sequence[Sequence[Any]]) -> list[tuple[Any, ...]]:
        if not self._processed:
            return [tuple(row) for row in raw]
        rows = []
        for row in raw:
            values = list(row)
            for index, process in self._processed:
                values[index] = process(values[index])
            rows.append(tuple(values))
        return rows


@dataclass(eq=False)
class Statement:
    """A Core statement built once (at import), compiled on first use for each dialect.
    ``variants``: the statement in a dialect's own construct where the generic one has none
    (``INSERT … ON CONFLICT``; see :meth:`upsert`)."""

    core: Any
    variants: Mapping[str, Any] = field(default_factory=dict)
    _compiled: dict[str, Compiled] = field(default_factory=dict, repr=False)

    @classmethod
    def upsert(cls, build: Callable[[Callable[[Any], Any]], Any]) -> Statement:
        """A statement using ``INSERT … ON CONFLICT``: ``build`` gets each dialect's
        ``insert`` (SQLite and PostgreSQL spell the clause alike)."""
        return cls(build(sqlite_insert), variants={"postgresql": build(postgresql_insert)})

    @property
    def returns_rows(self) -> bool:
        return bool(_result_types(self.core))

    def core_for(self, dialect_name: str) -> Any:
        return self.variants.get(dialect_name, self.core)

    def compiled(self, dialect_name: str) -> Compiled:
        found = self._compiled.get(dialect_name)
        if found is None:
            found = self._compiled[dialect_name] = _compile(
                self.core_for(dialect_name), DIALECTS[dialect_name]
            )
        return found

    def __call__(self, **params: Any) -> Call:
        return Call(self, params)


@dataclass(frozen=True)
class Call:
    statement: Statement
    params: Mapping[str, Any]


# A transaction: yields calls, receives their rows, returns its result.
Program = Generator[Call, Rows, T]


def run(call: Call) -> Generator[Call, Rows, Rows]:
    """One statement as a sub-program: ``rows = yield from run(STATEMENT(x=1))``."""
    return (yield call)


def _compile(core: Any, dialect: Dialect) -> Compiled:
    compiled = core.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    binds = compiled.binds
    types = _result_types(core)
    return Compiled(
        sql=compiled.string,
        names=names,
        defaults=tuple(None if binds[n].required else binds[n].effective_value for n in names),
        # dialect_impl: the dialect's own variant of each type (SQLite's DATETIME reads and
        # writes text), as SQLAlchemy itself picks it.
        binds=tuple(binds[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names),
        results=tuple(t.dialect_impl(dialect).result_processor(dialect, None) for t in types),
        returns_rows=bool(types),
    )


def _result_types(core: Any) -> list[TypeEngine[Any]]:
    if isinstance(core, Select):
        return [column.type for column in core.selected_columns]
    if isinstance(core, UpdateBase):
        return [d["type"] for d in core.returning_column_descriptions]
    raise TypeError(f"not a statement a program can run: {type(core).__name__}")


async def run_in_session(session: AsyncSession, program: Program[T]) -> T:
    """Run ``program`` in the caller's session and transaction (SQLAlchemy runs each Core
    statement itself, with the same types)."""
    dialect = session.get_bind().dialect.name
    try:
        call = next(program)
        while True:
            result = await session.execute(call.statement.core_for(dialect), dict(call.params))
            if call.statement.returns_rows:
                rows = [tuple(row) for row in result.all()]
                rowcount = len(rows)
            else:
                rows = []
                rowcount = int(getattr(result, "rowcount", 0))
            call = program.send(Rows(rows=rows, rowcount=rowcount))
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
