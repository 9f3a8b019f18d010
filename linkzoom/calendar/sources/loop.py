"""The mailbox watch inside the worker: follows the configured sources and polls due mailboxes.

The configuration is read at every pass (one small query), so a source an administrator sets
up or changes on the console is used within a pass, in every process, without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from linkzoom.addin.identity import addin_id
from linkzoom.calendar.service import mirror_of
from linkzoom.calendar.sources import exchange_config, graph_config, mailboxes
from linkzoom.calendar.sources.base import MailboxReader
from linkzoom.calendar.sources.caldav_accounts import CALDAV, Logins
from linkzoom.calendar.sources.exchange_config import EXCHANGE, ExchangeSettings
from linkzoom.calendar.sources.graph import GraphSource
from linkzoom.calendar.sources.graph_config import GRAPH, GraphSettings
from linkzoom.calendar.sources.graph_notifications import NOTIFICATIONS_PATH
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.calendar.worker import owner_id
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction

if TYPE_CHECKING:
    from linkzoom.calendar.sources.caldav_source import CaldavSource
    from linkzoom.calendar.sources.exchange import ExchangeSource

log = logging.getLogger(__name__)

# The loop sleeps until the next mailbox is due, so a change waits at most one poll interval
# for its poll; it looks at least this often for a new source or a new enrolment.
WAKE_SECONDS = 5.0
# With change notifications (Graph), a notification makes its mailbox due at once: the loop
# looks this often, so the change reaches Zoom within about a second (one small query each).
NOTIFIED_WAKE_SECONDS = 0.5
MIN_SLEEP = 0.05  # a mailbox due now but leased by another worker: not a hot loop


class Sources:
    """The readers for the configured sources, rebuilt only when their configuration changes."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._exchange: tuple[ExchangeSettings, ExchangeSource] | None = None
        self._caldav: CaldavSource | None = None
        self._graph: tuple[GraphSettings, GraphSource] | None = None

    async def current(self) -> dict[str, MailboxReader]:
        runtime = self._runtime
        async with transaction(runtime.sessions) as session:
            settings = await exchange_config.load(session, runtime.sealer)
            graph = await graph_config.load(session, runtime.sealer)
            identity = await addin_id(
                session, configured=runtime.settings.addin_id, now=runtime.clock()
            )
            calendars = await mailboxes.any_enrolled(session, source=CALDAV)
        readers: dict[str, MailboxReader] = {}
        if settings is None:
            self._close_exchange()
        else:
            if self._exchange is None or self._exchange[0] != settings:
                # exchangelib (and caldav below) are imported only once a source is in use:
                # each costs a quarter of a second at every process start.
                from linkzoom.calendar.sources.exchange import ExchangeSource

                self._close_exchange()
                self._exchange = (settings, ExchangeSource(settings, addin_id=identity))
            readers[EXCHANGE] = self._exchange[1]
        if graph is None:
            await self._close_graph()
        else:
            if self._graph is None or self._graph[0] != graph:
                await self._close_graph()
                source = GraphSource(
                    graph,
                    addin_id=identity,
                    notification_url=runtime.settings.public_url.rstrip("/") + NOTIFICATIONS_PATH,
                    clock=runtime.clock,
                )
                self._graph = (graph, source)
            readers[GRAPH] = self._graph[1]
        if calendars:
            if self._caldav is None:
                from linkzoom.calendar.sources.caldav_source import CaldavSource

                self._caldav = CaldavSource(Logins(runtime.sessions, runtime.sealer))
            readers[CALDAV] = self._caldav
        return readers

    def _close_exchange(self) -> None:
        if self._exchange is not None:
            self._exchange[1].close()
            self._exchange = None

    @property
    def notified(self) -> bool:
        return self._graph is not None

    async def _close_graph(self) -> None:
        if self._graph is not None:
            await self._graph[1].close()
            self._graph = None

    async def close(self) -> None:
        self._close_exchange()
        await self._close_graph()
        if self._caldav is not None:
            self._caldav.close()
            self._caldav = None


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    sources = Sources(runtime)
    owner = owner_id()
    poll = timedelta(seconds=runtime.settings.mailbox_poll_seconds)
    try:
        while not stop.is_set():
            sleep = WAKE_SECONDS
            try:
                readers = await sources.current()
                if readers:
                    watcher = MailboxWatcher(
                        sessions=runtime.sessions,
                        calendar=mirror_of(runtime).service,
                        readers=readers,
                        clock=runtime.clock,
                        owner=owner,
                        poll_interval=poll,
                    )
                    await watcher.poll_due()
                    wake = NOTIFIED_WAKE_SECONDS if sources.notified else WAKE_SECONDS
                    sleep = await _until_next_due(runtime, wake)
            except Exception:  # one bad pass must not end the watch; the next one retries
                log.exception("mailbox watch pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=sleep)
    finally:
        await sources.close()


async def _until_next_due(runtime: Runtime, wake: float) -> float:
    async with transaction(runtime.sessions) as session:
        now = runtime.clock()
        due = await mailboxes.next_due(session, now=now)
    if due is None:
        return wake
    wait = (due - now).total_seconds()
    return min(wake, max(MIN_SLEEP, wait))
