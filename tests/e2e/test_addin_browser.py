"""The add-in as Outlook runs it: its real command code in Chromium, with the Office.js stand-in
(/addin/try), against a running linkzoom and the Zoom sandbox over loopback.

Dialog pages load Office.js from Microsoft's CDN, as they must in Outlook; here that address is
answered with the same stand-in (Playwright routes it), which plays the dialog side of
displayDialogAsync: messageParent reaches the add-in that opened the window.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from linkzoom.addin import routes as addin_routes
from tests.e2e.browser_support import (  # noqa: F401
    ARTIFACTS,
    Screenshots,
    assert_accessible,
    chromium_fixture,
    pages_fixture,
)
from tests.e2e.compose_support import live_meetings, sql
from tests.e2e.conftest import PASSWORDS, Deployment
from tests.support.databases import SqliteTemplates

STANDIN = addin_routes.STATIC / "try" / "office-standin.js"
IDLE = "[data-busy=false]"
DAILY_LIMIT_MESSAGE = (
    "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests "
    "permitted for this particular user. You may resume these requests at GMT 00:00:00."
)


@pytest.fixture
def database_url(tmp_path: Path, sqlite_templates: SqliteTemplates) -> str:
    """SQLite only: these tests are about the add-in in the browser; the API's database work
    runs on both databases in the other e2e tests."""
    return sqlite_templates.fresh(tmp_path)


async def office_from_the_standin(context: BrowserContext) -> None:
    await context.route(
        "https://appsforoffice.microsoft.com/**",
        lambda route: route.fulfill(path=str(STANDIN), content_type="text/javascript"),
    )


async def open_try(pages: Screenshots, deployment: Deployment) -> Page:
    page = await pages.new_page()
    await office_from_the_standin(page.context)
    await page.goto(deployment.service_url + "/addin/try")
    await expect(page.locator("body[data-ready=true]")).to_have_count(1)
    return page


async def press(page: Page, command: str) -> None:
    await page.locator(f"[data-command={command}]").click()


async def finished(page: Page, command: str) -> None:
    await expect(page.locator(f"body[data-last-run={command}]{IDLE}")).to_have_count(
        1, timeout=30_000
    )
    await page.evaluate("() => { delete document.body.dataset.lastRun; }")


async def dialog(context: BrowserContext, act: Callable[[], Awaitable[None]]) -> Page:
    async with context.expect_page() as opened:
        await act()
    popup = await opened.value
    await popup.wait_for_load_state()
    return popup


async def sign_in_and_connect(
    page: Page, command: str, user: str, zoom_email: str, *, check_pages: bool = False
) -> None:
    """Press a button while signed out: the sign-in dialog, then Zoom consent, then the run."""
    context = page.context
    sign_in = await dialog(context, lambda: press(page, command))
    await expect(sign_in.get_by_role("heading", name="Sign in to linkzoom")).to_be_visible()
    if check_pages:
        # A popup keeps the window of its first, empty document, and with it the axe-core that
        # was injected there; a reload gives the page a window, and an axe, of its own.
        await sign_in.reload()
        await assert_accessible(sign_in)
    await sign_in.get_by_label("Username").fill(user)
    await sign_in.get_by_label("Password").fill(PASSWORDS[user])
    consent = await dialog(context, lambda: sign_in.get_by_role("button", name="Sign in").click())
    await consent.get_by_label("Sandbox user's email").fill(zoom_email)
    # The callback page hands the claim code over at once and the add-in closes the window.
    await consent.get_by_role("button", name="Approve").click()
    await finished(page, command)
    assert consent.is_closed() and sign_in.is_closed()  # the add-in closed both dialogs


def wait_for(what: str, condition: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


async def test_compose_signs_in_connects_zoom_and_inserts_one_meeting(
    pages: Screenshots, deployment: Deployment
) -> None:
    page = await open_try(pages, deployment)
    await assert_accessible(page)
    body = page.locator("#message-body-html")
    await body.click()  # the cursor sits at the end of "Hi, can we talk?"
    await page.keyboard.press("End")
    await sign_in_and_connect(
        page, "insertZoomInMessage", "alice", "alice@zoom.test", check_pages=True
    )
    await expect(page.locator("#message-notice")).to_have_text(
        "Zoom meeting added. It starts when you send this message."
    )
    (meeting,) = live_meetings(deployment)
    assert meeting["topic"] == "Quick question"
    block = body.locator(".linkzoom-invitation")
    await expect(block).to_have_count(1)
    await expect(block).to_contain_text(f"/j/{meeting['id']}?pwd=")
    # Inserted where the cursor was: after the text already there.
    assert (await body.inner_text()).startswith("Hi, can we talk?")

    ARTIFACTS.mkdir(exist_ok=True)  # what a newcomer sees at /addin/try (README screenshot)
    await page.screenshot(path=str(ARTIFACTS / "addin-try.png"), full_page=True)

    # Pressing again changes nothing: the message already has its meeting.
    await press(page, "insertZoomInMessage")
    await finished(page, "insertZoomInMessage")
    await expect(page.locator("#message-notice")).to_have_text(
        "This message already has a Zoom meeting."
    )
    await expect(block).to_have_count(1)
    assert len(live_meetings(deployment)) == 1

    # Sending: the meeting is told the message went out.
    await page.locator("#message-send").click()
    await expect(page.locator("#message-state")).to_have_text("Sent.")
    ((sent_at,),) = sql(deployment, "SELECT sent_at FROM compose_meetings")
    assert sent_at is not None

    # A plain-text message gets the text invitation; removing it before sending deletes it.
    await page.locator("#message-new").click()
    await page.locator("#message-plain").check()
    await press(page, "insertZoomInMessage")
    await finished(page, "insertZoomInMessage")
    text = page.locator("#message-body-text")
    second = wait_for(
        "a second meeting",
        lambda: [m for m in live_meetings(deployment) if m["id"] != meeting["id"]],
    )
    assert f"/j/{second[0]['id']}?pwd=" in await text.input_value()
    assert "<div" not in await text.input_value()
    await text.fill("Never mind, no call needed.")
    await page.locator("#message-send").click()
    await expect(page.locator("#message-state")).to_have_text("Sent.")
    assert [m["id"] for m in live_meetings(deployment)] == [meeting["id"]]

    # A draft left unsent past LINKZOOM_COMPOSE_DRAFT_DAYS is taken for discarded (Outlook
    # says nothing when a draft is thrown away): the worker deletes its meeting, and sending
    # it later is stopped with a message instead of mailing a dead link.
    await page.locator("#message-new").click()
    await page.locator("#message-plain").uncheck()
    await press(page, "insertZoomInMessage")
    await finished(page, "insertZoomInMessage")
    (draft,) = wait_for(
        "the draft's meeting",
        lambda: [m for m in live_meetings(deployment) if m["id"] != meeting["id"]],
    )
    sql(
        deployment,
        "UPDATE compose_meetings SET created_at = :old WHERE zoom_meeting_id = :id",
        old=(datetime.now(UTC) - timedelta(days=31)).replace(tzinfo=None),  # SQLite keeps UTC naive
        id=draft["id"],
    )
    wait_for("the worker's sweep", lambda: len(live_meetings(deployment)) == 1)
    await page.locator("#message-send").click()
    await expect(page.locator("#message-state")).to_have_text(
        re.compile(r"^Not sent: The Zoom meeting in this message no longer exists\.")
    )
    await body.locator(".linkzoom-invitation").evaluate("block => block.remove()")
    await page.locator("#message-send").click()
    await expect(page.locator("#message-state")).to_have_text("Sent.")


async def test_calendar_toggle_follows_the_event_and_survives_save_and_reopen(
    pages: Screenshots, deployment: Deployment
) -> None:
    page = await open_try(pages, deployment)
    await sign_in_and_connect(page, "toggleZoomInAppointment", "bob", "bob@zoom.test")
    await expect(page.locator("#event-notice")).to_have_text(
        "Zoom meeting added. It follows this event's time."
    )
    (meeting,) = live_meetings(deployment)
    start = await page.evaluate(
        "() => new Date(document.getElementById('event-start').value).toISOString()"
    )
    assert meeting["topic"] == "Weekly planning" and meeting["duration"] == 60
    assert _instant(meeting["start_time"]) == _instant(start)
    location = page.locator("#event-location")
    await expect(location).to_have_value(re.compile(rf"/j/{meeting['id']}\?pwd="))
    await expect(page.locator("#event-body .linkzoom-invitation")).to_have_count(1)
    key = await page.evaluate(
        "() => Object.entries(localStorage)"
        ".filter(([k]) => k.startsWith('officeStandin:customProperties:'))"
        ".map(([, v]) => JSON.parse(v).linkzoom_event_key)[0]"
    )
    assert key

    # A longer event: the time-changed handler runs and the meeting follows.
    end = page.locator("#event-end")
    later_end = await page.evaluate(
        "() => { const d = new Date(document.getElementById('event-end').value);"
        " d.setMinutes(d.getMinutes() + 30); const p = (n) => String(n).padStart(2, '0');"
        " return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`"
        " + `T${p(d.getHours())}:${p(d.getMinutes())}`; }"
    )
    await end.fill(later_end)
    await end.dispatch_event("change")
    await finished(page, "onAppointmentTimeChanged")
    wait_for(
        "the meeting to last 90 minutes", lambda: live_meetings(deployment)[0]["duration"] == 90
    )

    # Weekly: the recurrence-changed handler makes it a recurring meeting.
    await page.locator("#event-repeat").select_option("weekly")
    await finished(page, "onAppointmentRecurrenceChanged")
    recurring = wait_for(
        "a weekly meeting",
        lambda: [m for m in live_meetings(deployment) if m["type"] == 8 and m.get("recurrence")],
    )
    assert recurring[0]["id"] == meeting["id"] and recurring[0]["recurrence"]["type"] == 2

    # With no end: Zoom holds the next 60 occurrences, and the user is told so.
    await page.locator("#event-repeat").select_option("weekly-endless")
    await finished(page, "onAppointmentRecurrenceChanged")
    await expect(page.locator("#event-notice")).to_have_text(
        re.compile(r"^Zoom has this series' next 60 times, through .+; linkzoom adds later ones")
    )
    wait_for(
        "a window of 60 occurrences",
        lambda: live_meetings(deployment)[0]["recurrence"].get("end_times") == 60,
    )

    # Saved and reopened, the event still knows its meeting: the toggle now removes it.
    await page.locator("#event-save").click()
    await page.reload()
    await expect(page.locator("#event-state")).to_have_text("Reopened the saved event.")
    await expect(location).to_have_value(re.compile(rf"/j/{meeting['id']}\?pwd="))
    await press(page, "toggleZoomInAppointment")
    await finished(page, "toggleZoomInAppointment")
    await expect(page.locator("#event-notice")).to_have_text(
        "Zoom meeting removed from this event."
    )
    await expect(page.locator("#event-body .linkzoom-invitation")).to_have_count(0)
    await expect(page.locator("#event-location")).to_have_value("")
    wait_for("the meeting to be deleted", lambda: live_meetings(deployment) == [])
    await assert_accessible(page)


async def test_a_join_link_longer_than_a_location_goes_in_the_body_only(
    pages: Screenshots, deployment: Deployment
) -> None:
    """Office refuses a location past 255 characters (DataExceedsMaximumSize). Zoom's links can
    be that long (a registrant's link carries a ``tk`` token); the sandbox's are not, so the
    service's answer is lengthened on its way to the add-in."""
    page = await open_try(pages, deployment)
    long_link = "&tk=" + "t" * 300

    async def lengthened(route: Route) -> None:
        response = await route.fetch()
        answer = await response.json()
        if answer.get("location"):
            answer["location"] += long_link
        await route.fulfill(response=response, json=answer)

    await page.route("**/api/v1/calendar/events/*/zoom", lengthened)
    await sign_in_and_connect(page, "toggleZoomInAppointment", "alice", "alice@zoom.test")
    await expect(page.locator("#event-notice")).to_have_text(
        "Zoom meeting added (the link is too long for the location; it is in the body)."
    )
    (meeting,) = live_meetings(deployment)
    await expect(page.locator("#event-location")).to_have_value("")
    invitation = page.locator("#event-body .linkzoom-invitation")
    await expect(invitation).to_have_count(1)
    await expect(invitation).to_contain_text(f"/j/{meeting['id']}?pwd=")


async def test_each_problem_becomes_a_message_and_nothing_is_inserted(
    pages: Screenshots, deployment: Deployment
) -> None:
    page = await open_try(pages, deployment)
    await sign_in_and_connect(page, "insertZoomInMessage", "carol", "carol@zoom.test")
    await page.locator("#message-new").click()
    body = page.locator("#message-body-html")
    before = await body.inner_html()
    made = len(live_meetings(deployment))
    notice = page.locator("#message-notice")

    async def pressed_and_refused(expected: str) -> None:
        await press(page, "insertZoomInMessage")
        await finished(page, "insertZoomInMessage")
        await expect(notice).to_contain_text(expected)
        assert await body.inner_html() == before
        assert len(live_meetings(deployment)) == made

    # 503: Zoom is down (the sandbox fails every create and the lost-create lookup).
    deployment.control(
        "POST",
        "/faults",
        json={"method": "POST", "path_regex": "/meetings$", "status": 503, "count": 10},
    )
    deployment.control(
        "POST",
        "/faults",
        json={"method": "GET", "path_regex": "/meetings$", "status": 503, "count": 10},
    )
    await pressed_and_refused("Zoom is not answering right now, so nothing was added.")
    deployment.control("DELETE", "/faults")

    # 429: Zoom's daily limit, with the instant it resets.
    deployment.control(
        "POST",
        "/faults",
        json={
            "method": "POST",
            "path_regex": "/meetings$",
            "status": 429,
            "headers": {"X-RateLimit-Type": "Daily-limit"},
            "body": {
                "code": 429,
                "message": DAILY_LIMIT_MESSAGE,
            },
            "count": 1,
        },
    )
    await pressed_and_refused("Zoom's daily limit for your account is reached; it resets at")
    deployment.control("DELETE", "/faults")

    # 403: an administrator switched Zoom off.
    deployment.cli("zoom", "disable")
    await pressed_and_refused("Zoom is not enabled for your organisation yet.")
    deployment.cli("zoom", "enable")

    # 409: Zoom must be connected again; closing the consent window adds nothing.
    sql(deployment, "DELETE FROM zoom_grants")
    sql(deployment, "DELETE FROM preferences")
    consent = await dialog(page.context, lambda: press(page, "insertZoomInMessage"))
    await consent.close()
    await finished(page, "insertZoomInMessage")
    await expect(notice).to_have_text("Cancelled: nothing was added.")
    assert await body.inner_html() == before


async def test_the_consent_pages_are_accessible_and_name_the_account(
    pages: Screenshots, deployment: Deployment
) -> None:
    api = deployment.login("carol")
    authorize_url = api.post("/api/v1/zoom/authorizations").json()["authorize_url"]
    page = await pages.new_page(phone=True)
    await office_from_the_standin(page.context)
    await page.goto(authorize_url)
    await page.get_by_label("Sandbox user's email").fill("carol@zoom.test")
    await page.get_by_role("button", name="Approve").click()
    await expect(page.get_by_role("heading", name="Zoom consent received")).to_be_visible()
    await expect(page.locator("main")).to_contain_text("linkzoom account carol")
    await assert_accessible(page)


async def test_the_standin_behaves_as_office_documents(
    pages: Screenshots, deployment: Deployment
) -> None:
    """The stand-in's own contract, so a passing add-in test means what it says."""
    page = await open_try(pages, deployment)
    outcome = await page.evaluate(
        """async () => {
            const call = (target, method, ...args) => new Promise((resolve) =>
                target[method](...args, (result) => resolve(result)));
            const event = OfficeStandin.open({id: "probe", itemType: "appointment"}, {
                read: (name) => name === "start" ? "2026-12-07T09:00:00.000Z" : "",
                write: () => {}, bodyType: () => "text", bodyContent: () => "x",
                bodyText: () => "x", setBody: () => {}, insertAtCursor: () => {},
                changed: () => {}, notices: () => {},
            });
            const long = await call(event.location, "setAsync", "x".repeat(256));
            const html = await call(event.body, "setSelectedDataAsync", "<b>x</b>",
                {coercionType: Office.CoercionType.Html});
            const start = await call(event.start, "getAsync");
            const props = await call(event, "loadCustomPropertiesAsync");
            props.value.set("a", "1");
            const unsaved = (await call(event, "loadCustomPropertiesAsync")).value.get("a");
            await call(props.value, "saveAsync");
            const saved = (await call(event, "loadCustomPropertiesAsync")).value.get("a");
            const notice = await call(event.notificationMessages, "replaceAsync", "k",
                {type: "informationalMessage", message: "hi"});
            return {
                long: [long.status, long.error.name],
                html: [html.status, html.error.name],
                start: [start.status, start.value.toISOString()],
                unsaved, saved,
                notice: [notice.status, notice.error.name],
                supported: [Office.context.requirements.isSetSupported("Mailbox", "1.5"),
                            Office.context.requirements.isSetSupported("Mailbox", "1.99")],
                statuses: [Office.AsyncResultStatus.Succeeded, Office.AsyncResultStatus.Failed],
            };
        }"""
    )
    assert outcome == {
        "long": ["failed", "DataExceedsMaximumSize"],
        "html": ["failed", "InvalidFormatError"],
        "start": ["succeeded", "2026-12-07T09:00:00.000Z"],
        "unsaved": None,
        "saved": "1",
        "notice": ["failed", "InvalidArgument"],
        "supported": [True, False],
        "statuses": ["succeeded", "failed"],
    }


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


async def test_on_an_exchange_server_mailbox_the_add_in_keeps_to_mailbox_1_5(
    pages: Screenshots, deployment: Deployment
) -> None:
    """Exchange Server supports Mailbox 1.1-1.5: no session data, no recurrence API, no event
    handlers; the buttons still work, the meeting is remembered in custom properties."""
    page = await open_try(pages, deployment)
    await page.evaluate("() => { OfficeStandin.mailboxVersion = '1.5'; }")
    await sign_in_and_connect(page, "insertZoomInMessage", "alice", "alice@zoom.test")
    await expect(page.locator("#message-body-html .linkzoom-invitation")).to_have_count(1)
    remembered = await page.evaluate(
        "() => Object.entries(localStorage)"
        ".filter(([k]) => k.startsWith('officeStandin:customProperties:'))"
        ".map(([, v]) => JSON.parse(v).linkzoom_compose_meeting_id)"
    )
    assert len(remembered) == 1 and json.loads(remembered[0])["id"]
    await press(page, "toggleZoomInAppointment")
    await finished(page, "toggleZoomInAppointment")
    await expect(page.locator("#event-body .linkzoom-invitation")).to_have_count(1)
    assert len(live_meetings(deployment)) == 2


async def test_signing_out_on_my_account_ends_the_add_ins_session(
    pages: Screenshots, deployment: Deployment
) -> None:
    page = await open_try(pages, deployment)
    await sign_in_and_connect(page, "insertZoomInMessage", "bob", "bob@zoom.test")
    # My Account's "sign out everywhere" (and a disabled user) revoke the device session.
    sql(deployment, "UPDATE device_sessions SET revoked_at = CURRENT_TIMESTAMP")
    await page.locator("#message-new").click()
    sign_in = await dialog(page.context, lambda: press(page, "insertZoomInMessage"))
    await expect(sign_in.get_by_role("heading", name="Sign in to linkzoom")).to_be_visible()
    await sign_in.get_by_label("Username").fill("bob")
    await sign_in.get_by_label("Password").fill("wrong password")
    await sign_in.get_by_role("button", name="Sign in").click()
    await expect(sign_in.get_by_role("alert")).not_to_be_empty()
    await sign_in.get_by_label("Password").fill(PASSWORDS["bob"])
    await sign_in.get_by_role("button", name="Sign in").click()
    await finished(page, "insertZoomInMessage")
    await expect(page.locator("#message-body-html .linkzoom-invitation")).to_have_count(1)
    assert len(live_meetings(deployment)) == 2
