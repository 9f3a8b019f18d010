"""A create whose answer is lost (Zoom slower than linkzoom's timeout) leaves neither a duplicate
nor an orphan: found at once, it is the user's meeting; made later, it is deleted by the worker."""

from __future__ import annotations

import pytest

from tests.e2e.compose_support import (
    COMPOSE,
    assert_spec_valid,
    live_meetings,
    problem_code,
    sql,
    wait_for,
    zoom_requests,
)
from tests.e2e.conftest import Deployment

TIMEOUT_SECONDS = 1.5  # linkzoom gives up on Zoom after this; lost creates settle after 3x
CREATE = "^/v2/users/[^/]+/meetings$"


@pytest.fixture
def deployment_env() -> dict[str, str]:
    return {"LINKZOOM_ZOOM_TIMEOUT_SECONDS": str(TIMEOUT_SECONDS)}


def slow(deployment: Deployment, method: str, latency_ms: int) -> None:
    """The next such call reaches Zoom only after ``latency_ms`` (and is then carried out)."""
    deployment.control(
        "POST",
        "/faults",
        json={"method": method, "path_regex": CREATE, "latency_ms": latency_ms, "count": 1},
    )


@pytest.mark.one_database
def test_lost_create_answers(deployment: Deployment) -> None:
    alice = deployment.login("alice")
    deployment.link_zoom(alice, "alice@zoom.test")

    # Zoom makes the meeting after linkzoom stopped waiting, but before linkzoom looks for it:
    # the user gets that meeting, and Zoom holds exactly one.
    slow(deployment, "POST", 2000)
    slow(deployment, "GET", 700)
    found = alice.post(COMPOSE, json={"topic": "Budget"})
    assert found.status_code == 201, found.text
    (meeting,) = live_meetings(deployment)
    assert meeting["id"] == found.json()["zoom_meeting_id"]
    assert meeting["password"] == found.json()["passcode"]
    assert alice.post(f"{COMPOSE}/{found.json()['id']}/sent").status_code == 200

    # Zoom makes it only after linkzoom looked: the user is told nothing was added and clicks
    # again; the meeting of the lost attempt is deleted once the attempt is overdue.
    slow(deployment, "POST", 2200)
    lost = alice.post(COMPOSE, json={"topic": "Budget"})
    assert lost.status_code == 503 and problem_code(lost) == "zoom-unavailable"
    assert "nothing was added" in lost.json()["detail"]
    wait_for(lambda: len(live_meetings(deployment)) == 2, timeout=5, what="Zoom's late meeting")
    retried = alice.post(COMPOSE, json={"topic": "Budget"})
    assert retried.status_code == 201
    wait_for(
        lambda: len(live_meetings(deployment)) == 2,
        timeout=15,
        what="the worker to delete the orphan",
    )
    kept = {m["id"] for m in live_meetings(deployment)}
    assert kept == {found.json()["zoom_meeting_id"], retried.json()["zoom_meeting_id"]}
    (deleted,) = zoom_requests(deployment, "DELETE")
    assert deleted["query"] == {
        "schedule_for_reminder": "false",
        "cancel_meeting_reminder": "false",
    }
    states = sorted(s for (s,) in sql(deployment, "SELECT state FROM compose_meetings"))
    assert states == ["abandoned", "active", "active"]
    assert assert_spec_valid(deployment) == 3
