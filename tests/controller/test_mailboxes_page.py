"""The console's Mailboxes page: the Exchange and Microsoft Graph sources saved with their
secrets sealed and never shown again, field errors that keep what was typed, enrolment, and the
per-mailbox status."""

from __future__ import annotations

import html
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import trustme
from sqlalchemy import select

from linkzoom.calendar.sources import exchange_config, graph_config
from linkzoom.runtime import Runtime
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import AuditEvent
from tests.controller.conftest import NewBrowser, People
from tests.controller.support import link
from tests.support import graph as graph_support
from tests.support.ews import start_ews_server
from tests.support.graph import GraphServer
from tests.support.radicale import start_radicale

PAGE = "/controller/admin/mailboxes"
PASSWORD = "Service-account password 9!"
TENANT = "contoso.onmicrosoft.com"
CLIENT_ID = "b2d6e0f4-7c19-4a3e-8f25-61d0c9a4e3b8"
CLIENT_SECRET = "Kq7~client.secret-of-the-entra-app_42"
GRAPH_SECRET = "Gr8~graph.app-secret_that-is-sealed-77"


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
        nothing = await root.post(PAGE + "/test", {"address": ""})
        assert "no mailbox is watched through Exchange" in nothing.text
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


def _key_and_certificate() -> str:
    issued = trustme.CA(key_type=trustme.KeyType.RSA).issue_cert(
        "linkzoom.example", key_type=trustme.KeyType.RSA
    )
    return issued.private_key_pem.bytes().decode() + issued.cert_chain_pems[0].bytes().decode()


async def test_the_graph_source_is_saved_with_a_write_only_sealed_credential(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    first = await root.get(PAGE)
    assert "Microsoft 365 (Microsoft Graph)" in first.text and "graph-consent" not in first.text
    form = {
        "graph_tenant_id": "",
        "graph_client_id": "not-a-guid",
        "graph_secret": GRAPH_SECRET,
        "graph_certificate": "-----BEGIN CERTIFICATE-----\nnot one\n-----END CERTIFICATE-----",
        "graph_authority": "http://login.example",
        "graph_api_url": "ftp://graph.example",
    }
    refused = await root.post(PAGE + "/graph", form)
    assert refused.status_code == 422
    assert 'href="#graph_tenant_id"' in refused.text and 'href="#graph_client_id"' in refused.text
    assert "give a client secret or a certificate, not both" in refused.text
    assert "must be an https URL, e.g. https://login.microsoftonline.us" in refused.text
    assert "must be an https URL, e.g. https://graph.microsoft.us" in refused.text
    assert 'value="not-a-guid"' in refused.text and GRAPH_SECRET not in refused.text

    form |= {"graph_tenant_id": TENANT, "graph_client_id": CLIENT_ID, "graph_secret": ""}
    form |= {"graph_authority": "", "graph_api_url": ""}
    bad_pem = await root.post(PAGE + "/graph", form)
    assert "must hold an unencrypted PEM private key and its PEM certificate" in bad_pem.text
    form["graph_certificate"] = ""
    none_yet = await root.post(PAGE + "/graph", form)
    assert "is required the first time (or a certificate)" in none_yet.text

    saved = await root.post(PAGE + "/graph", form | {"graph_secret": GRAPH_SECRET})
    assert saved.status_code == 303 and saved.headers["location"].endswith("graph-source-saved")
    page = await root.get(PAGE)
    assert "A client secret is stored." in page.text and GRAPH_SECRET not in page.text
    consent = re.search(r'<a href="([^"]+)">the admin consent page</a>', page.text)
    assert consent is not None
    assert consent.group(1).startswith(
        f"https://login.microsoftonline.com/{TENANT}/v2.0/adminconsent?"
    )
    query = parse_qs(urlsplit(html.unescape(consent.group(1))).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["scope"] == ["https://graph.microsoft.com/.default"]
    assert query["redirect_uri"][0].endswith("/controller/admin/mailboxes/graph/consented")

    # A certificate replaces the secret; saving again with both empty keeps it.
    pem = _key_and_certificate()
    assert (await root.post(PAGE + "/graph", form | {"graph_certificate": pem})).status_code == 303
    assert (await root.post(PAGE + "/graph", form)).status_code == 303
    page = await root.get(PAGE)
    assert "A certificate is stored." in page.text and "PRIVATE KEY" not in page.text
    async with transaction(runtime_of.sessions) as session:
        source = await graph_config.load(session, runtime_of.sealer)
        sealed = await session.get(SealedSetting, graph_config.CREDENTIAL)
        details = (
            await session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "mailbox.source_changed")
            )
        ).all()
    assert source is not None and source.credential.kind == graph_config.CERTIFICATE
    assert source.authority == exchange_config.ENTRA and source.api_url == graph_config.GRAPH_API
    assert sealed is not None and b"PRIVATE KEY" not in sealed.ciphertext
    assert [d["credential"] for d in details] == ["secret", "certificate", "certificate"]
    assert not any(GRAPH_SECRET in str(d) or "PRIVATE KEY" in str(d) for d in details)


async def test_the_graph_connection_test_gets_a_token_and_reads_one_event(
    people: People, new_browser: NewBrowser, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = GraphServer()
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", server.ca_file)  # msal's token requests
    monkeypatch.setenv("SSL_CERT_FILE", server.ca_file)  # httpx's Graph requests
    try:
        root = await new_browser().signed_in("root")
        unset = await root.post(PAGE + "/graph/test", {"address": "alice@example.org"})
        assert "Save the Microsoft Graph source first." in unset.text
        form = {
            "graph_tenant_id": graph_support.TENANT_ID,
            "graph_client_id": graph_support.CLIENT_ID,
            "graph_secret": graph_support.CLIENT_SECRET,
            "graph_authority": server.url,
            "graph_api_url": server.url,
        }
        assert (await root.post(PAGE + "/graph", form)).status_code == 303
        nobody = await root.post(PAGE + "/graph/test", {"address": ""})
        assert "no mailbox is watched through Microsoft Graph" in nobody.text
        server.mailbox("alice@example.org")
        ok = await root.post(PAGE + "/graph/test", {"address": "alice@example.org"})
        assert "Read the calendar of alice@example.org." in ok.text
        assert server.entra.issued == 1
        server.deny("carol@example.org")
        denied = await root.post(PAGE + "/graph/test", {"address": "carol@example.org"})
        assert "Microsoft Graph refused the mailbox" in denied.text
        wrong = form | {"graph_secret": "not the client secret"}
        assert (await root.post(PAGE + "/graph", wrong)).status_code == 303
        bad = await root.post(PAGE + "/graph/test", {"address": "alice@example.org"})
        assert "refused the app&#39;s token request" in bad.text
        assert "not the client secret" not in bad.text
    finally:
        server.close()


async def test_enrolling_for_graph_moves_a_mailbox_off_exchange_server(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    await link(runtime_of, people.bob, email="bob@zoom.test")
    root = await new_browser().signed_in("root")
    assert (await root.post(PAGE + "/enrol", {"source": "exchange"})).status_code == 303
    assert (await root.post(PAGE + "/enrol", {"source": "graph"})).status_code == 303
    async with transaction(runtime_of.sessions) as session:
        rows = (await session.execute(select(WatchedMailbox.source, WatchedMailbox.address))).all()
    assert [tuple(row) for row in rows] == [("graph", "bob@example.org")]
    page = await root.get(PAGE)
    assert "bob · Microsoft 365" in page.text
    unknown = await root.post(PAGE + "/enrol", {"source": "imap"})
    assert unknown.status_code == 422 and "must be one of exchange, graph" in unknown.text


async def test_the_admin_consent_return_says_what_entra_answered(
    people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    back = PAGE + "/graph/consented"
    granted = await root.get(back + f"?admin_consent=True&tenant={TENANT}")
    assert granted.status_code == 303 and granted.headers["location"].endswith("graph-consented")
    # The error text is Entra's: the notice is a fixed one, never the query echoed.
    refused = await root.get(back + "?error=access_denied&error_description=<script>x</script>")
    assert refused.headers["location"].endswith("graph-consent-refused")
    shown = await root.get(refused.headers["location"])
    assert "did not grant the Graph app its permissions" in shown.text
    assert "access_denied" not in shown.text and "<script>x" not in shown.text
