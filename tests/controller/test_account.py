"""My Account: the User Preferences panel, the Zoom panel and the Devices panel."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import respx
from sqlalchemy import func, select
from starlette.applications import Starlette

from linkzoom.features import set_zoom_enabled
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.grant_tables import ZoomPendingRevoke
from linkzoom.store.models import Preference
from linkzoom.vault import preferences
from tests.controller.conftest import NewBrowser, People
from tests.controller.support import OAUTH, audit_rows, device, link, revoke_ok
from tests.support.clock import FakeClock


def rows(html: str, table: str) -> list[list[str]]:
    body = re.search(rf'<table id="{table}">.*?<tbody>(.*?)</tbody>', html, re.S)
    assert body, html
    cells = [
        re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S)
        for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.S)
    ]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in row] for row in cells]


async def _zoom_preference_id(runtime: Runtime, user_id: int) -> int:
    async with transaction(runtime.sessions) as session:
        found = await session.scalar(
            select(Preference.id).where(
                Preference.user_id == user_id, Preference.resource == "Zoom"
            )
        )
    assert found is not None
    return found


async def _count(runtime: Runtime, table: type[Preference] | type[ZoomPendingRevoke]) -> int:
    async with transaction(runtime.sessions) as session:
        return int(await session.scalar(select(func.count()).select_from(table)) or 0)


async def test_the_preferences_panel_lists_each_stored_preference(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    await link(runtime_of, people.alice, email="alice@zoom.test")
    clock.advance(minutes=5)
    async with transaction(runtime_of.sessions) as session:
        await preferences.put(
            session,
            runtime_of.sealer,
            user_id=people.alice,
            resource="Calendar",
            tag="ews",
            payload={"secret": "hidden-value"},
            now=clock(),
        )
    alice = await new_browser().signed_in("alice")
    page = await alice.get("/controller/account")
    headers = re.findall(r'<th scope="col">(.*?)</th>', page.text.split('id="preferences"')[1])
    assert headers[:4] == ["Resource Name", "Preference Tag", "Created", "Last used"]
    assert rows(page.text, "preferences") == [
        ["Calendar", "ews", "2026-11-22 12:05 UTC", "—", ""],
        ["Zoom", "oauth", "2026-11-22 12:00 UTC", "—", ""],
    ]
    assert 'aria-label="Delete Zoom oauth"' in page.text
    assert "hidden-value" not in page.text and "access-1" not in page.text
    assert 'id="zoom-account">alice@zoom.test' in page.text
    assert "2027-11-22 12:00 UTC" in page.text  # reauthorize by
    assert "Reauthorize Zoom" in page.text and "reauthorize-warning" not in page.text


async def test_deleting_zoom_oauth_revokes_it_on_every_device_at_once(
    app: Starlette,
    runtime_of: Runtime,
    people: People,
    new_browser: NewBrowser,
    zoom: respx.MockRouter,
) -> None:
    revoke = revoke_ok(zoom)
    await link(runtime_of, people.alice, email="alice@zoom.test", access="a-tok")
    token = await device(runtime_of, people.alice, "Outlook")
    alice = await new_browser().signed_in("alice")
    preference_id = await _zoom_preference_id(runtime_of, people.alice)

    confirm = await alice.get(f"/controller/account/preferences/{preference_id}/delete")
    assert confirm.status_code == 200
    assert "disconnects your Zoom account" in confirm.text
    assert await _count(runtime_of, Preference) == 1  # nothing happens before confirming

    done = await alice.post(f"/controller/account/preferences/{preference_id}/delete")
    assert done.headers["location"] == "/controller/account?notice=zoom-disconnected"
    assert revoke.call_count == 1
    assert dict(httpx.QueryParams(revoke.calls[0].request.content.decode())) == {"token": "a-tok"}
    assert await _count(runtime_of, Preference) == 0
    assert await _count(runtime_of, ZoomPendingRevoke) == 0
    assert await audit_rows(runtime_of, "zoom.revoked") == [
        {
            "action": "zoom.revoked",
            "actor": "alice",
            "subject": people.alice,
            "address": "127.0.0.1",
            "detail": {},
        }
    ]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://linkzoom.test"
    ) as api:
        answer = await api.get("/api/v1/zoom/account", headers={"authorization": f"Bearer {token}"})
    assert answer.status_code == 409
    assert answer.json()["type"] == "http://linkzoom.test/problems/zoom-not-linked"
    page = await alice.get("/controller/account?notice=zoom-disconnected")
    assert "No preferences are stored for you." in page.text
    assert "disconnected on every device" in page.text and "Connect Zoom" in page.text


async def test_with_zoom_unreachable_the_tokens_still_go_and_the_revoke_is_retried(
    runtime_of: Runtime,
    clock: FakeClock,
    people: People,
    new_browser: NewBrowser,
    zoom: respx.MockRouter,
) -> None:
    revoke = zoom.post(f"{OAUTH}/oauth/revoke").mock(side_effect=httpx.ConnectError("down"))
    await link(runtime_of, people.alice, email="alice@zoom.test")
    alice = await new_browser().signed_in("alice")
    preference_id = await _zoom_preference_id(runtime_of, people.alice)
    done = await alice.post(f"/controller/account/preferences/{preference_id}/delete")
    assert done.headers["location"].endswith("notice=zoom-disconnected")
    assert await _count(runtime_of, Preference) == 0
    assert await _count(runtime_of, ZoomPendingRevoke) == 1
    attempts = revoke.call_count

    revoke.mock(return_value=httpx.Response(200, json={"status": "success"}))
    assert await runtime_of.zoom_accounts.retry_revokes() == 0  # not due yet
    clock.advance(minutes=1)
    assert await runtime_of.zoom_accounts.retry_revokes() == 1
    assert revoke.call_count == attempts + 1
    assert await _count(runtime_of, ZoomPendingRevoke) == 0


async def test_other_preferences_are_deleted_without_calling_zoom(
    runtime_of: Runtime,
    clock: FakeClock,
    people: People,
    new_browser: NewBrowser,
    zoom: respx.MockRouter,
) -> None:
    async with transaction(runtime_of.sessions) as session:
        row = await preferences.put(
            session,
            runtime_of.sealer,
            user_id=people.alice,
            resource="Calendar",
            tag="ews",
            payload={},
            now=clock(),
        )
        theirs = await preferences.put(
            session,
            runtime_of.sealer,
            user_id=people.bob,
            resource="Calendar",
            tag="ews",
            payload={},
            now=clock(),
        )
    alice = await new_browser().signed_in("alice")
    # Someone else's preference does not exist as far as alice can tell.
    assert (
        await alice.get(f"/controller/account/preferences/{theirs.id}/delete")
    ).status_code == 404
    gone = await alice.post(f"/controller/account/preferences/{theirs.id}/delete")
    assert gone.headers["location"].endswith("notice=already-gone")
    await alice.get(f"/controller/account/preferences/{row.id}/delete")
    done = await alice.post(f"/controller/account/preferences/{row.id}/delete")
    assert done.headers["location"].endswith("notice=preference-deleted")
    assert await _count(runtime_of, Preference) == 1  # bob's
    assert [r["detail"] for r in await audit_rows(runtime_of, "preference.deleted")] == [
        {"resource": "Calendar", "tag": "ews"}
    ]
    assert not zoom.calls


async def test_connect_walks_into_zoom_consent(
    runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    alice = await new_browser().signed_in("alice")
    page = await alice.get("/controller/account")
    assert "Connect Zoom" in page.text and 'id="zoom-status"' in page.text
    answer = await alice.post("/controller/account/zoom/connect")
    assert answer.status_code == 303
    start = answer.headers["location"]
    assert start.startswith("http://linkzoom.test/oauth/zoom/start?ticket=")
    to_zoom = await alice.client.get(start)
    assert to_zoom.status_code == 302
    assert to_zoom.headers["location"].startswith(f"{OAUTH}/oauth/authorize?")
    # The page's CSP lets the Connect form be redirected on to Zoom's consent page.
    assert f"form-action 'self' {OAUTH};" in page.headers["content-security-policy"]


async def test_connect_is_refused_while_zoom_is_disabled(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    async with transaction(runtime_of.sessions) as session:
        await set_zoom_enabled(session, False, now=clock())
    alice = await new_browser().signed_in("alice")
    page = await alice.get("/controller/account")
    assert "Zoom is not enabled for your organisation yet" in page.text
    assert "Connect Zoom" not in page.text
    refused = await alice.post("/controller/account/zoom/connect")
    assert refused.status_code == 403 and "Zoom is not enabled" in refused.text


async def test_the_yearly_reauthorization_is_announced_thirty_days_ahead(
    runtime_of: Runtime, clock: FakeClock, people: People, new_browser: NewBrowser
) -> None:
    await link(runtime_of, people.alice, email="a@zoom.test", reauthorize_after=timedelta(days=31))
    alice = await new_browser().signed_in("alice")
    assert "reauthorize-warning" not in (await alice.get("/controller/account")).text
    clock.advance(days=11)
    await alice.login("alice")  # the session has idled out over eleven days
    page = await alice.get("/controller/account")
    assert "ends in 20 days" in page.text
    clock.advance(days=21)
    await alice.login("alice")
    page = await alice.get("/controller/account")
    assert "has lapsed" in page.text and "Reauthorization due" in page.text


async def test_devices_are_listed_and_signed_out(
    app: Starlette, runtime_of: Runtime, people: People, new_browser: NewBrowser
) -> None:
    outlook = await device(runtime_of, people.alice, "Outlook on Mac")
    phone = await device(runtime_of, people.alice, "Outlook on iPhone")
    alice = await new_browser().signed_in("alice")
    other_browser = await new_browser().signed_in("alice")
    page = await alice.get("/controller/account")
    listed = rows(page.text, "devices")
    assert sorted(r[0] for r in listed) == ["Outlook on Mac", "Outlook on iPhone"]
    assert all(r[3] == "192.0.2.7" for r in listed)
    mac_id = re.search(
        r'action="/controller/account/devices/([0-9a-f]{32})/sign-out"[^<]*<input[^>]*>\s*'
        r'<button[^>]*aria-label="Sign out Outlook on Mac',
        page.text,
    )
    assert mac_id, page.text

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://linkzoom.test"
    ) as api:

        async def me(token: str) -> int:
            answer = await api.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
            return answer.status_code

        assert (await me(outlook), await me(phone)) == (200, 200)
        done = await alice.post(f"/controller/account/devices/{mac_id.group(1)}/sign-out")
        assert done.headers["location"].endswith("notice=device-signed-out")
        assert (await me(outlook), await me(phone)) == (401, 200)
        assert (await alice.post("/controller/account/devices/nothex/sign-out")).status_code == 404

        everywhere = await alice.post("/controller/account/devices/sign-out-everywhere")
        assert everywhere.headers["location"].endswith("notice=signed-out-everywhere")
        assert await me(phone) == 401
    assert (await alice.get("/controller/account")).status_code == 200  # this browser stays
    assert (await other_browser.get("/controller/account")).status_code == 303
    actions = [r["action"] for r in await audit_rows(runtime_of)]
    assert actions == ["device.signed_out", "device.signed_out_everywhere"]
