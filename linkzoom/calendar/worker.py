"""The reconciler loop: claim due bindings, run passes over them, renew the leases held.

Runs in every ``linkzoom worker`` and inside ``linkzoom run``. Several processes share the work
through leases (see :mod:`linkzoom.calendar.store`); each process runs up to ``CONCURRENCY``
passes at once, and a heartbeat renews the leases of passes still running, so a lease can be
short: a killed process's bindings are taken over within ``LEASE``. On a clean stop, running
passes get ``GRACE`` to finish and every remaining lease is handed back at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from datetime import timedelta
from typing import Any

from linkzoom.calendar import store
from linkzoom.calendar.service import Mirror, mirror_of
from linkzoom.problems import Problem
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction

log = logging.getLogger(__name__)

CONCURRENCY = 16
LEASE = timedelta(seconds=10)
POLL_SECONDS = 0.25
GRACE_SECONDS = 5.0
RETRY_AFTER_CRASH = timedelta(seconds=30)


def owner_id() -> str:
    """Names this process in leases (host, pid, and a nonce against pid reuse)."""
    return f"{socket.gethostname()[:32]}:{os.getpid()}:{secrets.token_hex(4)}"


class Reconciler:
    def __init__(
        self,
        mirror: Mirror,
        *,
        owner: str | None = None,
        concurrency: int = CONCURRENCY,
        lease: timedelta = LEASE,
        poll_seconds: float = POLL_SECONDS,
    ) -> None:
        self._mirror = mirror
        self.owner = owner or owner_id()
        self._concurrency = concurrency
        self._lease = lease
        self._poll = poll_seconds
        self._running: dict[int, asyncio.Task[None]] = {}

    async def run(self, stop: asyncio.Event) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(stop))
        stopped = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                free = self._concurrency - len(self._running)
                claimed = await self._claim(free) if free > 0 else []
                for binding_id in claimed:
                    self._start(binding_id)
                if claimed and len(claimed) == free:
                    continue  # there may be more due: claim again once a slot frees up
                await asyncio.wait(
                    {stopped, *self._running.values()},
                    timeout=self._poll,
                    return_when=asyncio.FIRST_COMPLETED,
                )
        finally:
            await self._shutdown(heartbeat, stopped)

    def _start(self, binding_id: int) -> None:
        task = asyncio.create_task(self._pass(binding_id))
        self._running[binding_id] = task

        def done(finished: asyncio.Task[None]) -> None:
            # The binding may already be running again under a newer claim: keep that one.
            if self._running.get(binding_id) is finished:
                del self._running[binding_id]

        task.add_done_callback(done)

    async def _claim(self, limit: int) -> list[int]:
        now = self._mirror.clock()
        try:
            async with transaction(self._mirror.sessions) as session:
                return await store.claim_due(
                    session, owner=self.owner, now=now, until=now + self._lease, limit=limit
                )
        except Problem as exc:  # the database is away: try again at the next poll
            log.warning("claiming calendar bindings failed", extra={"problem": exc.code})
        except Exception:
            log.exception("claiming calendar bindings crashed")
        await asyncio.sleep(1.0)  # not a hot loop while the database is down
        return []

    async def _pass(self, binding_id: int) -> None:
        try:
            await self._mirror.runner.run(binding_id, owner=self.owner)
        except Exception:
            # A bug or a lost database: leave the binding to a later pass, not a hot loop.
            log.exception("calendar pass crashed", extra={"binding_id": binding_id})
            with contextlib.suppress(Exception):
                now = self._mirror.clock()
                async with transaction(self._mirror.sessions) as session:
                    await store.extend_leases(
                        session, owner=self.owner, ids=[binding_id], until=now + RETRY_AFTER_CRASH
                    )

    async def _heartbeat(self, stop: asyncio.Event) -> None:
        interval = self._lease.total_seconds() / 3
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
            ids = list(self._running)
            if not ids:
                continue
            try:
                now = self._mirror.clock()
                async with transaction(self._mirror.sessions) as session:
                    await store.extend_leases(
                        session, owner=self.owner, ids=ids, until=now + self._lease
                    )
            except Problem as exc:
                log.warning("renewing calendar leases failed", extra={"problem": exc.code})

    async def _shutdown(self, heartbeat: asyncio.Task[None], stopped: asyncio.Task[Any]) -> None:
        if self._running:
            await asyncio.wait(set(self._running.values()), timeout=GRACE_SECONDS)
        for task in list(self._running.values()):
            task.cancel()
        leftovers: list[asyncio.Task[Any]] = [heartbeat, stopped, *self._running.values()]
        for task in leftovers:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            async with transaction(self._mirror.sessions) as session:
                await store.release_all(session, owner=self.owner)


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    """The calendar reconciler of this process, until ``stop`` is set."""
    # A killed worker's request to Zoom may still land until its timeout has passed; the next
    # holder of the lease must not start before that.
    timeout = runtime.settings.zoom_timeout_seconds
    lease = max(LEASE, timedelta(seconds=2 * timeout + 5))
    await Reconciler(mirror_of(runtime), lease=lease).run(stop)
