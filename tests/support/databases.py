"""Throwaway databases: a migrated template per session, a fresh copy per test.

SQLite copies a migrated file; PostgreSQL clones a migrated template database (``CREATE
DATABASE … TEMPLATE``), which is far faster than migrating each time.
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

    def _admin(self) -> psycopg.Connection:
        return psycopg.connect(
            _plain(self.base.render_as_string(hide_password=False)), autocommit=True
        )

    def url_of(self, name: str) -> str:
        return self.base.set(database=name).render_as_string(hide_password=False)

    def fresh(self) -> str:
        name = f"{self.base.database}_{secrets.token_hex(4)}"
        with self._admin() as connection:
            connection.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self.created.append(name)
        return self.url_of(name)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def close(self) -> None:
        with self._admin() as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)')
