"""The Zoom calls of the calendar mirror, each taking its turn in the account's pace.

Every call goes through :class:`~linkzoom.zoom.meetings.ZoomMeetings` (tokens, the per-user
daily cap, Zoom's daily 429 bookkeeping); this layer adds the account-wide per-second pace and
the search for a create whose answer was lost.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

from linkzoom.calendar.models import InDoubt
from linkzoom.calendar.pacing import AccountPacer
from linkzoom.calendar.wire import carries_marker
from linkzoom.problems import ZoomMeetingNotFound, ZoomRateLimited
from linkzoom.zoom.meetings import ZoomMeetings
from linkzoom.zoom.models import Meeting, MeetingRequest

T = TypeVar("T")
PAGE = 300  # ZoomMeetings.list fetches this many per call
MAX_CANDIDATES = 20
_OLDEST = datetime.min.replace(tzinfo=UTC)


class ZoomCalls:
    def __init__(self, meetings: ZoomMeetings, pacer: AccountPacer) -> None:
        self._meetings = meetings
        self._pacer = pacer

    async def _paced(
        self, account: str | None, operation: str, call: Callable[[], Awaitable[T]]
    ) -> T:
        return (await self._timed(account, operation, call))[0]

    async def _timed(
        self, account: str | None, operation: str, call: Callable[[], Awaitable[T]]
    ) -> tuple[T, float]:
        """The call's result and how long Zoom took (our wait for a turn not counted)."""
        await self._pacer.turn(account, operation)
        started = time.monotonic()
        try:
            return await call(), time.monotonic() - started
        except ZoomRateLimited as exc:
            if exc.kind == "qps":
                await self._pacer.hold(account, operation, exc.retry_at)
            raise

    async def create(self, user_id: int, account: str | None, request: MeetingRequest) -> Meeting:
        return await self._paced(account, "create", lambda: self._meetings.create(user_id, request))

    async def get(self, user_id: int, account: str | None, meeting_id: int) -> Meeting:
        return await self._paced(account, "get", lambda: self._meetings.get(user_id, meeting_id))

    async def update(
        self,
        user_id: int,
        account: str | None,
        meeting_id: int,
        request: MeetingRequest,
        *,
        occurrence_id: str | None = None,
    ) -> float:
        """Seconds Zoom took. A PATCH that outlasted the client's timeout was sent again by
        the client, and the first one may still land later: the caller must allow for that."""
        _, seconds = await self._timed(
            account,
            "update",
            lambda: self._meetings.update(
                user_id, meeting_id, request, occurrence_id=occurrence_id
            ),
        )
        return seconds

    async def delete(
        self,
        user_id: int,
        account: str | None,
        meeting_id: int,
        *,
        occurrence_id: str | None = None,
    ) -> tuple[bool, float]:
        """Whether Zoom had the meeting (``False`` on 3001), and the seconds it took (see
        :meth:`update`)."""
        return await self._timed(
            account,
            "delete",
            lambda: self._meetings.delete(user_id, meeting_id, occurrence_id=occurrence_id),
        )

    async def find(self, user_id: int, account: str | None, lost: InDoubt) -> Meeting | None:
        """The meeting a lost create made, if Zoom has it: among the user's meetings with its
        topic, created since shortly before it was sent, the one whose agenda has its marker."""
        since = lost.sent_at - timedelta(days=1)  # lenient: Zoom's clock is not ours
        candidates = []

        async def scan() -> None:
            seen = 0
            async for summary in self._meetings.list(user_id):
                seen += 1
                if seen % PAGE == 0:
                    await self._pacer.turn(account, "list")  # the next item is a new page
                created = summary.created_at
                if summary.topic == lost.topic and (created is None or created >= since):
                    candidates.append(summary)

        await self._paced(account, "list", scan)
        candidates.sort(key=lambda s: s.created_at or _OLDEST, reverse=True)
        for summary in candidates[:MAX_CANDIDATES]:
            try:
                meeting = await self.get(user_id, account, summary.id)
            except ZoomMeetingNotFound:
                continue
            if carries_marker(meeting.agenda, lost.marker):
                return meeting
        return None
