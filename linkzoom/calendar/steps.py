"""The calls of one reconciler pass, each followed by recording Zoom's answer.

Each step stores what Zoom answered before the next call is made, under the binding's lease; a
create is marked in doubt *before* it is sent. See :mod:`linkzoom.calendar.runner` for the pass.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from linkzoom.calendar import passcodes, store, wire
from linkzoom.calendar.calls import ZoomCalls
from linkzoom.calendar.models import RECURRING, Confirmed, Desired, InDoubt
from linkzoom.calendar.passcodes import Sealed
from linkzoom.calendar.reconcile import (
    Action,
    Create,
    Delete,
    DeleteOccurrence,
    Fetch,
    FindLost,
    Forget,
    Update,
    UpdateOccurrence,
    Wait,
)
from linkzoom.calendar.store import Keep
from linkzoom.clock import Clock
from linkzoom.problems import (
    Problem,
    SealedDataUnreadable,
    ServiceUnavailable,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomUnavailable,
)
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.vault.seal import Sealer
from linkzoom.zoom import meeting_defaults
from linkzoom.zoom.models import MeetingRequest

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another process owns the binding now; stop without touching it."""


class Next(enum.Enum):
    CONTINUE = "continue"  # the next action of this plan
    REPLAN = "replan"  # what we know changed: plan again
    REMOVED = "removed"  # the binding is gone
    RELOAD = "reload"  # the calendar changed meanwhile: read it again, then plan


@dataclass(kw_only=True)
class Work:
    """What one pass knows about its binding, kept in step with the database."""

    id: int
    user_id: int
    account: str | None
    owner: str
    desired: Desired
    version: int
    attempts: int
    confirmed: Confirmed | None
    in_doubt: InDoubt | None
    lost_at: datetime | None
    link_changed: bool
    sealed_passcode: Sealed | None = None
    passcode_changed: bool = False  # sealed by this pass, not yet stored
    created: bool = False
    fetched: bool = False
    roll_waits_until: datetime | None = None  # a due window move left for tomorrow's quota


class Steps:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        calls: ZoomCalls,
        sealer: Sealer,
        clock: Clock,
        doubt_window: timedelta,
        attempt_timeout: float,
    ) -> None:
        self._sessions = sessions
        self._calls = calls
        self._sealer = sealer
        self._clock = clock
        self._doubt_window = doubt_window
        self._attempt_timeout = attempt_timeout

    async def save(self, work: Work, *, link_changed: bool | None = None) -> None:
        async with transaction(self._sessions) as session:
            saved = await store.save(
                session,
                binding_id=work.id,
                owner=work.owner,
                now=self._clock(),
                confirmed=work.confirmed,
                in_doubt=work.in_doubt,
                lost_at=work.lost_at,
                sealed_passcode=work.sealed_passcode if work.passcode_changed else Keep.AS_STORED,
                link_changed=link_changed,
            )
        if not saved:
            raise LeaseLost
        work.passcode_changed = False

    async def perform(self, action: Action, work: Work) -> Next | datetime:
        """Make the call ``action`` names and record its answer in ``work`` and the database;
        a datetime means "nothing to do until then"."""
        try:
            return await self._perform(action, work)
        except (ZoomUnavailable, ServiceUnavailable):
            if isinstance(action, Update | UpdateOccurrence | DeleteOccurrence | Delete):
                # The change may have been made with its answer lost: what Zoom has is unknown
                # until we look (a later pass must not trust the old picture).
                await self._suspect(work)
            raise

    async def _suspect(self, work: Work) -> None:
        if work.confirmed is not None:
            until = self._clock() + self._doubt_window
            work.confirmed = replace(work.confirmed, stale=True, stale_until=until)
            await self.save(work)

    async def _perform(self, action: Action, work: Work) -> Next | datetime:
        match action:
            case Create():
                return await self._create(action, work)
            case FindLost():
                return await self._find_lost(action, work)
            case Fetch():
                return await self._fetch(action, work)
            case Update():
                return await self._update(action, work)
            case UpdateOccurrence():
                return await self._update_occurrence(action, work)
            case DeleteOccurrence():
                return await self._delete_occurrence(action, work)
            case Delete():
                await self._calls.delete(work.user_id, work.account, action.meeting_id)
                work.confirmed = None
                await self.save(work)
                return Next.REPLAN
            case Wait():
                return action.until
            case Forget():
                async with transaction(self._sessions) as session:
                    removed = await store.forget(
                        session, binding_id=work.id, owner=work.owner, version=work.version
                    )
                return Next.REMOVED if removed else Next.RELOAD

    async def _create(self, action: Create, work: Work) -> Next:
        now = self._clock()
        marker = secrets.token_urlsafe(12)
        work.in_doubt = InDoubt(
            marker=marker,
            topic=action.series.topic,
            sent_at=now,
            conclusive_at=now + self._doubt_window,
        )
        await self.save(work)  # before sending: a crash from here on leaves it in doubt
        async with transaction(self._sessions) as session:
            defaults = await meeting_defaults.load(session)
        request = wire.create_request(action.series, marker=marker, defaults=defaults)
        try:
            meeting = await self._calls.create(work.user_id, work.account, request)
        except (ZoomUnavailable, ServiceUnavailable):
            raise  # it may have reached Zoom: stays in doubt, FindLost settles it
        except Problem:
            work.in_doubt = None  # Zoom refused it: nothing was made
            await self.save(work)
            raise
        await self._adopt(work, wire.created(meeting, action.series), meeting.password)
        return Next.CONTINUE

    def _seal(self, work: Work, meeting_id: int, passcode: str | None) -> None:
        """Keep Zoom's passcode for the meeting, sealed; one already stored for this meeting
        under the primary key is left as it is (no write that could race a rotation)."""
        where = {"user_id": work.user_id, "binding_id": work.id, "meeting_id": meeting_id}
        stored = work.sealed_passcode
        if stored is not None and stored[0] == self._sealer.primary_kid:
            with contextlib.suppress(SealedDataUnreadable):
                if passcodes.open_passcode(self._sealer, stored, **where) == passcode:
                    return
        elif stored is None and not passcode:
            return
        work.sealed_passcode = passcodes.seal(self._sealer, passcode, **where)
        work.passcode_changed = True

    async def _adopt(self, work: Work, confirmed: Confirmed, passcode: str | None) -> None:
        changed = work.link_changed or work.lost_at is not None
        work.confirmed, work.in_doubt, work.lost_at, work.created = confirmed, None, None, True
        self._seal(work, confirmed.meeting_id, passcode)
        work.link_changed = changed
        await self.save(work, link_changed=changed)

    async def _find_lost(self, action: FindLost, work: Work) -> Next | datetime:
        meeting = await self._calls.find(work.user_id, work.account, action.in_doubt)
        if meeting is not None:
            await self._adopt(work, wire.fetched(meeting, None, self._clock()), meeting.password)
            return Next.REPLAN
        if not action.conclusive:
            return action.in_doubt.conclusive_at
        work.in_doubt = None  # provably never made: create afresh
        await self.save(work)
        return Next.REPLAN

    async def _fetch(self, action: Fetch, work: Work) -> Next:
        try:
            meeting = await self._calls.get(work.user_id, work.account, action.meeting_id)
        except ZoomMeetingNotFound:
            return await self._gone(work)
        previous = work.confirmed
        work.confirmed = wire.fetched(meeting, previous, self._clock())
        self._seal(work, meeting.id, meeting.password)
        work.fetched = True
        # A passcode changed at Zoom changes the join link: the add-in must put the new one in.
        relinked = (
            previous is not None
            and previous.meeting_id == meeting.id
            and _link_key(previous.join_url) != _link_key(meeting.join_url)
        )
        work.link_changed = work.link_changed or relinked
        await self.save(work, link_changed=True if relinked else None)
        return Next.REPLAN

    async def _gone(self, work: Work) -> Next:
        """Zoom says the meeting no longer exists: make a new one if the event still wants it
        (the add-in learns of the new link through ``link_changed``)."""
        log.info("zoom meeting of a calendar binding is gone", extra={"binding_id": work.id})
        work.confirmed = None
        work.lost_at = None if work.desired.deleted else self._clock()
        await self.save(work)
        return Next.REPLAN

    async def _update(self, action: Update, work: Work) -> Next:
        confirmed = work.confirmed
        assert confirmed is not None
        try:
            seconds = await self._calls.update(
                work.user_id, work.account, action.meeting_id, action.request
            )
        except ZoomMeetingNotFound:
            return await self._gone(work)
        occurrences, stale = confirmed.occurrences, False
        if action.regenerates or RECURRING not in (action.series.type, confirmed.series.type):
            occurrences = None  # Zoom renumbered them
        elif action.request.duration is not None and work.desired.edits:
            stale = True  # which occurrences took the new duration is Zoom's business: look
        work.confirmed = replace(
            confirmed, series=action.series, occurrences=occurrences, stale=stale
        )
        return await self._answered(work, seconds)

    async def _answered(self, work: Work, seconds: float) -> Next:
        """Record a change Zoom made. If it answered only after the client's timeout, the
        client had sent it again, and the first request may still land later, undoing what we
        do next: look again once it can no longer arrive."""
        if seconds >= self._attempt_timeout:
            await self._suspect(work)
            return Next.REPLAN
        await self.save(work)
        return Next.CONTINUE

    async def _update_occurrence(self, action: UpdateOccurrence, work: Work) -> Next:
        request = MeetingRequest(start_time=action.start, duration=action.duration)
        try:
            seconds = await self._calls.update(
                work.user_id,
                work.account,
                action.meeting_id,
                request,
                occurrence_id=action.occurrence_id,
            )
        except ZoomMeetingNotFound:
            return await self._gone(work)
        except ZoomMeetingLocked:
            return await self._doubt_occurrences(work)
        self._edit_known(work, action.occurrence_id, action.start, action.duration, False)
        return await self._answered(work, seconds)

    async def _delete_occurrence(self, action: DeleteOccurrence, work: Work) -> Next:
        try:
            existed, seconds = await self._calls.delete(
                work.user_id, work.account, action.meeting_id, occurrence_id=action.occurrence_id
            )
        except ZoomMeetingLocked:
            return await self._doubt_occurrences(work)
        if not existed:
            return await self._gone(work)
        self._edit_known(work, action.occurrence_id, None, None, True)
        return await self._answered(work, seconds)

    async def _doubt_occurrences(self, work: Work) -> Next:
        """Zoom refused an occurrence call (3000): our occurrence list is wrong, or the meeting
        is under way. Look once; if we already looked in this pass, back off instead."""
        if work.fetched:
            raise ZoomMeetingLocked("Zoom refuses to change this occurrence now.")
        assert work.confirmed is not None
        work.confirmed = replace(work.confirmed, stale=True)
        await self.save(work)
        return Next.REPLAN

    @staticmethod
    def _edit_known(
        work: Work,
        occurrence_id: str,
        start: datetime | None,
        duration: int | None,
        deleted: bool,
    ) -> None:
        confirmed = work.confirmed
        assert confirmed is not None and confirmed.occurrences is not None
        work.confirmed = replace(
            confirmed,
            occurrences=tuple(
                replace(
                    o,
                    start=start or o.start,
                    duration=duration or o.duration,
                    deleted=o.deleted or deleted,
                )
                if o.occurrence_id == occurrence_id
                else o
                for o in confirmed.occurrences
            ),
        )


def _link_key(join_url: str) -> list[str]:
    """What makes a join link work: its encoded passcode (Zoom may spell the host differently,
    a vanity or regional name, for the same meeting)."""
    return parse_qs(urlsplit(join_url).query).get("pwd", [])
