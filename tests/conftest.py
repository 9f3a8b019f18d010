"""Fixtures shared by the whole suite: databases on both backends, settings, a runtime."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from linkzoom.config import Settings
from linkzoom.metrics import Metrics
from linkzoom.runtime import Runtime, open_runtime
from linkzoom.zoom.app_credentials import ZoomApp
from tests.support.clock import FakeClock
from tests.support.databases import PostgresTemplates, SqliteTemplates, backends, postgres_url
from tests.support.keys import new_keyring

# The SQLite variant's id, alone or beside other parameters: [sqlite], [sqlite-link], [x-sqlite].
_SQLITE_ID = re.compile(r"\[(?:[^\]]*-)?sqlite(?:-[^\]]*)?\]$")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    _one_database(config, items)
    _longest_first(items)


def _one_database(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``one_database`` check behaviour that does not depend on the database
    (HTTP edges, signatures, page flows): with PostgreSQL available they run there only, which
    keeps the whole suite inside its time budget; without it they run on SQLite."""
    if len(backends()) < 2:
        return
    dropped = [
        i for i in items if i.get_closest_marker("one_database") and _SQLITE_ID.search(i.nodeid)
    ]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [i for i in items if i not in dropped]


# The single longest test (about a minute), then the end-to-end tests (seconds each), then the
# rest (mostly milliseconds). run-tests.sh has xdist hand each worker half of this order and let
# a worker that runs dry take tests from the end of the other's (``--dist worksteal``): the long
# tests start early and the two workers finish within a short test of each other.
_FIRST = ("tests/e2e/test_calendar_chaos.py::", "tests/e2e/")


def _longest_first(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        return next(
            (n for n, prefix in enumerate(_FIRST) if item.nodeid.startswith(prefix)), len(_FIRST)
        )

    items.sort(key=rank)  # stable: pytest's order (module fixtures, parameters) kept within


@pytest.fixture(scope="session")
def sqlite_templates(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplates:
    return SqliteTemplates(tmp_path_factory.mktemp("sqlite-template"))


@pytest.fixture(scope="session")
def postgres_templates() -> Iterator[PostgresTemplates | None]:
    url = postgres_url()
    if url is None:
        yield None
        return
    templates = PostgresTemplates(url)
    yield templates
    templates.close()


@pytest.fixture(params=backends())
def database_url(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    sqlite_templates: SqliteTemplates,
    postgres_templates: PostgresTemplates | None,
) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_templates.fresh(tmp_path)
        return
    assert postgres_templates is not None
    url = postgres_templates.fresh()
    yield url
    postgres_templates.drop(url)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        public_url="http://linkzoom.test",
        var_dir=tmp_path / "var",
        keys=new_keyring(),
        zoom_client_id="test-client-id",
        zoom_client_secret="test-client-secret",
        zoom_webhook_secret="test-webhook-secret",
        zoom_oauth_url="https://zoom.test",
        zoom_api_url="https://api.zoom.test/v2",
        log_format="text",
    )


def zoom_app_for(settings: Settings) -> ZoomApp:
    assert settings.zoom_client_id and settings.zoom_client_secret
    return ZoomApp(
        client_id=settings.zoom_client_id,
        client_secret=settings.zoom_client_secret,
        webhook_secret=settings.zoom_webhook_secret,
        oauth_url=settings.zoom_oauth_url,
        api_url=settings.zoom_api_url,
        sandboxed=False,
    )


@pytest.fixture
async def runtime(settings: Settings, clock: FakeClock) -> AsyncIterator[Runtime]:
    async with open_runtime(settings, zoom_app_for(settings), metrics=Metrics(), clock=clock) as rt:
        yield rt
