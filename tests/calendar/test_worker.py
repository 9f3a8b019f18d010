"""The reconciler loop of a worker process: claims, passes, and leases handed back on stop."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from linkzoom.calendar.models import SYNCED
from linkzoom.calendar.service import mirror_of
from linkzoom.calendar.worker import Reconciler
from linkzoom.runtime import Runtime
from tests.calendar.harness import SandboxProcess, align_clocks, binding, link_user
from tests.calendar.test_runner import event
from tests.support.clock import FakeClock

EVENTS = 3  # three creates and three updates: the sandbox's daily cap here is six writes


async def test_the_loop_brings_due_bindings_in_step_and_hands_back_its_leases(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    start = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    for n in range(EVENTS):
        await mirror.service.put(user_id=user_id, event_key=f"ev-{n}", event=event(start))
        await mirror.service.put(
            user_id=user_id, event_key=f"ev-{n}", event=event(start + timedelta(hours=n))
        )
    clock.advance(seconds=3)  # past the debounce
    stop = asyncio.Event()
    loop = asyncio.create_task(
        Reconciler(mirror, concurrency=2, lease=timedelta(seconds=3), poll_seconds=0.05).run(stop)
    )
    for _ in range(100):
        states = [
            await binding(mirror, user_id=user_id, event_key=f"ev-{n}") for n in range(EVENTS)
        ]
        if all(b.status == SYNCED and b.due_at is None for b in states):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await loop
    states = [await binding(mirror, user_id=user_id, event_key=f"ev-{n}") for n in range(EVENTS)]
    assert all(b.status == SYNCED and b.lease_owner is None for b in states), [
        (b.status, b.last_error, b.due_at, b.lease_owner) for b in states
    ]
    assert sorted(m["start_time"] for m in sandbox.meetings()) == [
        f"2026-12-01T{9 + n:02d}:00:00Z" for n in range(EVENTS)
    ]
