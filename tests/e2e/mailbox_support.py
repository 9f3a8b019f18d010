"""Shared steps of the mailbox-watch end-to-end tests: Zoom turned on for an event through the
add-in API, and the proof that a source's secret is stored sealed and never logged."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.e2e.calendar_support import path
from tests.e2e.compose_support import sql
from tests.e2e.conftest import Deployment


def zoom_for_event(
    deployment: Deployment, key: str, subject: str, start: datetime
) -> tuple[int, str]:
    """Alice links Zoom and turns it on for an hour-long event, as the add-in does; returns the
    meeting id and the join link the add-in writes into the event."""
    alice = deployment.login("alice")
    deployment.link_zoom(alice, "alice@zoom.test")
    body = {
        "subject": subject,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "timezone": "Europe/Berlin",
    }
    answer = alice.put(path(key), json=body)
    assert answer.status_code == 201, answer.text
    return answer.json()["zoom_meeting_id"], answer.json()["location"]


def assert_sealed_and_unlogged(deployment: Deployment, secret: str) -> None:
    """The secret is in no log line and in no stored setting, plain or sealed, in the clear."""
    assert secret not in deployment.logs()
    stored = sql(deployment, "SELECT value FROM app_settings") + sql(
        deployment, "SELECT ciphertext FROM sealed_settings"
    )
    raw = [v if isinstance(v, bytes) else str(v).encode() for (v,) in stored]
    assert raw and all(secret.encode() not in value for value in raw)
