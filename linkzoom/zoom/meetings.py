"""Meetings at Zoom on behalf of one of our users: the one door compose and calendar use.

It supplies the user's token (refreshing single-flight), keeps the daily create/update cap
(never sending a call Zoom would refuse), records a Zoom-reported daily 429 so the rest of the
day's work waits for midnight, and treats only Zoom's real not-found as "already gone".
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from linkzoom.clock import Clock
from linkzoom.grant.refresh import TokenRefresher
from linkzoom.metrics import Metrics
from linkzoom.problems import ZoomMeetingNotFound, ZoomRateLimited
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.programs import Program
from linkzoom.store.runners import ProgramRunner
from linkzoom.zoom import quota
from linkzoom.zoom.auth import ZoomBearerAuth
from linkzoom.zoom.client import ZoomClient
from linkzoom.zoom.models import Meeting, MeetingRequest, MeetingSummary


class ZoomMeetings:
    def __init__(
        self,
        sessions: SessionFactory,
        programs: ProgramRunner,
        client: ZoomClient,
        tokens: TokenRefresher,
        *,
        clock: Clock,
        metrics: Metrics,
        daily_write_limit: int,
    ) -> None:
        self._sessions = sessions
        self._programs = programs
        self._client = client
        self._tokens = tokens
        self._clock = clock
        self._metrics = metrics
        self._limit = daily_write_limit

    def admitting_write(self, user_id: int) -> Program[ZoomBearerAuth]:
        """:meth:`_prepare`'s checks as part of the caller's program (compose does them with
        its attempt record, sparing a transaction); pass the result to :meth:`create`."""
        return self._admitting(user_id, write=True)

    async def create(
        self, user_id: int, request: MeetingRequest, *, admitted: object | None = None
    ) -> Meeting:
        if isinstance(admitted, ZoomBearerAuth):
            auth = admitted
        else:
            auth = await self._prepare(user_id, write=True)
        try:
            return await self._client.create_meeting(request, auth=auth)
        except ZoomRateLimited as exc:
            await self._note_limit(user_id, exc)
            raise

    async def update(
        self,
        user_id: int,
        meeting_id: int,
        request: MeetingRequest,
        *,
        occurrence_id: str | None = None,
    ) -> None:
        auth = await self._prepare(user_id, write=True)
        try:
            await self._client.update_meeting(
                meeting_id,
                request,
                auth=auth,
                occurrence_id=occurrence_id,
            )
        except ZoomRateLimited as exc:
            await self._note_limit(user_id, exc)
            raise

    async def get(
        self, user_id: int, meeting_id: int, *, occurrence_id: str | None = None
    ) -> Meeting:
        return await self._client.get_meeting(
            meeting_id, auth=self._tokens.auth_for(user_id), occurrence_id=occurrence_id
        )

    async def delete(
        self, user_id: int, meeting_id: int, *, occurrence_id: str | None = None
    ) -> bool:
        """Delete without Zoom's cancellation e-mails; ``False`` when Zoom had no such meeting."""
        try:
            await self._client.delete_meeting(
                meeting_id,
                auth=self._tokens.auth_for(user_id),
                occurrence_id=occurrence_id,
                schedule_for_reminder=False,
                cancel_meeting_reminder=False,
            )
        except ZoomMeetingNotFound:
            return False
        return True

    async def list(self, user_id: int) -> AsyncIterator[MeetingSummary]:
        async for meeting in self._client.iter_meetings(auth=self._tokens.auth_for(user_id)):
            yield meeting

    async def _prepare(self, user_id: int, *, write: bool) -> ZoomBearerAuth:
        """One transaction before a call: the grant must be usable (a user who must reconnect
        gets 409 without spending a write), then a create/update is counted against the day."""
        return await self._programs.run(self._admitting(user_id, write=write))

    def _admitting(self, user_id: int, *, write: bool) -> Program[ZoomBearerAuth]:
        state = yield from self._tokens.using_grant(user_id)
        if write:
            try:
                yield from quota.reserving_write(
                    user_id=user_id, now=self._clock(), limit=self._limit
                )
            except ZoomRateLimited:
                self._metrics.deferrals.labels("daily").inc()
                raise
        return self._tokens.auth_for(user_id, preread=state)

    async def _note_limit(self, user_id: int, exc: ZoomRateLimited) -> None:
        self._metrics.deferrals.labels(exc.kind).inc()
        if exc.kind == "daily":
            async with transaction(self._sessions) as session:
                await quota.mark_exhausted(
                    session, user_id=user_id, now=self._clock(), until=exc.retry_at
                )
