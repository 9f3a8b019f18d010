from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.slapd import SlapdServer, SlapdUnavailable, running_slapd


@pytest.fixture(scope="session")
def slapd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlapdServer]:
    """A real slapd with the fixture directory, shared by the whole test session."""
    try:
        with running_slapd(tmp_path_factory.mktemp("slapd")) as server:
            yield server
    except SlapdUnavailable as exc:
        # Never a skip: a missing directory server must not turn the login tests silently green.
        pytest.fail(str(exc), pytrace=False)
