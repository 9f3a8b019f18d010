"""End to end: Zoom turned on through the add-in API, the event then moved only in the mailbox
(Exchange through the EWS stand-in, or a real Radicale over CalDAV), and the Zoom meeting
follows — linkzoom run, the sandbox and the calendar server as separate parties over loopback,
configured with the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.calendar_support import wait_until
from tests.e2e.compose_support import sql
from tests.e2e.conftest import Deployment
from tests.e2e.mailbox_support import assert_sealed_and_unlogged, zoom_for_event
from tests.support.ews import EwsServer, start_ews_server
from tests.support.radicale import start_radicale

START = datetime.fromisoformat("2027-05-04T10:00:00+02:00")
CALDAV_PASSWORD = "alice-app-password-7"
ADDIN = "0b8e4c2a-6f1d-4e7a-9c3b-5a2d8e1f7c60"  # the property name Exchange files the notes under


@pytest.fixture
def deployment_env() -> dict[str, str]:
    return {"LINKZOOM_MAILBOX_POLL_SECONDS": "1", "LINKZOOM_ADDIN_ID": ADDIN}


@pytest.fixture
def ews() -> Iterator[EwsServer]:
    server = start_ews_server(addin_id=ADDIN)
    yield server
    server.close()


@pytest.mark.one_database
def test_an_event_moved_only_in_the_mailbox_moves_the_zoom_meeting(
    deployment: Deployment, ews: EwsServer
) -> None:
    endpoint = ews.url + "/EWS/Exchange.asmx"
    saved = deployment.cli(
        "mailboxes",
        "exchange",
        "--endpoint",
        endpoint,
        "--username",
        ews.username,
        "--auth",
        "basic",
        "--password-stdin",
        stdin=ews.password + "\n",
    )
    assert "Exchange source saved" in saved
    key = "e2e-mailbox-event"
    meeting_id, link = zoom_for_event(deployment, key, "Quarterly planning", START)
    mailbox = ews.mailbox("alice@example.org")
    item_id = mailbox.add(
        subject="Quarterly planning",
        start=START,
        end=START + timedelta(hours=1),
        timezone="Europe/Berlin",
        location=link,
        cecp={"linkzoom_event_key": key, "linkzoom_meeting_id": str(meeting_id)},
    )
    assert "watching 1 mailbox(es): alice@example.org" in deployment.cli(
        "mailboxes", "enrol", "alice"
    )
    # Enrolled is "ok" at once; listed is when the poll has recorded the event it found.
    wait_until(
        lambda: (
            "\tok\t" in (status := deployment.cli("mailboxes", "status"))
            and "1 change(s)" in status
        ),
        what="the first listing",
        timeout=30.0,
    )

    # A drag in the desktop calendar: only the mailbox knows.
    mailbox.update(item_id, start=START + timedelta(days=1), end=START + timedelta(days=1, hours=1))

    def moved() -> bool:
        found = [
            m for m in deployment.control("GET", "/meetings")["meetings"] if m["id"] == meeting_id
        ]
        return bool(found) and found[0]["start_time"] == "2027-05-05T08:00:00Z"

    wait_until(moved, what="the Zoom meeting to move", timeout=30.0)

    # Two changes applied: the first listing (the event as the add-in left it), then the move.
    # The move is due at once, so Zoom may have it before the poll has stored its count.
    def recorded() -> bool:
        status = deployment.cli("mailboxes", "status")
        return "alice@example.org\talice\tok\t" in status and "2 change(s)" in status

    wait_until(recorded, what="the poll to record its changes", timeout=10.0)
    # The service account's password is sealed, and never in a log line.
    assert_sealed_and_unlogged(deployment, ews.password)
    # A clean stop: the watch closes its Exchange sessions and the worker ends without an error.
    deployment.services[0].stop()
    assert "shutdown failed" not in deployment.logs()
    assert "Traceback" not in deployment.logs()


@pytest.mark.one_database
def test_an_event_moved_only_on_the_caldav_server_moves_the_zoom_meeting(
    deployment: Deployment, tmp_path: Path
) -> None:
    radicale = start_radicale(tmp_path / "radicale", {"alice": CALDAV_PASSWORD})
    try:
        url = radicale.make_calendar("alice", "work")
        key = "e2e-caldav-event"
        meeting_id, link = zoom_for_event(deployment, key, "Design review", START)
        calendar = radicale.calendar("alice", url)

        def event(start: datetime) -> str:
            return "\r\n".join([
                "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//e2e//EN", "BEGIN:VEVENT",
                "UID:design-review@e2e", "DTSTAMP:20270501T000000Z",
                f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}",
                f"DTEND;TZID=Europe/Berlin:{start + timedelta(hours=1):%Y%m%dT%H%M%S}",
                "SUMMARY:Design review", f"LOCATION:{link}", f"X-LINKZOOM-EVENT:{key}",
                "END:VEVENT", "END:VCALENDAR", "",
            ])  # fmt: skip

        calendar.add_event(event(START))
        enrolled = deployment.cli(
            "mailboxes", "caldav", "alice", "--url", url, "--login", "alice", "--password-stdin",
            stdin=CALDAV_PASSWORD + "\n",
        )  # fmt: skip
        assert f"watching the CalDAV calendar {url} of alice" in enrolled
        wait_until(
            lambda: "1 change(s)" in deployment.cli("mailboxes", "status"),
            what="the first listing",
            timeout=30.0,
        )
        calendar.add_event(event(START + timedelta(days=2)))  # another client moves it

        def moved() -> bool:
            meetings = deployment.control("GET", "/meetings")["meetings"]
            found = [m for m in meetings if m["id"] == meeting_id]
            return bool(found) and found[0]["start_time"] == "2027-05-06T08:00:00Z"

        wait_until(moved, what="the Zoom meeting to move", timeout=30.0)
        assert CALDAV_PASSWORD not in deployment.logs()
        sealed = sql(deployment, "SELECT secret FROM watched_mailboxes")
        assert sealed and all(CALDAV_PASSWORD.encode() not in bytes(v) for (v,) in sealed)
    finally:
        radicale.stop()
