"""App-only OAuth for Exchange Online tenants that allow-listed the app for EWS: the real
exchangelib and requests-oauthlib against the EWS stand-in over HTTPS, which is also the
tenant's token endpoint (:mod:`tests.support.entra`)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest

from linkzoom.calendar.sources.base import SourceError
from linkzoom.calendar.sources.exchange import ExchangeSource
from linkzoom.calendar.sources.exchange_config import OAUTH2, ExchangeSettings
from linkzoom.runtime import Runtime
from tests.calendar.harness import SandboxProcess
from tests.calendar.sources.test_exchange_watch import ADDIN, START, Watch, watching
from tests.support.clock import FakeClock
from tests.support.ews import EwsServer, start_ews_server
from tests.support.logcapture import configured_logging

TENANT = "4f1c2b7e-0d3a-4e58-9b6c-2a1f0e9d8c77"
CLIENT_ID = "b2d6e0f4-7c19-4a3e-8f25-61d0c9a4e3b8"
SECRET = "Qx8~stand-in.client-secret_0123456789abcdef"


@pytest.fixture(scope="module")
def ews_tls() -> Iterator[EwsServer]:
    server = start_ews_server(addin_id=ADDIN, tls=True)
    server.entra.register(client_id=CLIENT_ID, client_secret=SECRET, tenant_id=TENANT)
    yield server
    server.close()


@pytest.fixture(autouse=True)
def trust_the_test_ca(ews_tls: EwsServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # requests reads the CA bundle an operator would set for a private CA.
    assert ews_tls.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ews_tls.ca_file)


def app_only(ews: EwsServer, **changes: str) -> ExchangeSettings:
    settings = ExchangeSettings(
        service_endpoint=ews.endpoint,
        username=CLIENT_ID,
        password=SECRET,
        auth_type=OAUTH2,
        tenant_id=TENANT,
        authority=ews.url,
    )
    return replace(settings, **changes)  # type: ignore[arg-type]


@pytest.fixture
async def watch(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock, ews_tls: EwsServer
) -> AsyncIterator[Watch]:
    async with watching(runtime, sandbox, clock, ews_tls, app_only(ews_tls)) as opened:
        yield opened


@pytest.mark.one_database
async def test_a_move_reaches_zoom_through_app_only_oauth_with_one_token(watch: Watch) -> None:
    issued = watch.ews.entra.issued
    item_id, meeting_id = await watch.turn_zoom_on("key-oauth", START)
    assert await watch.poll() == 1
    watch.mailbox.update(
        item_id, start=START + timedelta(days=2), end=START + timedelta(days=2, hours=1)
    )
    assert await watch.poll() == 1
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-09T09:00:00Z"
    assert watch.ews.entra.issued == issued + 1  # one grant serves every request until it expires
    mine = [anchor for anchor, box in watch.ews.anchors if box == watch.mailbox.address]
    assert mine and set(mine) == {watch.mailbox.address}  # each request names its mailbox


def test_the_scope_and_token_endpoint_follow_the_cloud() -> None:
    worldwide = ExchangeSettings(
        service_endpoint="https://outlook.office365.com/EWS/Exchange.asmx",
        username=CLIENT_ID,
        password=SECRET,
        auth_type=OAUTH2,
        tenant_id=TENANT,
    )
    assert worldwide.scope == "https://outlook.office365.com/.default"
    assert worldwide.token_url == (f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token")
    us_government = replace(
        worldwide,
        service_endpoint="https://outlook.office365.us/EWS/Exchange.asmx",
        authority="https://login.microsoftonline.us/",
    )
    assert us_government.scope == "https://outlook.office365.us/.default"
    assert us_government.token_url.startswith("https://login.microsoftonline.us/4f1c")


async def test_an_expired_token_is_replaced_by_a_new_client_credentials_grant(
    ews_tls: EwsServer,
) -> None:
    address = "expiry@x.org"
    ews_tls.mailbox(address).add(subject="Other", start=START, end=START + timedelta(hours=1))
    source = ExchangeSource(app_only(ews_tls), addin_id=ADDIN)
    ews_tls.entra.lifetime = 1
    try:
        first = await source.changes(address, None)
        issued = ews_tls.entra.issued
        # Past expires_in even as oauthlib rounds the fetch time: the client sees it expired.
        time.sleep(1.6)
        again = await source.changes(address, first.sync_state)
    finally:
        ews_tls.entra.lifetime = 3599
        source.close()
    assert again.changes == [] and again.sync_state
    assert ews_tls.entra.issued == issued + 1


async def test_a_token_exchange_refuses_is_replaced_within_the_same_poll(
    ews_tls: EwsServer,
) -> None:
    address = "revoked@x.org"
    ews_tls.mailbox(address)
    source = ExchangeSource(app_only(ews_tls), addin_id=ADDIN)
    try:
        state = (await source.changes(address, None)).sync_state
        issued = ews_tls.entra.issued
        ews_tls.entra.revoke_all()  # Exchange answers the cached token 401
        assert (await source.changes(address, state)).changes == []
        assert ews_tls.entra.issued == issued + 1
        # The secret rotated in Entra but not here: the new grant fails, and says why.
        ews_tls.entra.register(client_id=CLIENT_ID, client_secret="rotated", tenant_id=TENANT)
        ews_tls.entra.revoke_all()
        with pytest.raises(SourceError, match="invalid_client"):
            await source.changes(address, state)
    finally:
        ews_tls.entra.register(client_id=CLIENT_ID, client_secret=SECRET, tenant_id=TENANT)
        source.close()


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"password": "not-the-secret"}, "invalid_client (AADSTS7000215: Invalid client secret"),
        ({"tenant_id": "contoso.example"}, "invalid_request (AADSTS90002: Tenant"),
        ({"username": "00000000-0000-0000-0000-000000000000"}, "unauthorized_client"),
    ],
)
async def test_a_refused_token_request_is_named_without_the_secret(
    ews_tls: EwsServer,
    changes: dict[str, str],
    named: str,
) -> None:
    ews_tls.mailbox("refused@x.org")
    source = ExchangeSource(app_only(ews_tls, **changes), addin_id=ADDIN)
    with configured_logging("DEBUG") as lines:  # as `linkzoom run` at LINKZOOM_LOG_LEVEL=DEBUG
        try:
            problem = await source.check("refused@x.org")
        finally:
            source.close()
    assert problem is not None and named in problem
    assert problem.startswith("Microsoft Entra ID refused the app's token request")
    logged = "\n".join(lines)
    for secret in (SECRET, "not-the-secret"):
        assert secret not in problem and secret not in logged


async def test_app_only_oauth_never_falls_back_to_delegate_access(ews_tls: EwsServer) -> None:
    # Exchange Online serves an app-only token only to a request that impersonates a mailbox.
    source = ExchangeSource(replace(app_only(ews_tls), impersonate=False), addin_id=ADDIN)
    ews_tls.mailbox("delegate@x.org")
    try:
        assert await source.check("delegate@x.org") is None
    finally:
        source.close()
    assert ("delegate@x.org", "delegate@x.org") in ews_tls.anchors
