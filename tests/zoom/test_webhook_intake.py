"""The intake records a delivery and runs its handler in one transaction."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AuditEvent, WebhookDelivery
from linkzoom.zoom.webhooks import WebhookIntake

SECRET = "intake-test-secret"


def intake(runtime: Runtime) -> WebhookIntake:
    return WebhookIntake(
        runtime.sessions, secret=lambda: SECRET, clock=runtime.clock, metrics=runtime.metrics
    )


def signed(runtime: Runtime, event: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"event": event, "payload": {"n": 1}, "event_ts": 1}).encode()
    ts = str(int(runtime.clock().timestamp()))
    mac = hmac.new(SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return body, {"x-zm-request-timestamp": ts, "x-zm-signature": f"v0={mac}"}


async def counts(runtime: Runtime) -> tuple[int, int]:
    async with transaction(runtime.sessions) as session:
        deliveries = await session.scalar(select(func.count()).select_from(WebhookDelivery))
        events = await session.scalar(select(func.count()).select_from(AuditEvent))
    return int(deliveries or 0), int(events or 0)


async def note(session: AsyncSession, runtime: Runtime) -> None:
    await audit.record(session, action="zoom.deauthorized", at=runtime.clock(), actor="zoom")


async def test_nothing_of_a_delivery_is_committed_before_its_handler_is(
    runtime: Runtime,
) -> None:
    """Were the dedupe row committed first, a crash in between would drop Zoom's retry."""
    hooks = intake(runtime)
    inside, release = asyncio.Event(), asyncio.Event()

    async def slow(session: AsyncSession, payload: Mapping[str, Any]) -> None:
        await note(session, runtime)
        inside.set()
        await release.wait()

    hooks.on("app_deauthorized", slow)
    body, headers = signed(runtime, "app_deauthorized")
    delivery = asyncio.create_task(hooks.receive(body, headers))
    await inside.wait()
    assert await counts(runtime) == (0, 0)  # in flight: neither the row nor the effect
    release.set()
    assert await delivery == {"status": "ok"}
    assert await counts(runtime) == (1, 1)
    assert await hooks.receive(body, headers) == {"status": "duplicate"}
    assert await counts(runtime) == (1, 1)


async def test_a_failing_handler_leaves_no_trace_and_the_retry_is_handled(
    runtime: Runtime,
) -> None:
    hooks = intake(runtime)
    attempts = 0

    async def flaky(session: AsyncSession, payload: Mapping[str, Any]) -> None:
        nonlocal attempts
        attempts += 1
        await note(session, runtime)
        if attempts == 1:
            raise RuntimeError("the database went away mid-handler")

    hooks.on("meeting.deleted", flaky)
    body, headers = signed(runtime, "meeting.deleted")
    with pytest.raises(RuntimeError):
        await hooks.receive(body, headers)
    assert await counts(runtime) == (0, 0)
    assert await hooks.receive(body, headers) == {"status": "ok"}
    assert await counts(runtime) == (1, 1) and attempts == 2


async def test_concurrent_copies_of_one_delivery_are_handled_once(runtime: Runtime) -> None:
    hooks = intake(runtime)

    async def handle(session: AsyncSession, payload: Mapping[str, Any]) -> None:
        await note(session, runtime)

    hooks.on("meeting.updated", handle)
    body, headers = signed(runtime, "meeting.updated")
    answers = await asyncio.gather(*(hooks.receive(body, headers) for _ in range(5)))
    assert sorted(a["status"] for a in answers) == ["duplicate"] * 4 + ["ok"]
    assert await counts(runtime) == (1, 1)
    assert await hooks.receive(*signed(runtime, "unknown.event")) == {"status": "ignored"}
