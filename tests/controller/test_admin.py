"""The admin console: users, audit log, and the Zoom page."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import respx
from sqlalchemy import insert, select

from linkzoom.app import create_app
from linkzoom.config import Settings
from linkzoom.features import zoom_enabled
from linkzoom.grant import revocations
from linkzoom.identity.passwords import hash_password
from linkzoom.runtime import Runtime
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.db import transaction
from linkzoom.store.grant_tables import ZoomGrant, ZoomPendingRevoke
from linkzoom.store.models import AppSetting, AuditEvent, User
from linkzoom.zoom import meeting_defaults
from linkzoom.zoom.meeting_defaults import MeetingDefaults
from tests.controller.conftest import NewBrowser, People, browser_for
from tests.controller.support import API, OAUTH, audit_rows, device, link, revoke_ok
from tests.support.clock import FakeClock
from tests.support.consent import link_through_runtime


def usernames(html: str) -> list[str]:
    return re.findall(r'<tr data-username="([^"]+)">', html)


async def test_users_search_and_paging(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    async with transaction(runtime_of.sessions) as session:
        for n in range(30):  # directory users: no password to hash, so this stays fast
            session.add(
                User(
                    username=f"user{n:02d}",
                    display_name=f"User {n}",
                    source="ldap",
                    password_hash=None,
                    created_at=clock(),
                )
            )
    await link(runtime_of, people.alice, email="alice@zoom.test")
    root = await new_browser().signed_in("root")
    first = await root.get("/controller/admin/users")
    assert "33 users." in first.text
    assert usernames(first.text)[:3] == ["alice", "bob", "root"]
    assert len(usernames(first.text)) == 25 and "Page 1 of 2" in first.text
    second = await root.get("/controller/admin/users", params={"page": "2"})
    assert usernames(second.text) == [f"user{n:02d}" for n in range(22, 30)]
    found = await root.get("/controller/admin/users", params={"q": "ALI"})
    assert usernames(found.text) == ["alice"] and "1 user matching" in found.text
    assert "alice@zoom.test" in found.text and "Linked" in found.text
    by_email = await root.get("/controller/admin/users", params={"q": "bob@example"})
    assert usernames(by_email.text) == ["bob"]
    wildcard = await root.get("/controller/admin/users", params={"q": "%"})
    assert usernames(wildcard.text) == []  # LIKE wildcards are searched for literally
    page_two_of_search = await root.get(
        "/controller/admin/users", params={"q": "user", "page": "2"}
    )
    assert usernames(page_two_of_search.text) == [f"user{n:02d}" for n in range(25, 30)]
    assert 'href="/controller/admin/users?q=user&amp;page=1"' in page_two_of_search.text


async def test_revoking_another_users_zoom(
    runtime_of: Runtime, people: People, new_browser: NewBrowser, zoom: respx.MockRouter
) -> None:
    revoke = revoke_ok(zoom)
    await link(runtime_of, people.bob, email="bob@zoom.test", access="bob-access")
    root = await new_browser().signed_in("root")
    listing = await root.get("/controller/admin/users")
    assert f'href="/controller/admin/users/{people.bob}/revoke-zoom"' in listing.text
    confirm = await root.get(f"/controller/admin/users/{people.bob}/revoke-zoom")
    assert "Revoke Zoom authorization?" in confirm.text
    done = await root.post(f"/controller/admin/users/{people.bob}/revoke-zoom")
    assert done.headers["location"] == "/controller/admin/users?notice=user-zoom-revoked"
    assert revoke.call_count == 1
    async with transaction(runtime_of.sessions) as session:
        assert await session.scalar(select(ZoomGrant)) is None
    assert await audit_rows(runtime_of, "zoom.revoked") == [
        {
            "action": "zoom.revoked",
            "actor": "root",
            "subject": people.bob,
            "address": "127.0.0.1",
            "detail": {},
        }
    ]
    again = await root.post(f"/controller/admin/users/{people.bob}/revoke-zoom")
    assert again.headers["location"].endswith("notice=already-gone")
    assert (await root.get("/controller/admin/users/99999/revoke-zoom")).status_code == 404


async def test_disable_and_enable_a_user(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    await device(runtime_of, people.bob, "Outlook")
    root = await new_browser().signed_in("root")
    await root.post(f"/controller/admin/users/{people.bob}/disable")
    listing = await root.get("/controller/admin/users", params={"q": "bob"})
    assert "Disabled" in listing.text and "Enable bob" in listing.text
    assert (await new_browser().login("bob")).status_code == 401
    await root.post(f"/controller/admin/users/{people.bob}/enable")
    assert (await new_browser().login("bob")).status_code == 303
    own = await root.post(f"/controller/admin/users/{people.root}/disable")
    assert own.status_code == 403 and "your own account" in own.text
    assert "Disable root" not in (await root.get("/controller/admin/users")).text
    details = [(r["action"], r["detail"]) for r in await audit_rows(runtime_of)]
    assert details == [
        ("user.disabled", {"devices": 1, "browsers": 0}),
        ("login.failed", {}),
        ("user.enabled", {}),
    ]


async def test_the_audit_log_filters(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    stranger = new_browser()
    await stranger.login("bob", "wrong")
    clock.advance(days=2)
    root = await new_browser().signed_in("root")
    await root.post("/controller/admin/zoom/feature", {"enabled": "false"})
    everything = await root.get("/controller/admin/audit")
    assert "2 events." in everything.text
    table = everything.text.split('<table id="audit">')[1]
    assert table.index("zoom.feature_disabled") < table.index("login.failed")  # newest first
    failed = await root.get("/controller/admin/audit", params={"action": "login.failed"})
    assert "1 event." in failed.text and "<td>bob</td>" in failed.text
    assert "127.0.0.1" in failed.text
    by_actor = await root.get("/controller/admin/audit", params={"actor": "ROO"})
    assert "1 event." in by_actor.text and "zoom.feature_disabled" in by_actor.text
    since = await root.get("/controller/admin/audit", params={"since": "2026-11-23"})
    assert "1 event." in since.text
    until = await root.get("/controller/admin/audit", params={"until": "2026-11-22"})
    assert "1 event." in until.text and "login.failed</code>" in until.text
    bad = await root.get("/controller/admin/audit", params={"since": "soon"})
    assert bad.status_code == 200 and "enter a date as YYYY-MM-DD" in bad.text
    assert 'aria-invalid="true"' in bad.text
    options = re.findall(r'<option value="([^"]+)"', everything.text)
    assert {"login.failed", "zoom.revoked", "zoom.deauthorized", "zoom.granted"} <= set(options)


async def test_feature_switch_is_the_cli_switch(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    page = await root.get("/controller/admin/zoom")
    assert "Disable Zoom" in page.text
    await root.post("/controller/admin/zoom/feature", {"enabled": "false"})
    async with transaction(runtime_of.sessions) as session:
        assert await zoom_enabled(session) is False
    page = await root.get("/controller/admin/zoom?notice=feature-disabled")
    assert "Enable Zoom" in page.text and "Zoom is now disabled" in page.text
    await root.post("/controller/admin/zoom/feature", {"enabled": "true"})
    await root.post("/controller/admin/zoom/feature", {"enabled": "true"})  # no change, no audit
    actions = [r["action"] for r in await audit_rows(runtime_of)]
    assert actions == ["zoom.feature_disabled", "zoom.feature_enabled"]


async def test_urls_for_the_marketplace_app(people: People, new_browser: NewBrowser) -> None:
    root = await new_browser().signed_in("root")
    page = await root.get("/controller/admin/zoom")
    assert 'value="http://linkzoom.test/oauth/zoom/callback"' in page.text
    assert 'value="http://linkzoom.test/webhooks/zoom"' in page.text


async def test_app_credentials_are_sealed_write_only_and_used_at_once(
    runtime_of: Runtime, people: People, new_browser: NewBrowser, zoom: respx.MockRouter
) -> None:
    root = await new_browser().signed_in("root")
    page = await root.get("/controller/admin/zoom")
    assert "test-client-secret" not in page.text and "test-webhook-secret" not in page.text
    assert 'value="test-client-id"' in page.text and "from the server's environment" in page.text

    refused = await root.post(
        "/controller/admin/zoom/app", {"client_id": "new-client", "webhook_secret": "hook-2"}
    )
    assert refused.status_code == 422
    assert "enter the secret of this client ID" in refused.text
    assert "hook-2" not in refused.text and 'value="new-client"' in refused.text

    saved = await root.post(
        "/controller/admin/zoom/app",
        {"client_id": "new-client", "client_secret": "secret-2", "webhook_secret": "hook-2"},
    )
    assert saved.headers["location"] == "/controller/admin/zoom?notice=credentials-saved"
    app = runtime_of.zoom_app
    assert (app.client_id, app.client_secret, app.webhook_secret) == (
        "new-client",
        "secret-2",
        "hook-2",
    )
    async with transaction(runtime_of.sessions) as session:
        sealed = list(await session.scalars(select(SealedSetting)))
        client_id = await session.get(AppSetting, "zoom.app.client_id")
    assert {row.name for row in sealed} == {"zoom.app.client_secret", "zoom.app.webhook_secret"}
    assert all(
        b"secret-2" not in row.ciphertext and b"hook-2" not in row.ciphertext for row in sealed
    )
    assert client_id is not None and client_id.value == "new-client"
    page = await root.get("/controller/admin/zoom")
    assert "secret-2" not in page.text and "hook-2" not in page.text
    assert page.text.count("set on this console") == 3

    # The OAuth client now authenticates as the new app.
    token = zoom.post(f"{OAUTH}/oauth/token").mock(
        return_value=httpx.Response(
            400, json={"reason": "Invalid Token!", "error": "invalid_grant"}
        )
    )
    zoom.get(f"{API}/users/me").mock(
        return_value=httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
    )
    await root.post("/controller/admin/zoom/test")
    assert (
        token.calls[0].request.headers["authorization"]
        == httpx.BasicAuth("new-client", "secret-2")._auth_header
    )

    assert (await root.post("/controller/admin/zoom/app/clear")).status_code == 303
    assert runtime_of.zoom_app.client_id == "test-client-id"
    assert runtime_of.zoom_app.client_secret == "test-client-secret"
    changes = [(r["action"], r["detail"]) for r in await audit_rows(runtime_of)]
    assert changes == [
        ("zoom.app_changed", {"fields": ["client_id", "client_secret", "webhook_secret"]}),
        ("zoom.connection_tested", {"client_id": "new-client", "failed": []}),
        ("zoom.app_cleared", {}),
    ]


async def test_connection_test_tells_good_from_bad(
    runtime_of: Runtime, people: People, new_browser: NewBrowser, zoom: respx.MockRouter
) -> None:
    token = zoom.post(f"{OAUTH}/oauth/token")
    me = zoom.get(f"{API}/users/me")
    root = await new_browser().signed_in("root")

    token.mock(
        return_value=httpx.Response(
            400, json={"reason": "Invalid Token!", "error": "invalid_grant"}
        )
    )
    me.mock(
        return_value=httpx.Response(401, json={"code": 124, "message": "Invalid access token."})
    )
    good = await root.post("/controller/admin/zoom/test")
    assert good.status_code == 200
    results = re.findall(r'<li class="(ok|bad)"><strong>([^<]+)</strong>', good.text)
    assert [r[0] for r in results] == ["ok", "ok", "ok"], good.text
    form = parse_qs(token.calls[0].request.content.decode())
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"][0].startswith("linkzoom-connection-test-")
    assert "authorization" not in me.calls[0].request.headers

    token.mock(
        return_value=httpx.Response(
            401, json={"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
        )
    )
    me.mock(return_value=httpx.Response(200, text="<html>proxy login</html>"))
    bad = await root.post("/controller/admin/zoom/test")
    assert "Client ID and secret: failed." in bad.text
    assert "Invalid client_id or client_secret" in bad.text
    assert "Zoom API: failed." in bad.text

    token.mock(side_effect=httpx.ConnectError("no route"))
    me.mock(side_effect=httpx.ConnectError("no route"))
    down = await root.post("/controller/admin/zoom/test")
    assert down.text.count("Could not reach") == 2
    assert "test-client-secret" not in down.text
    failed = [r["detail"]["failed"] for r in await audit_rows(runtime_of)]
    both = ["Client ID and secret", "Zoom API"]
    assert failed == [[], both, both]


async def test_meeting_defaults(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    saved = await root.post(
        "/controller/admin/zoom/defaults", {"duration_minutes": "45", "waiting_room": "on"}
    )
    assert saved.headers["location"].endswith("notice=defaults-saved")
    async with transaction(runtime_of.sessions) as session:
        stored = await meeting_defaults.load(session)
    assert stored == MeetingDefaults(
        duration_minutes=45, join_before_host=False, waiting_room=True, passcode=False
    )
    page = await root.get("/controller/admin/zoom")
    assert 'id="waiting_room" name="waiting_room" type="checkbox" checked' in page.text
    bad = await root.post("/controller/admin/zoom/defaults", {"duration_minutes": "9999"})
    assert bad.status_code == 422 and "must be between 1 and 1440" in bad.text
    assert 'value="9999" aria-describedby="duration_minutes-error" aria-invalid="true"' in bad.text


async def test_the_reauthorization_period_applies_to_new_grants(
    runtime_of: Runtime,
    clock: FakeClock,
    people: People,
    new_browser: NewBrowser,
    zoom: respx.MockRouter,
) -> None:
    root = await new_browser().signed_in("root")
    assert (
        await root.post("/controller/admin/zoom/reauthorization", {"reauthorize_days": "0"})
    ).status_code == 422
    await root.post("/controller/admin/zoom/reauthorization", {"reauthorize_days": "90"})
    assert 'value="90"' in (await root.get("/controller/admin/zoom")).text

    zoom.post(f"{OAUTH}/oauth/token").mock(
        return_value=httpx.Response(
            200,
            json={
                "access_token": "a",
                "refresh_token": "r",
                "expires_in": 3599,
                "scope": "s",
                "token_type": "bearer",
            },
        )
    )
    zoom.get(f"{API}/users/me").mock(
        return_value=httpx.Response(200, json={"id": "zu", "account_id": "acc", "email": "x@z.t"})
    )

    async def approve(consent_url: str) -> dict[str, str]:
        return {"state": parse_qs(urlsplit(consent_url).query)["state"][0], "code": "c"}

    await link_through_runtime(runtime_of, people.alice, approve)
    async with transaction(runtime_of.sessions) as session:
        grant = await session.scalar(select(ZoomGrant))
    assert grant is not None and grant.reauthorize_by - grant.authorized_at == timedelta(days=90)

    await root.post("/controller/admin/zoom/reauthorization", {"reauthorize_days": ""})
    assert 'placeholder="365"' in (await root.get("/controller/admin/zoom")).text
    details = [
        r["detail"] for r in await audit_rows(runtime_of, "zoom.reauthorization_period_changed")
    ]
    assert details == [{"days": 90}, {"days": None}]


async def test_over_the_sandbox_a_stored_app_switches_to_the_real_zoom(
    settings: Settings, clock: FakeClock
) -> None:
    sandboxed = settings.replace(
        zoom_client_id=None, zoom_client_secret=None, zoom_webhook_secret=None
    )
    app = create_app(sandboxed, clock=clock, with_worker=False)
    async with app.router.lifespan_context(app):
        runtime: Runtime = app.state.runtime
        async with transaction(runtime.sessions) as session:
            session.add(
                User(
                    username="root",
                    display_name="Root",
                    is_admin=True,
                    source="local",
                    password_hash=hash_password("root-password-1"),
                    created_at=clock(),
                )
            )
        root = browser_for(app, settings.public_url)
        try:
            await root.login("root", "root-password-1")
            page = await root.get("/controller/admin/zoom")
            assert 'id="sandbox-banner"' in page.text and "No Zoom app is configured" in page.text
            assert 'id="client_id" name="client_id"' in page.text and 'value=""' in page.text
            assert runtime.zoom_app.oauth_url == "http://linkzoom.test/zoom-sandbox"
            refused = await root.post("/controller/admin/zoom/app", {"webhook_secret": "w"})
            assert refused.status_code == 422 and "enter your Zoom app" in refused.text
            await root.post(
                "/controller/admin/zoom/app", {"client_id": "real", "client_secret": "real-secret"}
            )
            assert runtime.zoom_app.sandboxed is False
            assert runtime.zoom_app.oauth_url == "https://zoom.test"
            assert runtime.zoom_app.api_url == "https://api.zoom.test/v2"
            page = await root.get("/controller/admin/zoom")
            assert 'id="sandbox-banner"' not in page.text
            policy = page.headers["content-security-policy"]
            assert "form-action 'self' https://zoom.test;" in policy
        finally:
            await root.client.aclose()


async def test_owed_revokes_that_cannot_be_opened_are_named_on_the_zoom_page(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    async with transaction(runtime_of.sessions) as session:
        for n, error in enumerate(("zoom-unavailable", revocations.UNREADABLE)):
            session.add(
                ZoomPendingRevoke(
                    id=f"row{n}",
                    user_id=people.alice,
                    key_id="gone",
                    ciphertext=b"x",
                    access_expires_at=clock(),
                    created_at=clock(),
                    attempts=1,
                    next_attempt_at=clock() + timedelta(hours=1),
                    last_error=error,
                )
            )
    root = await new_browser().signed_in("root")
    page = (await root.get("/controller/admin/zoom")).text
    assert "2 Zoom revocations are waiting for Zoom" in page
    assert re.search(r'id="revokes-unreadable">1 of them cannot be opened', page)


async def test_the_audit_log_pages_by_key_without_gaps_or_repeats(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    """Keyset paging: Older/Newer links walk the trail; many events at one instant included."""
    async with transaction(runtime_of.sessions) as session:
        await session.execute(
            insert(AuditEvent),
            [
                {
                    "at": clock() - timedelta(minutes=n // 3),  # three events per instant
                    "action": "login.failed" if n % 2 else "user.disabled",
                    "actor": f"actor{n:04d}",
                    "detail": {},
                }
                for n in range(1_010)
            ],
        )
    root = await new_browser().signed_in("root")
    seen: list[str] = []
    page = await root.get("/controller/admin/audit")
    assert "More than 1,000 events." in page.text
    older_links = 0
    while True:
        seen += re.findall(r"<td>(actor\d{4})</td>", page.text)
        older = re.search(
            r'href="(/controller/admin/audit\?[^"]*before=[^"]+)" rel="next"',
            page.text,
        )
        if older is None:
            break
        older_links += 1
        page = await root.get(older.group(1).replace("&amp;", "&"))
    assert older_links == 20 and len(seen) == len(set(seen)) == 1_010
    # Newest first; events of one instant by id, the last written first.
    assert seen == [f"actor{n:04d}" for n in sorted(range(1_010), key=lambda n: (n // 3, -n))]
    newer = re.search(r'href="(/controller/admin/audit\?[^"]*after=[^"]+)" rel="prev"', page.text)
    assert newer is not None
    back = await root.get(newer.group(1).replace("&amp;", "&"))
    assert re.findall(r"<td>(actor\d{4})</td>", back.text) == seen[-60:-10]
    # A filter pages within its events and counts them exactly below the cap.
    only = await root.get("/controller/admin/audit", params={"action": "user.disabled"})
    assert "505 events." in only.text and "actor0001" not in only.text
    assert "before=" in only.text and "action=user.disabled" in only.text


async def test_the_add_in_page_offers_the_manifests_of_this_deployment(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    root = await new_browser().signed_in("root")
    page = (await root.get("/controller/admin/addin")).text
    found = re.search(r'<code id="addin-id">([0-9a-f-]{36})</code>', page)
    assert found is not None
    for download in (
        "/addin/manifest.xml",
        "/addin/package.zip",
        "/addin/manifest.json",
        "/addin/try",
    ):
        assert f'href="{download}"' in page
    assert "New-App -OrganizationApp" in page and "Integrated apps" in page
    # http://linkzoom.test is not https: the page says Outlook will not load it.
    assert 'id="https-warning"' in page
    # The id shown is the one every manifest carries, and it stays.
    again = (await root.get("/controller/admin/addin")).text
    assert found.group(0) in again
