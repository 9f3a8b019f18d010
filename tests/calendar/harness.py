"""An in-process runtime (fake clock) against the Zoom sandbox as a real process.

Tests drive the calendar service and the reconciler directly, moving our clock and the
sandbox's together, which end-to-end tests (whose service reads the real clock) cannot do.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from linkzoom.calendar import store
from linkzoom.calendar.service import Mirror
from linkzoom.features import set_zoom_enabled
from linkzoom.identity.users import add_local
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from tests.support.browser import submit_form
from tests.support.clock import FakeClock
from tests.support.consent import link_through_runtime
from tests.support.processes import Process

CLIENT_ID = "test-client-id"
CLIENT_SECRET = "test-client-secret"
WEBHOOK_SECRET = "test-webhook-secret"
OWNER = "test-worker"


@dataclass
class SandboxProcess:
    url: str
    process: Process

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = httpx.request(method, f"{self.url}/_sandbox{path}", timeout=10, **kwargs)
        response.raise_for_status()
        return response.json() if response.content else None

    def meetings(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = self.control("GET", "/meetings")["meetings"]
        return [m for m in found if not m["deleted"]]

    def calls(self) -> dict[str, dict[str, int]]:
        calls: dict[str, dict[str, int]] = self.control("GET", "/stats")["api_calls"]
        return calls


async def link_user(runtime: Runtime, sandbox: SandboxProcess, name: str) -> int:
    """A local user with Zoom enabled and linked through the sandbox's consent page."""
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        user = await add_local(
            session, username=name, password=f"{name}-password-1", now=now, email=f"{name}@x.org"
        )
        await set_zoom_enabled(session, True, now=now)
        user_id = user.id

    async def approve(consent_url: str) -> dict[str, str]:
        with httpx.Client(timeout=10) as browser:
            consent = browser.get(consent_url)
            answer = submit_form(
                browser, consent, button="approve", overrides={"email": f"{name}@zoom.test"}
            )
        query = parse_qs(urlsplit(answer.headers["location"]).query)
        return {"state": query["state"][0], "code": query["code"][0]}

    await link_through_runtime(runtime, user_id, approve)
    return user_id


async def zoom_holds(sandbox: SandboxProcess, count: int, timeout: float = 10.0) -> None:
    """Wait until the sandbox holds ``count`` live meetings (a slow create has landed): a poll,
    not a fixed sleep, so a loaded machine cannot make the test flaky."""
    deadline = asyncio.get_running_loop().time() + timeout
    while len(sandbox.meetings()) != count:
        assert asyncio.get_running_loop().time() < deadline, "Zoom never made the meeting"
        await asyncio.sleep(0.05)


def align_clocks(sandbox: SandboxProcess, clock: FakeClock) -> None:
    sandbox.control("POST", "/clock", json={"set": clock().isoformat()})


def advance(sandbox: SandboxProcess, clock: FakeClock, **span: float) -> None:
    clock.advance(**span)
    align_clocks(sandbox, clock)


async def drain(mirror: Mirror, clock: FakeClock, *, passes: int = 20) -> int:
    """Run the reconciler on everything due now, as often as something is due; passes run."""
    ran = 0
    for _ in range(passes):
        now = clock()
        async with transaction(mirror.sessions) as session:
            due = await store.claim_due(
                session, owner=OWNER, now=now, until=now + timedelta(minutes=5), limit=100
            )
        if not due:
            return ran
        for binding_id in due:
            await mirror.runner.run(binding_id, owner=OWNER)
            ran += 1
    return ran


async def binding(mirror: Mirror, *, user_id: int, event_key: str) -> store.Binding:
    async with transaction(mirror.sessions) as session:
        found = await store.find(session, user_id=user_id, event_key=event_key)
    assert found is not None
    return found


def iso(moment: datetime) -> str:
    return moment.isoformat()
