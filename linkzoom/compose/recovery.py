"""Creates whose answer was lost: find the meeting Zoom made anyway, so none is left behind.

Theory of operation. A create is a POST and is never repeated blindly (a second one makes a
second meeting), and a timeout, a dropped connection or a 5xx does not tell whether Zoom made the
meeting. So the compose service writes every create down before sending it: a ``creating`` row
holding the exact topic and start second it sends, which together with Zoom's creation time pick
that meeting out of the user's list (:func:`linkzoom.compose.meeting_plan.match_orphans`). Then:

1. **In the request** (:meth:`LostCreates.recover`), right after ``ZoomUnavailable``: list the
   user's meetings once, within one Zoom timeout. Found: fetch it and answer as if the create
   had succeeded; the user gets the link, Zoom holds one meeting. Not found: the user is told
   that nothing was added and may click again.
2. **In the worker** (:meth:`LostCreates.settle`), once the attempt is older than the settle
   window (three Zoom timeouts; by then Zoom has made the meeting if it ever will): look again.
   A meeting found is an orphan no one has a link to: it is claimed, deleted at Zoom without
   cancellation e-mails, and the attempt is abandoned. Nothing found: abandoned at once.

=========  ==========================================  ===========================
state      event                                       next
=========  ==========================================  ===========================
creating   Zoom answers 201                            active
creating   Zoom refuses (4xx, 429, not linked, …)      row removed
creating   answer lost, meeting found in the request   active
creating   answer lost, not found in the request       creating (503 to the user)
creating   overdue, meeting found at Zoom              orphaned
creating   overdue, nothing found                      abandoned
orphaned   deleted at Zoom (or Zoom says 404)          abandoned
either     Zoom keeps failing past ``give_up_after``   abandoned (logged)
=========  ==========================================  ===========================

So what the user was told is what exists: a success means exactly one meeting, an error means
none once the attempt is settled, and the only meetings ever deleted here are ones that match an
attempt exactly and that no row of ours holds.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta

from linkzoom.clock import Clock
from linkzoom.compose import records
from linkzoom.compose.meeting_plan import match_orphans
from linkzoom.compose.models import Attempt
from linkzoom.compose.zoom_port import ZoomMeetingsPort
from linkzoom.problems import Problem
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.zoom.models import Meeting

log = logging.getLogger(__name__)


class LostCreates:
    def __init__(
        self,
        sessions: SessionFactory,
        zoom: ZoomMeetingsPort,
        *,
        clock: Clock,
        lookup_timeout: float,
        settle_after: timedelta,
        give_up_after: timedelta = timedelta(days=7),
        batch: int = 100,
    ) -> None:
        self._sessions = sessions
        self._zoom = zoom
        self._clock = clock
        self._lookup_timeout = lookup_timeout
        self.settle_after = settle_after
        self._give_up_after = give_up_after
        self._batch = batch

    async def recover(self, attempt: Attempt) -> Meeting | None:
        """The attempt's meeting, now recorded as ``active``; ``None`` if it cannot be found
        within the lookup bound (the attempt then waits for :meth:`settle`)."""
        try:
            async with asyncio.timeout(self._lookup_timeout):
                found = await self._find(attempt.user_id, [attempt])
                zoom_id = found.get(attempt.id)
                if zoom_id is None:
                    return None
                meeting = await self._zoom.get(attempt.user_id, zoom_id)
        except (Problem, TimeoutError) as exc:
            log.info("lost create not found yet", extra={"problem": _code(exc)})
            return None
        async with transaction(self._sessions) as session:
            adopted = await records.confirm(
                session, row_id=attempt.id, meeting=meeting, now=self._clock()
            )
        if adopted:
            log.info("lost create recovered", extra={"zoom_meeting_id": meeting.id})
        return meeting if adopted else None

    async def settle(self) -> int:
        """One pass over overdue attempts and pending orphans; returns how many were settled."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            pending = await records.unsettled(
                session, before=now - self.settle_after, limit=self._batch
            )
        by_user: dict[int, list[records.Unsettled]] = defaultdict(list)
        for item in pending:
            by_user[item.attempt.user_id].append(item)
        settled = 0
        for user_id, items in by_user.items():
            try:
                settled += await self._settle_user(user_id, items, now)
            except Problem as exc:
                settled += await self._give_up(items, now, exc)
        return settled

    async def _settle_user(
        self, user_id: int, items: list[records.Unsettled], now: datetime
    ) -> int:
        settled = 0
        orphans = {
            item.attempt.id: item.zoom_meeting_id
            for item in items
            if item.state == records.ORPHANED and item.zoom_meeting_id is not None
        }
        overdue = [item.attempt for item in items if item.state == records.CREATING]
        found = await self._find(user_id, overdue) if overdue else {}
        for attempt in overdue:
            zoom_id = found.get(attempt.id)
            async with transaction(self._sessions) as session:
                if zoom_id is None:
                    settled += await records.abandon(
                        session, row_id=attempt.id, from_state=records.CREATING, now=now
                    )
                elif await records.claim_orphan(session, row_id=attempt.id, zoom_id=zoom_id):
                    orphans[attempt.id] = zoom_id
        for row_id, zoom_id in orphans.items():
            existed = await self._zoom.delete(user_id, zoom_id)
            log.info(
                "deleted the meeting of a lost create",
                extra={"zoom_meeting_id": zoom_id, "existed": existed},
            )
            async with transaction(self._sessions) as session:
                settled += await records.abandon(
                    session, row_id=row_id, from_state=records.ORPHANED, now=now
                )
        return settled

    async def _give_up(self, items: list[records.Unsettled], now: datetime, exc: Problem) -> int:
        """Zoom (or the user's grant) keeps failing: retry next pass, until ``give_up_after``."""
        settled = 0
        for item in items:
            if now - item.attempt.attempted_at < self._give_up_after:
                continue
            async with transaction(self._sessions) as session:
                settled += await records.abandon(
                    session, row_id=item.attempt.id, from_state=item.state, now=now
                )
            log.warning(
                "gave up settling a lost create; a meeting may remain at Zoom",
                extra={"zoom_meeting_id": item.zoom_meeting_id, "problem": exc.code},
            )
        if not settled:
            log.info("lost creates not settled yet", extra={"problem": exc.code})
        return settled

    async def _find(self, user_id: int, attempts: Sequence[Attempt]) -> dict[str, int]:
        keys = {(a.topic, a.start_time) for a in attempts}
        listed = [m async for m in self._zoom.list(user_id) if (m.topic, m.start_time) in keys]
        async with transaction(self._sessions) as session:
            known = await records.recorded_ids(session, [m.id for m in listed])
        return match_orphans(attempts, listed, known=known)


def _code(exc: BaseException) -> str:
    return exc.code if isinstance(exc, Problem) else "timeout"
