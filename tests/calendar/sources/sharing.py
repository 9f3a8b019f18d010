"""Workers sharing mailboxes, for the sources' tests: every worker polls until nothing is due."""

from __future__ import annotations

import asyncio

from linkzoom.calendar.sources.watcher import MailboxWatcher, Polled


async def _drain(worker: MailboxWatcher) -> list[Polled]:
    done: list[Polled] = []
    while polled := await worker.poll_due():
        done += polled
    return done


async def each_polled_once(workers: list[MailboxWatcher], *, mailboxes: int) -> int:
    """Run the workers side by side until nothing is due; check each of the ``mailboxes`` was
    polled by exactly one of them, successfully. Returns the changes applied."""
    runs = await asyncio.gather(*(_drain(worker) for worker in workers))
    polled = [p for run in runs for p in run]
    assert all(p.status == "ok" for p in polled)
    ids = [p.mailbox_id for p in polled]
    assert len(ids) == len(set(ids)) == mailboxes  # every mailbox once, none by both workers
    return sum(p.applied for p in polled)
