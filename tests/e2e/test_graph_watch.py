"""End to end over Microsoft Graph: Zoom turned on through the add-in API, the event then moved
only in the Exchange Online mailbox (the Graph stand-in, HTTPS on loopback), and the Zoom meeting
follows within 2 s of Graph's change notification — linkzoom run, the sandbox and the stand-in as
separate parties, the source configured and the mailbox enrolled with the CLI."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from tests.e2e.calendar_support import wait_until
from tests.e2e.compose_support import sql
from tests.e2e.conftest import Deployment
from tests.e2e.mailbox_support import assert_sealed_and_unlogged, zoom_for_event
from tests.support import graph as graph_support
from tests.support.graph import GraphServer

START = datetime(2027, 5, 4, 8, 0, tzinfo=UTC)
ADDRESS = "alice@example.org"
NOTIFIED_WITHIN = 2.0  # seconds from Graph's notification to the meeting moved in Zoom


@pytest.fixture
def graph_server() -> Iterator[GraphServer]:
    server = GraphServer()
    yield server
    server.close()


@pytest.fixture
def deployment_env(graph_server: GraphServer) -> dict[str, str]:
    return {
        # A poll every ten minutes: within this test only a notification can bring the move.
        "LINKZOOM_MAILBOX_POLL_SECONDS": "600",
        "LINKZOOM_ADDIN_ID": graph_support.ADDIN_ID,
        # msal (requests) and the Graph client (httpx) trust the stand-in's test CA.
        "REQUESTS_CA_BUNDLE": graph_server.ca_file,
        "SSL_CERT_FILE": graph_server.ca_file,
    }


def _meeting_start(deployment: Deployment, meeting_id: int) -> str | None:
    meetings = deployment.control("GET", "/meetings")["meetings"]
    found = [m["start_time"] for m in meetings if m["id"] == meeting_id]
    return found[0] if found else None


@pytest.mark.one_database
def test_an_event_moved_in_exchange_online_moves_the_meeting_within_2_s_of_the_notification(
    deployment: Deployment, graph_server: GraphServer
) -> None:
    saved = deployment.cli(
        "mailboxes", "graph",
        "--tenant", graph_support.TENANT_ID, "--client-id", graph_support.CLIENT_ID,
        "--authority", graph_server.url, "--api-url", graph_server.url, "--secret-stdin",
        stdin=graph_support.CLIENT_SECRET + "\n",
    )  # fmt: skip
    assert f"Microsoft Graph source saved: app {graph_support.CLIENT_ID}" in saved
    assert f"{graph_server.url}/{graph_support.TENANT_ID}/v2.0/adminconsent?" in saved

    key = "e2e-graph-event"
    meeting_id, link = zoom_for_event(deployment, key, "Roadmap", START)
    mailbox = graph_server.mailbox(ADDRESS)
    event_id = mailbox.add(
        subject="Roadmap",
        start=START,
        end=START + timedelta(hours=1),
        zone="W. Europe Standard Time",
        location=link,
        body=f"<p>Join: {link}</p>",
        cecp=json.dumps({"linkzoom_event_key": key, "linkzoom_meeting_id": str(meeting_id)}),
    )
    enrolled = deployment.cli("mailboxes", "enrol", "--source", "graph", "alice")
    assert f"watching 1 mailbox(es): {ADDRESS}" in enrolled
    # The first pass lists the calendar and subscribes (Graph validates the URL first).
    wait_until(
        lambda: (
            "1 change(s)" in deployment.cli("mailboxes", "status")
            and bool(graph_server.subscriptions)
        ),
        what="the first listing and the subscription",
        timeout=30.0,
    )
    assert _meeting_start(deployment, meeting_id) == "2027-05-04T08:00:00Z"

    # A drag in Outlook on the web: Graph posts the notification while it stores the change.
    notified = time.monotonic()
    mailbox.update(
        event_id, start=START + timedelta(days=1), end=START + timedelta(days=1, hours=1)
    )
    assert graph_server.deliveries[-1][1] == 202
    wait_until(
        lambda: _meeting_start(deployment, meeting_id) == "2027-05-05T08:00:00Z",
        what="the Zoom meeting to move",
        timeout=10.0,
    )
    took = time.monotonic() - notified
    print(f"notification -> Zoom: {took:.2f} s")
    assert took <= NOTIFIED_WITHIN, f"{took:.2f} s from the notification to Zoom"

    # The client secret is sealed, and never in a log line or a stored plain value.
    assert "Traceback" not in deployment.logs()
    assert_sealed_and_unlogged(deployment, graph_support.CLIENT_SECRET)
    # The client state is kept as a digest only.
    client_state = next(iter(graph_server.subscriptions.values())).client_state
    assert client_state is not None
    digests = sql(deployment, "SELECT client_state_digest FROM watched_mailboxes")
    assert digests and all(v and client_state not in str(v) for (v,) in digests)
