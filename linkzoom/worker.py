"""Background upkeep: keep idle Zoom grants alive and prune expired bookkeeping.

Runs inside ``linkzoom run`` and alone as ``linkzoom worker``. Every step is safe to run in
several processes at once (refresh is single-flight; pruning is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, timedelta

from sqlalchemy import delete

from linkzoom import audit
from linkzoom.calendar import worker as calendar_worker
from linkzoom.calendar.sources import loop as mailbox_watch
from linkzoom.compose import idempotency
from linkzoom.compose.service import ComposeService
from linkzoom.identity import throttle
from linkzoom.overview import beats, tally
from linkzoom.overview.beats import WorkerIdentity
from linkzoom.problems import Problem
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.grant_tables import ZoomAuthorization
from linkzoom.store.models import DeviceSession

log = logging.getLogger(__name__)

# Keep ended device sessions a while so the Devices panel can still explain a sign-out.
SESSION_RETENTION = timedelta(days=30)


async def upkeep(runtime: Runtime, me: WorkerIdentity | None = None) -> list[str]:
    """One pass of every step; returns the names of the steps that failed. Each step runs on
    its own, so one that cannot finish (an unreadable row, Zoom down) never starves the rest:
    its failure is logged, counted in ``linkzoom_upkeep_failures_total`` and retried next pass.
    ``me`` is the worker loop's identity on the Overview (a single pass makes its own)."""
    failed = []
    me = me or WorkerIdentity.this_process(runtime.clock())
    for name, step in _steps(runtime, me):
        try:
            await step()
        except Exception as exc:
            failed.append(name)
            runtime.metrics.upkeep_failures.labels(name).inc()
            if isinstance(exc, Problem):
                log.warning("upkeep step failed", extra={"step": name, "problem": exc.code})
            else:
                log.exception("upkeep step crashed", extra={"step": name})
    return failed


def _steps(
    runtime: Runtime, me: WorkerIdentity
) -> list[tuple[str, Callable[[], Awaitable[object]]]]:
    async def overview() -> None:
        now = runtime.clock()
        async with transaction(runtime.sessions) as session:
            await beats.beat(session, me, now=now)
            await beats.prune(session, now=now)
            await tally.prune(session, today=now.astimezone(UTC).date())
        await runtime.metrics.daily.flush(runtime.sessions)

    async def keep_alive() -> None:
        lifetime = timedelta(days=runtime.settings.zoom_refresh_token_days)
        refreshed = await runtime.tokens.keep_alive(refresh_token_lifetime=lifetime)
        if refreshed:
            log.info("kept idle zoom grants alive", extra={"count": refreshed})

    async def prune() -> None:
        now = runtime.clock()
        async with transaction(runtime.sessions) as session:
            await session.execute(
                delete(ZoomAuthorization).where(ZoomAuthorization.expires_at < now)
            )
            await session.execute(
                delete(DeviceSession).where(DeviceSession.expires_at < now - SESSION_RETENTION)
            )
            await throttle.prune(session, now)
            await idempotency.prune(session, now=now)  # compose answers kept for retries

    async def prune_audit() -> None:
        retention = timedelta(days=runtime.settings.audit_retention_days)
        while True:  # batch by batch, each its own short transaction
            async with transaction(runtime.sessions) as session:
                pruned = await audit.prune(session, before=runtime.clock() - retention)
            if pruned < audit.PRUNE_BATCH:
                return

    compose = ComposeService.from_runtime(runtime)

    async def drafts() -> None:
        await compose.sweep_drafts(older_than=timedelta(days=runtime.settings.compose_draft_days))

    return [
        ("overview", overview),  # first: the heartbeat says this loop runs, even if a step fails
        ("keep_alive", keep_alive),
        ("revokes", runtime.zoom_accounts.retry_revokes),  # Zoom could not be reached before
        ("prune", prune),
        ("audit_prune", prune_audit),
        ("webhooks_prune", runtime.webhooks.prune),
        ("compose_settle", compose.settle),  # lost create answers
        ("compose_drafts", drafts),  # discarded drafts: Outlook does not say so
    ]


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    mirror = asyncio.create_task(calendar_worker.run(runtime, stop))  # the calendar reconciler
    watch = asyncio.create_task(mailbox_watch.run(runtime, stop))  # calendars read server-side
    me = WorkerIdentity.this_process(runtime.clock())
    while not stop.is_set():
        await upkeep(runtime, me)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=runtime.settings.worker_interval_seconds)
    await mirror
    await watch
    try:  # what was counted since the last pass, so a clean stop loses no count
        await runtime.metrics.daily.flush(runtime.sessions)
    except Exception:
        log.warning("overview counts not saved at shutdown", exc_info=True)
