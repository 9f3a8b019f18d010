"""The console's Mailboxes page: the Exchange source saved with its password sealed and never
shown again, field errors that keep what was typed, enrolment, and the per-mailbox status."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from linkzoom.calendar.sources import exchange_config
from linkzoom.runtime import Runtime
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import AuditEvent
from tests.controller.conftest import NewBrowser, People
from tests.controller.support import link
from tests.support.ews import start_ews_server
from tests.support.radicale import start_radicale

PAGE = "/controller/admin/mailboxes"
PASSWORD = "Service-account password 9!"
TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "b2d6e0f4-7c19-4a3e-8f25-61d0c9a4e3b8"
CLIENT_SECRET = "Kq7~client.secret-of-the-entra-app_42"


async def test_the_source_is_saved_with_a_write_only_sealed_password(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    first = await root.get(PAGE)
    assert first.status_code == 200 and "No mailbox is watched yet." in first.text
    assert "removes it on 1 April 2027" in first.text  # EWS in Exchange Online is ending

    form = {
        "endpoint": "https://mail.example.org/EWS/Exchange.asmx",
        "username": "CORP\\svc-linkzoom",
        "auth_type": "NTLM",
        "password": "",
    }
    refused = await root.post(PAGE + "/exchange", form)
    assert refused.status_code == 422 and "is required the first time" in refused.text
    saved = await root.post(PAGE + "/exchange", form | {"password": PASSWORD})
    assert saved.status_code == 303 and saved.headers["location"].endswith("mailbox-source-saved")
    page = await root.get(PAGE)
    assert "https://mail.example.org/EWS/Exchange.asmx" in page.text
    assert "A password is stored." in page.text and PASSWORD not in page.text

    # Changing the URL alone keeps the stored password.
    form["endpoint"] = "https://ews.example.org/EWS/Exchange.asmx"
    assert (await root.post(PAGE + "/exchange", form)).status_code == 303
    async with transaction(runtime_of.sessions) as session:
        source = await exchange_config.load(session, runtime_of.sealer)
        sealed = await session.get(SealedSetting, exchange_config.PASSWORD)
        actions = (await session.scalars(select(AuditEvent.action))).all()
    assert source is not None and source.password == PASSWORD
    assert source.service_endpoint == form["endpoint"]
    assert sealed is not None and PASSWORD.encode() not in sealed.ciphertext
    assert actions.count("mailbox.source_changed") == 2


async def test_bad_fields_are_named_and_what_was_typed_is_kept(
    people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    answer = await root.post(
        PAGE + "/exchange",
        {
            "endpoint": "http://mail.example.org/EWS/Exchange.asmx",
            "username": "svc",
            "auth_type": "kerberos",
            "password": PASSWORD,
        },
    )
    assert answer.status_code == 422
    assert "must be https" in answer.text and "must be one of NTLM, basic" in answer.text
    assert 'value="http://mail.example.org/EWS/Exchange.asmx"' in answer.text
    assert PASSWORD not in answer.text  # a secret is never echoed back


async def test_enrolling_watches_everyone_who_connected_zoom(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    await link(runtime_of, people.bob, email="bob@zoom.test")
    root = await new_browser().signed_in("root")
    done = await root.post(PAGE + "/enrol")
    assert done.status_code == 303 and done.headers["location"].endswith("mailboxes-enrolled")
    page = await root.get(PAGE)
    assert 'data-address="bob@example.org"' in page.text and "alice@example.org" not in page.text


async def test_the_connection_test_opens_a_calendar_and_names_what_failed(
    people: People, new_browser: NewBrowser
) -> None:
    ews = start_ews_server()
    try:
        root = await new_browser().signed_in("root")
        unset = await root.post(PAGE + "/test", {"address": "alice@example.org"})
        assert "Save the Exchange source first." in unset.text
        form = {
            "endpoint": ews.endpoint,  # plain http is accepted on loopback only
            "username": ews.username,
            "auth_type": "basic",
            "password": ews.password,
        }
        assert (await root.post(PAGE + "/exchange", form)).status_code == 303
        nobody = await root.post(PAGE + "/test", {"address": "nobody@example.org"})
        assert "ErrorNonExistentMailbox" in nobody.text
        ews.mailbox("alice@example.org")
        ok = await root.post(PAGE + "/test", {"address": "alice@example.org"})
        assert "Opened the calendar of alice@example.org." in ok.text
        ews.mailbox("carol@example.org")
        ews.deny("carol@example.org")
        denied = await root.post(PAGE + "/test", {"address": "carol@example.org"})
        assert "ErrorImpersonateUserDenied" in denied.text
        wrong = form | {"password": "not the password"}
        assert (await root.post(PAGE + "/exchange", wrong)).status_code == 303
        refused = await root.post(PAGE + "/test", {"address": "alice@example.org"})
        assert "refused the service account&#39;s credentials" in refused.text
        assert ews.password not in refused.text
    finally:
        ews.close()


async def test_an_exchange_online_tenant_is_configured_for_app_only_oauth(
    runtime_of: Runtime,
    people: People,
    new_browser: NewBrowser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ews = start_ews_server(tls=True)
    ews.entra.register(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant_id=TENANT)
    assert ews.ca_file is not None
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", ews.ca_file)
    try:
        root = await new_browser().signed_in("root")
        form = {
            "endpoint": ews.endpoint,
            "username": "svc-linkzoom",
            "auth_type": "OAuth2",
            "tenant_id": "",
            "authority": "http://login.example",
            "password": CLIENT_SECRET,
        }
        refused = await root.post(PAGE + "/exchange", form)
        assert refused.status_code == 422
        assert "must be the app&#39;s application (client) id" in refused.text
        assert "is required: the directory (tenant) id" in refused.text
        assert "must be https, e.g. https://login.microsoftonline.us" in refused.text
        assert CLIENT_SECRET not in refused.text

        form |= {"username": CLIENT_ID, "tenant_id": TENANT, "authority": ews.url + "/"}
        assert (await root.post(PAGE + "/exchange", form)).status_code == 303
        page = await root.get(PAGE)
        assert "A client secret is stored." in page.text and CLIENT_SECRET not in page.text
        assert f'value="{TENANT}"' in page.text
        ews.mailbox("alice@example.org")
        ok = await root.post(PAGE + "/test", {"address": "alice@example.org"})
        assert "Opened the calendar of alice@example.org." in ok.text
        assert ews.entra.issued == 1 and ews.anchors[-1] == ("alice@example.org",) * 2

        wrong = form | {"password": "not the client secret"}
        assert (await root.post(PAGE + "/exchange", wrong)).status_code == 303
        bad = await root.post(PAGE + "/test", {"address": "alice@example.org"})
        assert "invalid_client (AADSTS7000215" in bad.text
        assert "not the client secret" not in bad.text

        # Back to NTLM on premises: the tenant and sign-in host go with OAuth.
        ntlm = {"endpoint": "https://mail.example.org/EWS/Exchange.asmx", "username": "CORP\\svc"}
        switched = await root.post(PAGE + "/exchange", ntlm | {"auth_type": "NTLM"})
        assert switched.status_code == 422  # a client secret is no password
        assert "is required when switching between a password and OAuth2" in switched.text
        ntlm |= {"auth_type": "NTLM", "password": PASSWORD}
        assert (await root.post(PAGE + "/exchange", ntlm)).status_code == 303
        async with transaction(runtime_of.sessions) as session:
            source = await exchange_config.load(session, runtime_of.sealer)
            audit = (
                await session.scalars(
                    select(AuditEvent.detail).where(AuditEvent.action == "mailbox.source_changed")
                )
            ).all()
        assert source is not None and source.tenant_id is None and not source.oauth
        assert source.authority == exchange_config.ENTRA
        assert any(TENANT in str(detail) for detail in audit)
        assert not any("client secret" in str(detail) for detail in audit)
    finally:
        ews.close()


async def test_a_caldav_calendar_is_enrolled_and_opened_once_with_its_login(
    runtime_of: Runtime, people: People, new_browser: NewBrowser, tmp_path: Path
) -> None:
    radicale = start_radicale(tmp_path / "radicale", {"alice": "dav-password-1"})
    try:
        url = radicale.make_calendar("alice", "work")
        root = await new_browser().signed_in("root")
        form = {"user": "alice", "url": "http://dav.example.org/x/", "login": "", "password": ""}
        refused = await root.post(PAGE + "/caldav", form)
        assert refused.status_code == 422
        assert "must be https: the password travels with every request" in refused.text
        assert 'href="#login"' in refused.text and "CalDAV login</a>: is required" in refused.text
        assert "Password or app password</a>: is required the first time" not in refused.text

        wrong = form | {"url": url, "login": "alice", "password": "not-the-password"}
        answer = await root.post(PAGE + "/caldav", wrong)
        assert answer.status_code == 200
        assert "refused the calendar&#39;s login" in answer.text
        assert "not-the-password" not in answer.text
        right = await root.post(PAGE + "/caldav", wrong | {"password": "dav-password-1"})
        assert f"Watching {url} for alice; the calendar opened." in right.text
        assert f'data-address="{url}"' in right.text and "alice · CalDAV" in right.text
        async with transaction(runtime_of.sessions) as session:
            rows = (await session.scalars(select(WatchedMailbox))).all()
        assert len(rows) == 1 and rows[0].source == "caldav" and rows[0].login == "alice"
        assert rows[0].secret is not None and b"dav-password-1" not in rows[0].secret
    finally:
        radicale.stop()
