"""Throwaway databases: a migrated template per session, a fresh copy per test.

SQLite copies a migrated file; PostgreSQL clones a migrated template database (``CREATE
DATABASE … TEMPLATE``), which is far faster than migrating each time. A PostgreSQL database a
test is done with is emptied and handed to the next test instead of dropped: deleting the few
rows a test wrote takes milliseconds, ``CREATE DATABASE`` plus ``DROP DATABASE`` a few tenths of
a second under load (``TRUNCATE`` is no faster: it makes new files for every table). One whose
schema the test changed is dropped as before, so every test still starts from the template.
"""

from __future__ import annotations

import os
import secrets
import shutil
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from linkzoom.store import migrate

POSTGRES_ENV = "LINKZOOM_TEST_POSTGRES_URL"


def postgres_url() -> str | None:
    return os.environ.get(POSTGRES_ENV) or None


def backends() -> list[str]:
    return ["sqlite", "postgresql"] if postgres_url() else ["sqlite"]


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class SqliteTemplates:
    def __init__(self, directory: Path) -> None:
        self.template = directory / "template.db"
        migrate.upgrade(f"sqlite:///{self.template}")

    def fresh(self, directory: Path) -> str:
        target = directory / f"linkzoom-{secrets.token_hex(3)}.db"
        shutil.copyfile(self.template, target)
        return f"sqlite:///{target}"


class PostgresTemplates:
    def __init__(self, base_url: str) -> None:
        self.base = make_url(_plain(base_url))
        # Unique per test session, so concurrent runs against one server never share it.
        self.template = f"{self.base.database}_tpl_{secrets.token_hex(3)}"
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{self.template}"')
        migrate.upgrade(self.url_of(self.template))
        self.created: list[str] = []
        self.spare: list[str] = []  # emptied databases, identical to the template again
        with psycopg.connect(self.url_of(self.template)) as connection:
            self.schema = _schema(connection)
            # The migrations write alembic_version only; every other table starts empty.
            self.emptying = _emptying(connection)

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            _plain(self.base.render_as_string(hide_password=False)), autocommit=True
        )

    def url_of(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        if self.spare:
            return self.url_of(self.spare.pop())
        name = f"{self.base.database}_{secrets.token_hex(4)}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url_of(name)

    def drop(self, url: str) -> None:
        """Done with ``url``: emptied for the next test, or dropped if it is no longer like the
        template (a changed schema, a table it could not empty)."""
        name = make_url(url).database
        assert name is not None
        if name in self.created and self._emptied(name):
            self.spare.append(name)
            return
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def _emptied(self, name: str) -> bool:
        with self._admin() as admin:
            # As DROP … WITH (FORCE) would: connections a test or its processes left open go.
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                (name,),
            )
        try:
            with psycopg.connect(self.url_of(name), autocommit=True) as connection:
                if _schema(connection) != self.schema:
                    return False
                connection.execute("SET lock_timeout = '2s'")
                connection.execute(self.emptying)  # one statement list, one transaction
                return True
        except psycopg.Error:
            return False

    def close(self) -> None:
        with self._admin() as connection:
            for name in self.spare:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            connection.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')


def _emptying(connection: psycopg.Connection) -> str:
    """The statements that bring a database made from the template back to it: delete every
    row (referencing tables before the tables they reference) and restart every sequence."""
    tables = {
        row[0]
        for row in connection.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
    }
    references: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in connection.execute(
        "SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint "
        "WHERE contype = 'f' AND conrelid <> confrelid"
    ):
        references[parent].add(child)
    ordered: list[str] = []
    while references:
        leaves = sorted(t for t, children in references.items() if not children - set(ordered))
        assert leaves, f"foreign keys in a cycle among {sorted(references)}"
        ordered += leaves
        for table in leaves:
            del references[table]
    sequences = connection.execute(
        "SELECT schemaname || '.' || sequencename, start_value FROM pg_sequences "
        "WHERE schemaname = 'public' ORDER BY 1"
    ).fetchall()
    return "; ".join(
        [f'DELETE FROM "{table}"' for table in ordered]
        + [f"SELECT setval('{name}', {start}, false)" for name, start in sequences]
    )


def _schema(connection: psycopg.Connection) -> tuple[object, ...]:
    """What a test could change besides rows: the relations, columns, types and functions of
    every non-system schema, and the migration the database is at."""
    relations = connection.execute(
        "SELECT n.nspname, c.relname, c.relkind, a.attname, a.atttypid, a.attnotnull, "
        "pg_get_expr(d.adbin, d.adrelid) "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') "
        "AND n.nspname NOT LIKE 'pg_toast%' AND n.nspname NOT LIKE 'pg_temp%' "
        "ORDER BY 1, 2, 4"
    ).fetchall()
    functions = connection.execute(
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
        "JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1, 2"
    ).fetchall()
    version = connection.execute("SELECT version_num FROM alembic_version").fetchall()
    return (tuple(relations), tuple(functions), tuple(version))
