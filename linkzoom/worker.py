"""Background upkeep: keep idle Zoom grants alive and prune expired bookkeeping.

Runs inside ``linkzoom run`` and alone as ``linkzoom worker``. Every step is safe to run in
several processes at once (refresh is single-flight; pruning is idempotent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

from sqlalchemy import delete

from linkzoom.calendar import worker as calendar_worker
from linkzoom.compose.service import ComposeService
from linkzoom.identity import throttle
from linkzoom.problems import Problem
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import DeviceSession, ZoomAuthorization

log = logging.getLogger(__name__)

# Keep ended device sessions a while so the Devices panel can still explain a sign-out.
SESSION_RETENTION = timedelta(days=30)


async def upkeep(runtime: Runtime) -> None:
    lifetime = timedelta(days=runtime.settings.zoom_refresh_token_days)
    refreshed = await runtime.tokens.keep_alive(refresh_token_lifetime=lifetime)
    if refreshed:
        log.info("kept idle zoom grants alive", extra={"count": refreshed})
    await runtime.zoom_accounts.retry_revokes()  # revocations Zoom could not be reached for
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        await session.execute(delete(ZoomAuthorization).where(ZoomAuthorization.expires_at < now))
        await session.execute(
            delete(DeviceSession).where(DeviceSession.expires_at < now - SESSION_RETENTION)
        )
        await throttle.prune(session, now)
    await runtime.webhooks.prune()
    await ComposeService.from_runtime(runtime).settle()  # compose creates whose answer was lost


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    mirror = asyncio.create_task(calendar_worker.run(runtime, stop))  # the calendar reconciler
    while not stop.is_set():
        try:
            await upkeep(runtime)
        except Problem as exc:
            log.warning("upkeep pass failed", extra={"problem": exc.code})
        except Exception:
            log.exception("upkeep pass crashed")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=runtime.settings.worker_interval_seconds)
    await mirror
