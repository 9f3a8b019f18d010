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
from linkzoom.calendar.sources import exchange_config
from linkzoom.calendar.sources.base import MailboxReader
from linkzoom.calendar.sources.exchange_config import EXCHANGE, ExchangeSettings
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.calendar.worker import owner_id
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction

if TYPE_CHECKING:
    from linkzoom.calendar.sources.exchange import ExchangeSource

log = logging.getLogger(__name__)

WAKE_SECONDS = 5.0  # how often the loop looks for due mailboxes (each is due every poll interval)


class Sources:
    """The readers for the configured sources, rebuilt only when their configuration changes."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._exchange: tuple[ExchangeSettings, ExchangeSource] | None = None

    async def current(self) -> dict[str, MailboxReader]:
        runtime = self._runtime
        async with transaction(runtime.sessions) as session:
            settings = await exchange_config.load(session, runtime.sealer)
            identity = await addin_id(
                session, configured=runtime.settings.addin_id, now=runtime.clock()
            )
        if settings is None:
            self.close()
            return {}
        if self._exchange is None or self._exchange[0] != settings:
            # exchangelib is imported only once a source is configured: it costs a quarter of
            # a second at every process start that most deployments need not pay.
            from linkzoom.calendar.sources.exchange import ExchangeSource

            self.close()
            self._exchange = (settings, ExchangeSource(settings, addin_id=identity))
        return {EXCHANGE: self._exchange[1]}

    def close(self) -> None:
        if self._exchange is not None:
            self._exchange[1].close()
            self._exchange = None


async def run(runtime: Runtime, stop: asyncio.Event) -> None:
    sources = Sources(runtime)
    owner = owner_id()
    poll = timedelta(seconds=runtime.settings.mailbox_poll_seconds)
    wake = min(WAKE_SECONDS, runtime.settings.mailbox_poll_seconds)
    try:
        while not stop.is_set():
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
            except Exception:  # one bad pass must not end the watch; the next one retries
                log.exception("mailbox watch pass failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=wake)
    finally:
        sources.close()
