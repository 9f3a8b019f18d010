"""Several processes on one PostgreSQL, as an operator scales linkzoom out: two ``linkzoom run``
API processes and two ``linkzoom worker`` processes, with the load spread across both APIs.

Compose, calendar and linking give the same results as with one process; an API process killed
with SIGKILL in the middle of a burst loses nothing it had answered: each such meeting is
recorded and Zoom has it. Refresh stays single-flight across processes
(``test_refresh_across_processes.py``). The workers settle every create the killed process left
in flight within a minute, leaving Zoom no meeting that is not recorded."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.calendar_support import path, wait_until
from tests.e2e.conftest import Deployment
from tests.e2e.test_authorization_flow import sql
from tests.support.databases import postgres_url
from tests.support.processes import Process, linkzoom_command

COMPOSE = "/api/v1/compose/meetings"


@pytest.fixture
def deployment_env() -> dict[str, str]:
    # Short Zoom timeouts: a create the killed process left unanswered is settled within
    # seconds (three timeouts), not half a minute.
    return {"LINKZOOM_ZOOM_TIMEOUT_SECONDS": "1", "LINKZOOM_WORKER_INTERVAL_SECONDS": "1"}


@pytest.fixture
def scaled(deployment: Deployment) -> Iterator[tuple[Deployment, list[str]]]:
    if not deployment.database_url.startswith("postgresql"):
        pytest.skip("scale-out is for PostgreSQL (SQLite serves one host)")
    if postgres_url() is None:
        pytest.skip("PostgreSQL is not available")
    second = deployment.start_service()
    workers = [
        Process(
            name=f"worker-{i}",
            args=linkzoom_command("worker"),
            env=deployment.env,
            log_path=deployment.tmp / f"worker-{i}.log",
        ).start()
        for i in range(2)
    ]
    try:
        yield deployment, [deployment.service_url, second]
    finally:
        for worker in workers:
            worker.stop()


def on(deployment: Deployment, client: httpx.Client, base_url: str) -> httpx.Client:
    """The same device, talking to another API process (closed with the deployment)."""
    other = httpx.Client(base_url=base_url, headers=dict(client.headers), timeout=20)
    deployment.clients.append(other)
    return other


def live_meetings(deployment: Deployment) -> dict[int, dict[str, Any]]:
    found = deployment.control("GET", "/meetings")["meetings"]
    return {m["id"]: m for m in found if not m["deleted"]}


async def burst(
    urls: list[str], token: str, count: int, answered: asyncio.Event | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """``count`` composes at once, alternating between the API processes; ``answered`` is set
    once five have been answered."""
    headers = {"authorization": f"Bearer {token}"}
    done = 0
    async with httpx.AsyncClient(timeout=20) as client:

        async def one(i: int) -> tuple[int, dict[str, Any]]:
            nonlocal done
            try:
                answer = await client.post(
                    urls[i % len(urls)] + COMPOSE, json={"topic": f"Burst {i}"}, headers=headers
                )
            except httpx.TransportError:
                return 0, {}  # the process died under it: no answer, nothing promised
            done += 1
            if answered is not None and done >= 5:
                answered.set()
            body = answer.json() if answer.headers.get("content-type", "").endswith("json") else {}
            return answer.status_code, body

        return list(await asyncio.gather(*(one(i) for i in range(count))))


def test_two_apis_and_two_workers_serve_as_one_and_a_killed_api_loses_nothing_answered(
    scaled: tuple[Deployment, list[str]],
) -> None:
    deployment, (first, second) = scaled
    # Sign in on one process, consent through the other's public URL, claim on the second.
    alice = deployment.login("alice", second)
    deployment.link_zoom(alice, "alice@zoom.test")
    assert on(deployment, alice, first).get("/api/v1/me").json()["zoom"]["linked"] is True

    # Compose across both processes: every answer a distinct meeting Zoom has; `sent` and
    # discard through the process that did not create it.
    token = alice.headers["authorization"].removeprefix("Bearer ")
    answers = asyncio.run(burst([first, second], token, 20))
    assert [status for status, _ in answers] == [201] * 20
    made = {body["zoom_meeting_id"] for _, body in answers}
    assert len(made) == 20 and made <= set(live_meetings(deployment))
    sent = on(deployment, alice, first).post(f"{COMPOSE}/{answers[1][1]['id']}/sent", json={})
    assert sent.status_code == 200, sent.text
    assert (
        on(deployment, alice, first).delete(f"{COMPOSE}/{answers[3][1]['id']}").status_code == 204
    )
    assert answers[3][1]["zoom_meeting_id"] not in live_meetings(deployment)

    # Calendar: made on one process, moved on the other, reconciled by a worker.
    event = {
        "subject": "Scaled planning",
        "start": "2027-05-04T10:00:00+02:00",
        "end": "2027-05-04T10:30:00+02:00",
        "timezone": "Europe/Berlin",
    }
    created = on(deployment, alice, first).put(path("scaled"), json=event)
    assert created.status_code == 201, created.text
    meeting_id = created.json()["zoom_meeting_id"]
    moved = on(deployment, alice, second).put(
        path("scaled"), json=event | {"end": "2027-05-04T11:15:00+02:00"}
    )
    assert moved.status_code == 200
    wait_until(
        lambda: live_meetings(deployment)[meeting_id]["duration"] == 75,
        timeout=30,
        what="the meeting to last 75 minutes",
    )
    assert on(deployment, alice, first).get(path("scaled")).json()["status"] == "synced"

    # A burst against the first process, which is killed in the middle of it.
    victim = deployment.services[0]
    assert victim.popen is not None

    async def burst_and_kill() -> list[tuple[int, dict[str, Any]]]:
        answered = asyncio.Event()
        task = asyncio.create_task(burst([first], token, 40, answered))
        await answered.wait()  # some answered, the rest in flight
        victim.stop(signal.SIGKILL)
        return await task

    during = asyncio.run(burst_and_kill())
    answered = [body for status, body in during if status == 201]
    assert len(answered) >= 5 and len(answered) < len(during), "the kill came too late"
    # Every meeting the killed process answered is recorded, and Zoom has it.
    recorded = {
        row[0]
        for row in sql(
            deployment, "SELECT zoom_meeting_id FROM compose_meetings WHERE state = 'active'"
        )
    }
    for body in answered:
        assert body["zoom_meeting_id"] in recorded
        assert body["zoom_meeting_id"] in live_meetings(deployment)

    # The survivor serves the same device on.
    again = on(deployment, alice, second).post(COMPOSE, json={"topic": "After"})
    assert again.status_code == 201, again.text

    # The workers settle what the killed process left in flight: within a minute no attempt
    # is pending, and Zoom holds no compose meeting that is not recorded as active (a create
    # whose answer was lost is found and deleted as an orphan).
    def settled() -> bool:
        states = {row[0] for row in sql(deployment, "SELECT state FROM compose_meetings")}
        active = {
            row[0]
            for row in sql(
                deployment, "SELECT zoom_meeting_id FROM compose_meetings WHERE state = 'active'"
            )
        }
        unknown = set(live_meetings(deployment)) - active - {meeting_id}
        return not unknown and not states & {"creating", "orphaned"}

    wait_until(settled, timeout=60, what="every create of the killed process to be settled")
