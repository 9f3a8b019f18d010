"""Directory login through the service's authenticator, against the real slapd."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from linkzoom.config import Settings
from linkzoom.identity.users import add_local
from linkzoom.metrics import Metrics
from linkzoom.problems import InvalidCredentials
from linkzoom.runtime import Runtime, open_runtime
from linkzoom.store.db import transaction
from tests.conftest import zoom_app_for
from tests.support.clock import FakeClock
from tests.support.slapd import SlapdServer


@pytest.fixture
async def ldap_runtime(
    settings: Settings, clock: FakeClock, slapd_server: SlapdServer
) -> AsyncIterator[Runtime]:
    configured = settings.replace(ldap=slapd_server.settings())
    async with open_runtime(
        configured, zoom_app_for(configured), metrics=Metrics(), clock=clock
    ) as rt:
        yield rt


async def test_directory_users_sign_in_and_are_mirrored(
    ldap_runtime: Runtime, slapd_server: SlapdServer
) -> None:
    alice = await ldap_runtime.authenticator.login(
        "Alice", slapd_server.passwords["alice"], address="10.0.0.1"
    )
    assert (alice.username, alice.source, alice.is_admin) == ("alice", "ldap", False)
    assert alice.display_name == "Alice Liddell" and alice.password_hash is None
    bob = await ldap_runtime.authenticator.login("bob", slapd_server.passwords["bob"], address=None)
    assert bob.is_admin  # member of the configured admin group


async def test_directory_refusals_are_indistinguishable(
    ldap_runtime: Runtime, slapd_server: SlapdServer
) -> None:
    for username, password in [("alice", "wrong"), ("nobody", "x"), ("alice", "")]:
        with pytest.raises(InvalidCredentials) as caught:
            await ldap_runtime.authenticator.login(username, password, address=None)
        assert caught.value.detail == "Invalid username or password"


async def test_local_accounts_still_work_beside_the_directory(ldap_runtime: Runtime) -> None:
    async with transaction(ldap_runtime.sessions) as session:
        await add_local(
            session,
            username="admin",
            password="local-admin-pw",
            now=ldap_runtime.clock(),
            is_admin=True,
        )
    admin = await ldap_runtime.authenticator.login("admin", "local-admin-pw", address=None)
    assert admin.source == "local" and admin.is_admin
