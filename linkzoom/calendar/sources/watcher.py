"""The mailbox watch: changes made in any client (a drag in the desktop calendar, a delete on a
phone) reach Zoom, because the worker reads the mailboxes itself.

Theory of operation. Each pass leases the mailboxes that are due and, for each, asks its source
for the changes since the stored sync state, then hands every change to the calendar mirror
exactly as the add-in's API would: an event that carries Zoom is *followed*
(:meth:`CalendarService.follow`, the ``PUT`` of an existing event: moved, re-timed, a changed
rule, a cancelled or moved occurrence), a deleted item turns its meeting off
(:meth:`CalendarService.delete`, the ``DELETE``). The mirror's reconciler does the Zoom calls,
debounced and idempotent, so an item seen twice costs nothing at Zoom.

Only then is the new sync state stored: a worker killed in between replays the same changes
(at least once), which the mirror absorbs. The binding is found by the add-in's event key (in
the item's custom properties, or CalDAV's ``X-LINKZOOM-EVENT``), else by the Zoom meeting id of
a join link; an event whose binding linkzoom does not hold (Zoom off, or a link pasted by hand)
is left alone — the watch never creates a meeting. A source that can write items
(:class:`~linkzoom.calendar.sources.base.LinkWriter`, CalDAV) then gets the current join link
into the items that show an older one.

==================================  ==================================================
the source says                     then
==================================  ==================================================
changes (a batch)                   applied, then the state stored; due after a poll
the sync state is invalid           list everything again (``resync_from`` = now); items
                                    not seen by that listing are gone once it completes
busy (ErrorServerBusy, 429, 503)    due after the wait it names; nothing else changes
the mailbox is gone or denied       ``unavailable``; looked at again after an hour
a notification (Graph)              due now; the next pass syncs it as above
anything else                       ``error``; tried again after ``ERROR_WAIT``
==================================  ==================================================
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from linkzoom.calendar.service import CalendarService
from linkzoom.calendar.sources import mailboxes, subscriptions
from linkzoom.calendar.sources.base import (
    Confirms,
    Gone,
    LinkWriter,
    MailboxReader,
    MailboxUnavailable,
    Seen,
    SourceBusy,
    SourceError,
    Subscriber,
    SyncStateInvalid,
    WriteConflict,
    WriteRefused,
)
from linkzoom.calendar.store import by_meeting
from linkzoom.problems import Problem
from linkzoom.store.db import SessionFactory, transaction

log = logging.getLogger(__name__)

UNAVAILABLE_WAIT = timedelta(hours=1)
ERROR_WAIT = timedelta(minutes=5)
_RESYNC_TRIES = 2  # an invalid state twice in one pass is an error, not a loop


@dataclass(frozen=True, kw_only=True)
class Polled:
    """What one poll of one mailbox did, for the log and the tests."""

    mailbox_id: int
    applied: int
    status: str


class MailboxWatcher:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        calendar: CalendarService,
        readers: Mapping[str, MailboxReader],
        clock: Callable[[], datetime],
        owner: str,
        poll_interval: timedelta,
        lease: timedelta = timedelta(minutes=10),
        batch: int = 50,
        concurrency: int = 4,
    ) -> None:
        self._sessions = sessions
        self._calendar = calendar
        self._readers = readers
        self._clock = clock
        self._owner = owner
        self._poll_interval = poll_interval
        self._lease = lease
        self._batch = batch
        self._concurrency = asyncio.Semaphore(concurrency)

    async def poll_due(self) -> list[Polled]:
        """One pass: lease the due mailboxes and poll each (a few at a time)."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            ids = await mailboxes.claim_due(
                session, owner=self._owner, now=now, until=now + self._lease, limit=self._batch
            )
        return list(await asyncio.gather(*(self._limited(mailbox_id) for mailbox_id in ids)))

    async def _limited(self, mailbox_id: int) -> Polled:
        async with self._concurrency:
            return await self.poll(mailbox_id)

    async def poll(self, mailbox_id: int) -> Polled:
        """Read one leased mailbox's changes and hand them to the mirror."""
        async with transaction(self._sessions) as session:
            mailbox = await mailboxes.load(session, mailbox_id=mailbox_id, owner=self._owner)
        if mailbox is None:
            return Polled(mailbox_id=mailbox_id, applied=0, status="lost")
        reader = self._readers.get(mailbox.source)
        if reader is None:
            return await self._release(
                mailbox, mailboxes.ERROR, f"The {mailbox.source} source is not configured.", 0
            )
        applied = 0
        try:
            for _ in range(_RESYNC_TRIES):
                try:
                    applied += await self._sync(mailbox, reader)
                    break
                except SyncStateInvalid:
                    log.info(
                        "mailbox sync state invalid: listing it again",
                        extra={"mailbox_id": mailbox.id},
                    )
                    mailbox = await self._restart(mailbox)
            else:
                raise SourceError("The server kept refusing the sync state.")
            if isinstance(reader, LinkWriter):
                await self._write_links(mailbox, reader)
            if isinstance(reader, Subscriber):
                await self._keep_subscribed(mailbox, reader)
        except SourceBusy as exc:
            wait = timedelta(seconds=max(exc.retry_after, 1.0))
            return await self._release(mailbox, mailboxes.BUSY, str(exc), applied, wait=wait)
        except MailboxUnavailable as exc:
            return await self._release(
                mailbox, mailboxes.UNAVAILABLE, str(exc), applied, wait=UNAVAILABLE_WAIT
            )
        except (SourceError, Problem) as exc:
            message = str(exc) if isinstance(exc, SourceError) else exc.detail
            log.warning("mailbox poll failed", extra={"mailbox_id": mailbox.id, "error": message})
            return await self._release(mailbox, mailboxes.ERROR, message, applied, wait=ERROR_WAIT)
        return await self._release(mailbox, mailboxes.OK, None, applied, synced=True)

    async def _sync(self, mailbox: mailboxes.Mailbox, reader: MailboxReader) -> int:
        """Batches until the source has no more; each batch's state is stored after its
        changes were applied. Returns how many changes reached the mirror."""
        state, resync_from = mailbox.sync_state, mailbox.resync_from
        if state is None and resync_from is None:
            resync_from = self._clock()  # the first listing: whatever we knew before is stale
        total = 0
        while True:
            batch = await reader.changes(mailbox.address, state)
            applied = await self._apply(mailbox, batch.changes)
            state = batch.sync_state
            if batch.last and resync_from is not None:
                async with transaction(self._sessions) as session:
                    gone = await mailboxes.unseen_since(
                        session, mailbox_id=mailbox.id, since=resync_from
                    )
                if isinstance(reader, Confirms):  # a listing of a window: ask about the rest
                    gone = [i for i in gone if not await reader.exists(mailbox.address, i)]
                applied += await self._apply(mailbox, [Gone(item_id=i) for i in gone])
                resync_from = None
            async with transaction(self._sessions) as session:
                kept = await mailboxes.save_state(
                    session,
                    mailbox_id=mailbox.id,
                    owner=self._owner,
                    sync_state=state,
                    resync_from=resync_from,
                    applied=applied,
                )
            if not kept:
                raise SourceError("Another worker took this mailbox over.")
            total += applied
            if batch.last:
                return total

    async def _write_links(self, mailbox: mailboxes.Mailbox, writer: LinkWriter) -> None:
        """Put each meeting's current join link into the items that show an older one (a
        recreated meeting, a new passcode), where the server allows it. An item edited under
        every try is left for the next poll, which sees their edit first; one the server will
        not let us edit (a read-only calendar) is not tried again for this link; any other
        failure is tried again at the next poll. None of them fails the poll: the sync is
        what matters, and it is done."""
        async with transaction(self._sessions) as session:
            stale = await mailboxes.stale_links(
                session, mailbox_id=mailbox.id, user_id=mailbox.user_id
            )
        for link in stale:
            try:
                await writer.write_back(
                    mailbox.address,
                    link.item_id,
                    old=link.shown,
                    new=link.current,
                    event_key=link.event_key,
                )
            except WriteConflict:
                log.info("calendar item kept changing; link written later",
                         extra={"mailbox_id": mailbox.id})  # fmt: skip
                continue
            except WriteRefused as exc:
                log.info("calendar item not writable; link left as it is",
                         extra={"mailbox_id": mailbox.id, "error": str(exc)})  # fmt: skip
            except SourceError as exc:
                log.warning("writing a calendar link failed",
                            extra={"mailbox_id": mailbox.id, "error": str(exc)})  # fmt: skip
                continue
            async with transaction(self._sessions) as session:
                await mailboxes.wrote_link(
                    session, mailbox_id=mailbox.id, item_id=link.item_id, join_url=link.current
                )

    async def _keep_subscribed(self, mailbox: mailboxes.Mailbox, reader: Subscriber) -> None:
        """Make or renew the mailbox's change-notification subscription. A failure does not
        fail the poll: without notifications the mailbox is still polled."""
        async with transaction(self._sessions) as session:
            current = await subscriptions.current(session, mailbox_id=mailbox.id)
        try:
            made = await reader.subscribe(mailbox.address, current)
        except SourceError as exc:
            log.warning("mailbox subscription failed",
                        extra={"mailbox_id": mailbox.id, "error": str(exc)})  # fmt: skip
            return
        if made is not None:
            async with transaction(self._sessions) as session:
                await subscriptions.save(
                    session, mailbox_id=mailbox.id, owner=self._owner, subscription=made
                )

    async def _restart(self, mailbox: mailboxes.Mailbox) -> mailboxes.Mailbox:
        now = self._clock()
        async with transaction(self._sessions) as session:
            await mailboxes.save_state(
                session, mailbox_id=mailbox.id, owner=self._owner, sync_state=None, resync_from=now
            )
        return mailboxes.Mailbox(
            id=mailbox.id,
            user_id=mailbox.user_id,
            source=mailbox.source,
            address=mailbox.address,
            sync_state=None,
            resync_from=now,
        )

    async def _apply(self, mailbox: mailboxes.Mailbox, changes: list[Seen | Gone]) -> int:
        applied = 0
        for change in changes:
            if isinstance(change, Gone):
                applied += await self._gone(mailbox, change.item_id)
            else:
                applied += await self._seen(mailbox, change)
        return applied

    async def _seen(self, mailbox: mailboxes.Mailbox, seen: Seen) -> int:
        event_key = seen.marks.event_key
        if event_key is None and seen.marks.zoom_meeting_id is not None:
            async with transaction(self._sessions) as session:
                found = await by_meeting(
                    session, zoom_meeting_id=seen.marks.zoom_meeting_id, zoom_user_id=None
                )
            mine = [binding for binding in found if binding.user_id == mailbox.user_id]
            event_key = mine[0].event_key if mine else None
        if event_key is None:
            return 0  # a Zoom link linkzoom did not make: not ours to follow
        followed = False
        if seen.event is not None:
            followed = await self._calendar.follow(
                user_id=mailbox.user_id, event_key=event_key, event=seen.event
            )
        else:
            log.info(
                "mailbox event not mirrorable",
                extra={"mailbox_id": mailbox.id, "problem": seen.problem},
            )
        async with transaction(self._sessions) as session:
            await mailboxes.remember(
                session,
                mailbox_id=mailbox.id,
                item_id=seen.item_id,
                event_key=event_key,
                now=self._clock(),
                join_url=seen.join_url,
            )
        return int(followed)

    async def _gone(self, mailbox: mailboxes.Mailbox, item_id: str) -> int:
        async with transaction(self._sessions) as session:
            event_key = await mailboxes.event_key_of(
                session, mailbox_id=mailbox.id, item_id=item_id
            )
        if event_key is None:
            return 0  # an item without Zoom, or one we never saw carry it
        deleted = await self._calendar.delete(
            user_id=mailbox.user_id, event_key=event_key, settled=True
        )
        async with transaction(self._sessions) as session:
            await mailboxes.forget(session, mailbox_id=mailbox.id, item_id=item_id)
        return int(deleted)

    async def _release(
        self,
        mailbox: mailboxes.Mailbox,
        status: str,
        error: str | None,
        applied: int,
        *,
        wait: timedelta | None = None,
        synced: bool = False,
    ) -> Polled:
        now = self._clock()
        async with transaction(self._sessions) as session:
            await mailboxes.release(
                session,
                mailbox_id=mailbox.id,
                owner=self._owner,
                due_at=now + (wait if wait is not None else self._poll_interval),
                status=status,
                error=error,
                synced_at=now if synced else None,
                keep_notified=status != mailboxes.BUSY,  # Retry-After is waited out regardless
            )
        return Polled(mailbox_id=mailbox.id, applied=applied, status=status)
