"""End to end: Zoom turned on through the add-in API, the event then moved only in the mailbox
(Exchange, through the EWS stand-in), and the Zoom meeting follows — linkzoom run, the sandbox
and the EWS endpoint as separate parties over loopback, configured with the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest

from tests.e2e.calendar_support import path, wait_until
from tests.e2e.compose_support import sql
from tests.e2e.conftest import Deployment
from tests.support.ews import EwsServer, start_ews_server

START = datetime.fromisoformat("2027-05-04T10:00:00+02:00")
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
    alice = deployment.login("alice")
    deployment.link_zoom(alice, "alice@zoom.test")
    key = "e2e-mailbox-event"
    body = {
        "subject": "Quarterly planning",
        "start": START.isoformat(),
        "end": (START + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Berlin",
    }
    answer = alice.put(path(key), json=body)
    assert answer.status_code == 201, answer.text
    meeting_id = answer.json()["zoom_meeting_id"]
    mailbox = ews.mailbox("alice@example.org")
    item_id = mailbox.add(
        subject="Quarterly planning",
        start=START,
        end=START + timedelta(hours=1),
        timezone="Europe/Berlin",
        location=answer.json()["location"],
        cecp={"linkzoom_event_key": key, "linkzoom_meeting_id": str(meeting_id)},
    )
    assert "watching 1 mailbox(es): alice@example.org" in deployment.cli(
        "mailboxes", "enrol", "alice"
    )
    # Enrolled is "ok" at once; listed is when the poll has recorded the event it found.
    wait_until(
        lambda: "\tok\t" in (status := deployment.cli("mailboxes", "status"))
        and "1 change(s)" in status,
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
    assert ews.password not in deployment.logs()
    stored = sql(deployment, "SELECT value FROM app_settings") + sql(
        deployment, "SELECT ciphertext FROM sealed_settings"
    )
    raw = [v if isinstance(v, bytes) else str(v).encode() for (v,) in stored]
    assert raw and all(ews.password.encode() not in value for value in raw)
    # A clean stop: the watch closes its Exchange sessions and the worker ends without an error.
    deployment.services[0].stop()
    assert "shutdown failed" not in deployment.logs()
    assert "Traceback" not in deployment.logs()
