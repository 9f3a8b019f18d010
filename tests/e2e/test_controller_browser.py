"""The controller in a real browser: Debian's Chromium, headless, driven by Playwright, against
the running service and the Zoom sandbox process. axe-core checks every page it shows."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect
from sqlalchemy import select
from starlette.routing import Route

from linkzoom.controller import routes as controller_routes
from linkzoom.features import set_zoom_enabled
from linkzoom.identity.users import add_local
from linkzoom.store.db import create_engine, session_factory, transaction
from linkzoom.store.models import Preference, User
from tests.e2e.browser_support import (  # noqa: F401
    ARTIFACTS,
    Screenshots,
    assert_accessible,
    assert_fits_the_screen,
    chromium_fixture,
    pages_fixture,
)
from tests.e2e.conftest import PASSWORDS, Deployment
from tests.support.databases import SqliteTemplates
from tests.support.ews import start_ews_server

ADMIN, ADMIN_PASSWORD = "root", "root-password-1"


@pytest.fixture
def database_url(tmp_path: Path, sqlite_templates: SqliteTemplates) -> str:
    """SQLite only, to stay in the suite's time budget: these tests are about the browser (pages,
    forms, cookies, CSP, accessibility), and the same flows' database work runs on SQLite and
    PostgreSQL in tests/controller."""
    return sqlite_templates.fresh(tmp_path)


NOTICE = "main > p[role=status]"


async def prepare(deployment: Deployment, *, zoom_enabled: bool = True) -> None:
    """An administrator, and the feature switch where the test wants it."""
    engine = create_engine(deployment.database_url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            await add_local(
                session,
                username=ADMIN,
                password=ADMIN_PASSWORD,
                now=datetime.now(UTC),
                is_admin=True,
                display_name="Root Admin",
            )
            await set_zoom_enabled(session, zoom_enabled, now=datetime.now(UTC))
    finally:
        await engine.dispose()


async def ids(deployment: Deployment, username: str) -> tuple[int, int | None]:
    """The user's id and the id of their Zoom preference (if any)."""
    engine = create_engine(deployment.database_url, pool_size=1)
    try:
        async with transaction(session_factory(engine)) as session:
            user_id = await session.scalar(select(User.id).where(User.username == username))
            preference_id = await session.scalar(
                select(Preference.id).where(Preference.user_id == user_id)
            )
    finally:
        await engine.dispose()
    assert user_id is not None
    return user_id, preference_id


async def sign_in(page: Page, deployment: Deployment, username: str, password: str) -> None:
    await page.goto(deployment.service_url + "/controller/login")
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page).not_to_have_url(re.compile(r"/controller/login"))


async def test_a_user_disconnects_zoom_with_the_trash_button_and_signs_out_a_device(
    deployment: Deployment, pages: Screenshots
) -> None:
    await prepare(deployment, zoom_enabled=False)
    base = deployment.service_url

    alice = await pages.new_page()
    await sign_in(alice, deployment, "alice", PASSWORDS["alice"])
    await expect(alice).to_have_url(base + "/controller/account")
    await expect(alice.get_by_role("navigation", name="Menu")).to_have_count(0)
    await expect(alice.get_by_text("Zoom is not enabled for your organisation yet")).to_be_visible()
    await assert_accessible(alice)

    # An administrator lands on the console and enables the feature.
    admin = await pages.new_page()
    await sign_in(admin, deployment, ADMIN, ADMIN_PASSWORD)
    await expect(admin).to_have_url(base + "/controller/admin/zoom")
    menu = admin.get_by_role("navigation", name="Menu")
    await expect(menu.get_by_role("link")).to_have_text(
        ["My Account", "Overview", "Zoom", "Users", "Audit log", "Mailboxes", "Add-in"]
    )
    await admin.get_by_role("button", name="Enable Zoom").click()
    await expect(admin.locator(NOTICE)).to_have_text("Zoom is now enabled for everyone.")
    await expect(admin.locator("#feature-state")).to_contain_text("enabled")
    await assert_accessible(admin)

    # Now the user connects Zoom through the sandbox's consent page. Microsoft's CDN never
    # answers here: the page that says what happened must show it anyway.
    await alice.context.route("https://appsforoffice.microsoft.com/**", lambda route: None)
    await alice.reload()
    await alice.get_by_role("button", name="Connect Zoom").click()
    await expect(alice).to_have_url(
        re.compile(re.escape(deployment.sandbox_url) + "/oauth/authorize")
    )
    await alice.get_by_label("Sandbox user's email").fill("alice@zoom.test")
    await alice.get_by_role("button", name="Approve").click()
    await expect(alice.get_by_role("heading", name="Zoom connected")).to_be_visible()
    await alice.goto(base + "/controller/account")
    await expect(alice.locator("#zoom-account")).to_have_text("alice@zoom.test")
    await expect(alice.locator("#zoom-status")).to_have_text("Linked")
    await assert_accessible(alice)

    # The add-in on another device uses the grant.
    device = deployment.login("alice")
    assert device.get("/api/v1/zoom/account").status_code == 200
    await alice.reload()

    # Trash button, then the confirmation step.
    row = alice.locator("#preferences tbody tr").filter(has_text="oauth")
    await expect(row.locator("td").nth(0)).to_have_text("Zoom")
    await row.get_by_role("button", name="Delete Zoom oauth").click()
    await expect(alice.get_by_role("heading", name="Delete preference?")).to_be_visible()
    assert deployment.control("GET", "/stats")["revokes"] == 0  # nothing before confirming
    await assert_accessible(alice)
    await alice.get_by_role("button", name="Delete", exact=True).click()
    await expect(alice.locator(NOTICE)).to_contain_text("disconnected on every device")
    await expect(alice.get_by_text("No preferences are stored for you.")).to_be_visible()

    assert deployment.control("GET", "/stats")["revokes"] == 1
    refused = device.get("/api/v1/zoom/account")
    assert refused.status_code == 409
    assert refused.json()["type"] == base + "/problems/zoom-not-linked"

    # The Devices panel signs the add-in out.
    await alice.get_by_role("button", name=re.compile(r"^Sign out e2e")).click()
    await expect(alice.locator(NOTICE)).to_have_text("The device was signed out.")
    assert device.get("/api/v1/me").status_code == 401
    await expect(alice.get_by_text("No device is signed in.")).to_be_visible()
    await assert_accessible(alice)

    # Signing out of the controller ends the browser session.
    await alice.get_by_role("button", name="Sign out", exact=True).click()
    await expect(alice.locator(NOTICE)).to_have_text("You have signed out.")
    await alice.goto(base + "/controller/account")
    await expect(alice).to_have_url(re.compile(r"/controller/login\?next="))


async def test_an_administrator_revokes_another_users_zoom_and_tests_the_connection(
    deployment: Deployment, pages: Screenshots
) -> None:
    await prepare(deployment)
    bob = deployment.login("bob")
    deployment.link_zoom(bob, "bob@zoom.test")
    admin = await pages.new_page()
    await sign_in(admin, deployment, ADMIN, ADMIN_PASSWORD)

    await admin.get_by_role("navigation", name="Menu").get_by_role("link", name="Users").click()
    await admin.get_by_label("Search users").fill("bob")
    await admin.get_by_role("button", name="Search").click()
    await expect(admin.locator("#user-count")).to_contain_text("1 user matching")
    await expect(admin.locator("#users tbody tr")).to_contain_text("bob@zoom.test")
    await assert_accessible(admin)
    await admin.get_by_role("link", name="Revoke Zoom for bob").click()
    await expect(admin.get_by_role("heading", name="Revoke Zoom authorization?")).to_be_visible()
    await assert_accessible(admin)
    await admin.get_by_role("button", name="Revoke Zoom authorization").click()
    await expect(admin.locator(NOTICE)).to_have_text("The user's Zoom authorization was revoked.")
    assert deployment.control("GET", "/stats")["revokes"] == 1
    assert bob.get("/api/v1/zoom/account").status_code == 409

    await admin.get_by_role("link", name="Audit log").click()
    await admin.get_by_label("Action").select_option("zoom.revoked")
    await admin.get_by_role("button", name="Filter").click()
    events = admin.locator("#audit tbody tr")
    await expect(events).to_have_count(1)
    await expect(events.locator("td")).to_have_text(
        [re.compile(r"UTC$"), "zoom.revoked", ADMIN, "bob", "127.0.0.1", "—"]
    )
    await assert_accessible(admin)

    # The connection test passes against the sandbox with the configured app ...
    await admin.get_by_role("link", name="Zoom", exact=True).click()
    await admin.get_by_role("button", name="Test connection").click()
    await expect(admin.locator("#checks li.ok")).to_have_count(3)
    await assert_accessible(admin)
    # ... a wrong secret saved on the console is in effect at once, without a restart ...
    await admin.get_by_label("Client secret").fill("not-the-right-secret")
    await admin.get_by_role("button", name="Save Zoom app").click()
    await expect(admin.locator(NOTICE)).to_contain_text("in effect now")
    await admin.get_by_role("button", name="Test connection").click()
    await expect(admin.locator("#checks")).to_contain_text("Client ID and secret: failed")
    await expect(admin.locator("#checks")).to_contain_text("Invalid client_id or client_secret")
    # ... and so is the right one.
    await admin.get_by_label("Client secret").fill(deployment.client_secret)
    await admin.get_by_role("button", name="Save Zoom app").click()
    await admin.get_by_role("button", name="Test connection").click()
    await expect(admin.locator("#checks li.ok")).to_have_count(3)
    await expect(admin.locator("#client_secret")).to_have_value("")  # write-only

    # Disabling a user ends their device sessions.
    carol = deployment.login("carol")
    await admin.get_by_role("link", name="Users").click()
    await admin.get_by_role("link", name="Disable carol").click()
    await admin.get_by_role("button", name="Disable user").click()
    await expect(admin.locator(NOTICE)).to_contain_text("disabled and signed out everywhere")
    assert carol.get("/api/v1/me").status_code == 401


def _get_routes() -> list[str]:
    return [
        route.path
        for route in controller_routes.routes
        if isinstance(route, Route) and "GET" in (route.methods or ())
    ]


async def test_every_controller_page_passes_axe_on_desktop_and_phone(
    deployment: Deployment, pages: Screenshots
) -> None:
    await prepare(deployment)
    bob_api = deployment.login("bob")
    deployment.link_zoom(bob_api, "bob@zoom.test")
    bob_id, bob_preference = await ids(deployment, "bob")
    base = deployment.service_url
    seen: set[str] = set()

    async def visit(page: Page, route: str, url: str | None = None, status: int = 200) -> None:
        answer = await page.goto(base + (url or route))
        assert answer is not None and answer.status == status, (route, answer)
        seen.add(route)
        await assert_accessible(page)
        await assert_fits_the_screen(page)

    for phone in (False, True):
        stranger = await pages.new_page(phone=phone)
        await visit(stranger, "/controller/login")
        # Keyboard: the skip link comes first and leads straight to the form.
        await stranger.keyboard.press("Tab")
        await expect(stranger.get_by_role("link", name="Skip to main content")).to_be_focused()
        await stranger.keyboard.press("Enter")
        await stranger.keyboard.press("Tab")
        await expect(stranger.get_by_label("Username")).to_be_focused()
        await stranger.get_by_label("Username").fill("bob")
        await stranger.get_by_label("Password").fill("wrong")
        await stranger.get_by_role("button", name="Sign in").click()
        await expect(stranger.get_by_role("alert")).to_contain_text("Sign-in failed")
        await assert_accessible(stranger)

        user = await pages.new_page(phone=phone)
        await sign_in(user, deployment, "bob", PASSWORDS["bob"])
        await visit(user, "/controller")
        await visit(user, "/controller/account")
        await visit(
            user,
            "/controller/account/preferences/{preference_id:int}/delete",
            f"/controller/account/preferences/{bob_preference}/delete",
        )
        await visit(user, "/controller/admin", status=403)  # the 403 page itself

        admin = await pages.new_page(phone=phone)
        await sign_in(admin, deployment, ADMIN, ADMIN_PASSWORD)
        for route in _get_routes():
            if route.startswith("/controller/admin"):
                await visit(admin, route, route.replace("{user_id:int}", str(bob_id)))
        await visit(
            admin, "/controller/admin/users", "/controller/admin/users?q=b&notice=user-enabled"
        )
        await visit(admin, "/controller/admin/audit", "/controller/admin/audit?since=nonsense")
        await admin.goto(base + "/controller/admin/zoom")
        # As an old browser would, skip the input's own range check: the server's answers too.
        duration = admin.get_by_label("Duration (minutes)")
        await duration.evaluate("input => input.removeAttribute('min')")
        await duration.fill("0")
        await admin.get_by_role("button", name="Save meeting defaults").click()
        await expect(admin.get_by_role("alert")).to_contain_text("Nothing was saved")
        await assert_accessible(admin)
        await admin.get_by_role("button", name="Test connection", exact=True).click()
        await expect(admin.locator("#checks li")).to_have_count(3)
        await assert_accessible(admin)
        await assert_fits_the_screen(admin)

    assert seen >= set(_get_routes()), set(_get_routes()) - seen
    assert httpx.get(base + "/controller/static/controller.css").status_code == 200


async def test_the_overview_shows_todays_meetings_errors_and_workers(
    deployment: Deployment, pages: Screenshots
) -> None:
    await prepare(deployment)
    bob = deployment.login("bob")
    deployment.link_zoom(bob, "bob@zoom.test")
    for _ in range(2):
        assert bob.post("/api/v1/compose/meetings", json={}).status_code == 201
    deployment.control(
        "POST",
        "/faults",
        json={"method": "POST", "path_regex": "^/v2/users/[^/]+/meetings$", "status": 503},
    )
    assert bob.post("/api/v1/compose/meetings", json={}).status_code == 503
    deployment.control("DELETE", "/faults")

    for phone in (False, True):
        admin = await pages.new_page(phone=phone)
        await sign_in(admin, deployment, ADMIN, ADMIN_PASSWORD)
        await admin.get_by_role("link", name="Overview").click()
        await expect(admin.get_by_role("heading", name="Overview", level=1)).to_be_visible()
        # The counts arrive with the worker's passes (every 2 s here), and the meetings and the
        # error need not arrive in the same one: reload until the page shows both.
        deadline = time.monotonic() + 15
        while (
            await admin.locator("#meetings-today").inner_text(),
            await admin.locator("#errors-today").inner_text(),
        ) != ("2", "1"):
            assert time.monotonic() < deadline, "the worker never added today's counts"
            await admin.wait_for_timeout(500)
            await admin.reload()
        await expect(admin.locator("#workers-alive")).to_have_text("1")
        await expect(admin.locator("#no-worker")).to_have_count(0)
        kinds = admin.locator("#error-kinds tbody tr")
        await expect(kinds).to_have_count(1)
        await expect(kinds.first).to_have_attribute("data-kind", "zoom-unavailable")
        await expect(kinds.first).to_contain_text("Zoom is unavailable")
        today = admin.locator("#meetings-chart-table tbody tr").first
        await expect(today).to_contain_text("2")
        bars = admin.locator("figure[aria-labelledby=meetings-chart-caption] rect.bar")
        await expect(bars).to_have_count(14)
        await expect(bars.last).to_have_attribute("data-value", "2")
        chart = admin.get_by_role("img", name="Meetings created per day")
        await expect(chart).to_be_visible()
        await assert_accessible(admin)
        await assert_fits_the_screen(admin)
        ARTIFACTS.mkdir(exist_ok=True)  # the README's console screenshot is the desktop one
        shot = ARTIFACTS / f"console-overview{'-phone' if phone else ''}.png"
        await admin.screenshot(path=str(shot), full_page=True)


async def test_an_administrator_sets_up_the_mailbox_watch_in_the_browser(
    deployment: Deployment, pages: Screenshots
) -> None:
    await prepare(deployment)
    bob = deployment.login("bob")
    deployment.link_zoom(bob, "bob@zoom.test")
    ews = start_ews_server()
    try:
        admin = await pages.new_page(phone=True)  # the narrowest screen the console serves
        await sign_in(admin, deployment, ADMIN, ADMIN_PASSWORD)
        await admin.goto(deployment.service_url + "/controller/admin/mailboxes")
        await expect(admin.locator("#ews-retirement")).to_contain_text("1 April 2027")

        # OAuth2 chosen without its fields: every problem named, each link leads to its field.
        await admin.get_by_label("EWS URL").fill("https://outlook.office365.com/EWS/Exchange.asmx")
        await admin.get_by_label("Service account or application id").fill("svc")
        await admin.get_by_label("Authentication").select_option("OAuth2")
        await admin.get_by_label("Password or client secret").fill("client-secret-typed")
        await admin.get_by_role("button", name="Save Exchange source").click()
        alert = admin.get_by_role("alert")
        await expect(alert).to_contain_text("Nothing was saved")
        await expect(alert).to_contain_text("Tenant: is required")
        await alert.get_by_role("link", name="Tenant").click()
        await expect(admin.get_by_label("Tenant", exact=True)).to_be_focused()
        await expect(admin.get_by_label("Password or client secret")).to_have_value("")
        await assert_accessible(admin)
        await assert_fits_the_screen(admin)

        # Exchange Server with basic auth, as the stand-in speaks it.
        await admin.get_by_label("EWS URL").fill(ews.endpoint)
        await admin.get_by_label("Service account or application id").fill(ews.username)
        await admin.get_by_label("Authentication").select_option("basic")
        await admin.get_by_label("Password or client secret").fill(ews.password)
        await admin.get_by_role("button", name="Save Exchange source").click()
        await expect(admin.locator(NOTICE)).to_have_text(
            "The Exchange source was saved; the next pass uses it."
        )
        await expect(admin.locator("#password-hint")).to_have_text("A password is stored.")

        # The connection test names what is wrong, then what worked.
        await admin.get_by_label("Mailbox to try", exact=True).fill("bob@example.org")
        await admin.get_by_role("button", name="Test connection", exact=True).click()
        await expect(admin.locator("#check li.bad")).to_contain_text("ErrorNonExistentMailbox")
        ews.mailbox("bob@example.org").add(
            subject="Standup",
            start=datetime(2027, 5, 4, 9, tzinfo=UTC),
            end=datetime(2027, 5, 4, 10, tzinfo=UTC),
        )
        await admin.get_by_role("button", name="Test connection", exact=True).click()
        await expect(admin.locator("#check li.ok")).to_have_text(
            "Opened the calendar of bob@example.org."
        )
        await assert_accessible(admin)

        # Microsoft Graph: a pasted certificate without its key is refused, the secret kept out.
        await admin.get_by_label("Microsoft 365 tenant").fill("contoso.onmicrosoft.com")
        await admin.get_by_label("Graph application (client) id").fill(
            "b2d6e0f4-7c19-4a3e-8f25-61d0c9a4e3b8"
        )
        await admin.get_by_label("Graph certificate").fill(
            "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
        )
        await admin.get_by_role("button", name="Save Graph source").click()
        await expect(alert).to_contain_text("Graph certificate: must hold an unencrypted PEM")
        await alert.get_by_role("link", name="Graph certificate").click()
        await expect(admin.get_by_label("Graph certificate")).to_be_focused()
        await expect(admin.get_by_label("Microsoft 365 tenant")).to_have_value(
            "contoso.onmicrosoft.com"
        )
        await assert_accessible(admin)

        # Enrol everyone who connected Zoom; the worker lists the mailbox within a pass.
        await admin.get_by_role("button", name="Watch every user who has connected Zoom").click()
        await expect(admin.locator(NOTICE)).to_contain_text("is watched now")
        row = admin.locator('#mailboxes tr[data-address="bob@example.org"]')
        await expect(row).to_contain_text("bob")
        deadline = time.monotonic() + 20
        while (
            "In sync" not in await row.inner_text()
            or "—" in await row.locator("td").nth(1).inner_text()
        ):
            assert time.monotonic() < deadline, await row.inner_text()
            await admin.wait_for_timeout(250)
            await admin.reload()
        await expect(row.locator("td").nth(2)).to_have_text("0")  # no Zoom event in it yet
        await assert_accessible(admin)
        await assert_fits_the_screen(admin)
        assert ews.password not in await admin.content()
    finally:
        ews.close()
