"""Compose use cases: a meeting for the e-mail being written, moved when it is sent, deleted
when the draft is discarded. Zoom is reached only through :class:`ZoomMeetingsPort`
(``runtime.meetings``), which keeps the user's token and daily cap."""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from linkzoom.clock import Clock
from linkzoom.compose import idempotency, records
from linkzoom.compose.meeting_plan import meeting_plan, new_passcode, plan_sent
from linkzoom.compose.models import (
    Attempt,
    ComposedMeeting,
    ComposeOrder,
    Keyed,
    MeetingPlan,
    SentMeeting,
)
from linkzoom.compose.recovery import LostCreates
from linkzoom.compose.zoom_port import ZoomMeetingsPort
from linkzoom.problems import (
    NotFound,
    Problem,
    ZoomError,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomNotLinked,
    ZoomUnavailable,
)
from linkzoom.runtime import Runtime
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.models import User
from linkzoom.store.programs import Program
from linkzoom.store.runners import ProgramRunner
from linkzoom.vault.seal import Sealer
from linkzoom.zoom import invitation, meeting_defaults
from linkzoom.zoom.models import Meeting, MeetingRequest

log = logging.getLogger(__name__)

# Zoom's code for "this meeting has started": its start time no longer matters.
MEETING_STARTED = 3000
# A lost create is settled once three Zoom timeouts have passed: Zoom has made it by then, or
# never will.
SETTLE_TIMEOUTS = 3


@dataclass(frozen=True, kw_only=True)
class _Started:
    """What the transaction before Zoom is called leaves for the call."""

    attempt: Attempt
    plan: MeetingPlan
    admitted: object


class ComposeService:
    def __init__(
        self,
        sessions: SessionFactory,
        programs: ProgramRunner,
        zoom: ZoomMeetingsPort,
        *,
        clock: Clock,
        lost: LostCreates,
        sealer: Sealer,
    ) -> None:
        self._sessions = sessions
        self._programs = programs
        self._sealer = sealer
        self._zoom = zoom
        self._clock = clock
        self.lost = lost

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> ComposeService:
        timeout = runtime.settings.zoom_timeout_seconds
        lost = LostCreates(
            runtime.sessions,
            runtime.meetings,
            clock=runtime.clock,
            lookup_timeout=timeout,
            settle_after=timedelta(seconds=SETTLE_TIMEOUTS * timeout),
        )
        return cls(
            runtime.sessions,
            runtime.programs,
            runtime.meetings,
            clock=runtime.clock,
            lost=lost,
            sealer=runtime.sealer,
        )

    async def settle(self) -> int:
        """The worker's pass over creates whose answer was lost (see :mod:`.recovery`)."""
        return await self.lost.settle()

    async def create(
        self, user: User, order: ComposeOrder, *, idempotency_key: str | None = None
    ) -> ComposedMeeting:
        """Create the meeting, record it, and build its invitation. A repeat of an
        ``idempotency_key`` answers what its first request did (:mod:`.idempotency`)."""
        keyed = idempotency.keyed(idempotency_key, order)
        started = await self._programs.run(self._starting(user, order, keyed))
        if isinstance(started, ComposedMeeting):
            return started
        attempt, plan = started.attempt, started.plan
        try:
            meeting = await self._zoom.create(
                user.id, plan.zoom_request(), admitted=started.admitted
            )
        except Problem as exc:
            if _refused(exc):
                async with transaction(self._sessions) as session:
                    await records.forget_attempt(session, row_id=attempt.id)
                raise
            recovered = await self.lost.recover(attempt)
            if recovered is None:
                await self._release(attempt, keyed)
                raise ZoomUnavailable(
                    "Zoom did not confirm the new meeting, so nothing was added to your "
                    "message. Try again in a moment; if Zoom made the meeting after all, "
                    "linkzoom deletes it."
                ) from exc
            composed = _composed(attempt.id, recovered, plan=plan, host=user)
            if keyed is not None:
                await self._programs.run(
                    idempotency.keeping_answer(self._sealer, user_id=user.id, answer=composed)
                )
            return composed
        composed = _composed(attempt.id, meeting, plan=plan, host=user)
        # Without a key the confirmation is one UPDATE, a transaction by itself: no BEGIN/COMMIT.
        confirmed = await self._programs.run(
            self._confirming(user, meeting, composed, keyed), atomic=keyed is not None
        )
        if not confirmed:
            # Zoom answered after the attempt was settled as lost (slower than three
            # timeouts): the user is told it failed, so the meeting must not stay behind.
            await self._zoom.delete(user.id, meeting.id)
            await self._release(attempt, keyed)
            raise ZoomUnavailable(
                "Zoom answered too late, so nothing was added to your message. Try again."
            )
        log.info("compose meeting created", extra={"zoom_meeting_id": meeting.id})
        return composed

    def _starting(
        self, user: User, order: ComposeOrder, keyed: Keyed | None
    ) -> Program[_Started | ComposedMeeting]:
        """The one transaction before Zoom is called: the defaults, the attempt written down
        (so a lost answer can be found), then the grant checked and today's write counted. A
        refusal there (409, 429) rolls the attempt back with it; a repeated key answers before
        anything is counted."""
        now = self._clock()
        defaults = yield from meeting_defaults.loading()
        plan = meeting_plan(
            order,
            defaults=defaults,
            display_name=user.display_name,
            profile_timezone=user.timezone,
            now=now,
            passcode=new_passcode(),
        )
        attempt = yield from records.adding_attempt(
            row_id=secrets.token_urlsafe(16), user_id=user.id, plan=plan, now=now, keyed=keyed
        )
        if attempt is None:
            assert keyed is not None
            return (yield from idempotency.earlier(self._sealer, user_id=user.id, keyed=keyed))
        admitted = yield from self._zoom.admitting_write(user.id)
        return _Started(attempt=attempt, plan=plan, admitted=admitted)

    def _confirming(
        self, user: User, meeting: Meeting, composed: ComposedMeeting, keyed: Keyed | None
    ) -> Program[bool]:
        """Zoom's answer recorded, and kept for a repeat of the key."""
        confirmed = yield from records.confirming(
            row_id=composed.id, meeting=meeting, now=self._clock()
        )
        if confirmed and keyed is not None:
            yield from idempotency.keeping_answer(self._sealer, user_id=user.id, answer=composed)
        return confirmed

    async def _release(self, attempt: Attempt, keyed: Keyed | None) -> None:
        if keyed is not None:
            async with transaction(self._sessions) as session:
                await idempotency.release(session, row_id=attempt.id)

    async def sent(self, user_id: int, row_id: str, requested: datetime | None) -> SentMeeting:
        """The e-mail went out: start the meeting then, if that is more than a few minutes off."""
        async with transaction(self._sessions) as session:
            record = await records.find(session, row_id=row_id, user_id=user_id)
        if record is None or record.state != records.ACTIVE:
            raise _not_found(record)
        plan = plan_sent(
            start=record.start_time, requested=requested, recorded=record.sent_at, now=self._clock()
        )
        moved = plan.move_to is not None and await self._move(record, plan.move_to)
        start = plan.move_to if moved and plan.move_to is not None else record.start_time
        if moved or plan.sent_at != record.sent_at:  # a repeat writes nothing
            async with transaction(self._sessions) as session:
                await records.record_sent(
                    session, row_id=row_id, start_time=start, sent_at=plan.sent_at
                )
        return SentMeeting(
            id=record.id,
            zoom_meeting_id=record.zoom_meeting_id,
            join_url=record.join_url,
            start_time=start,
            duration_minutes=record.duration_minutes,
            timezone=record.timezone,
            sent_at=plan.sent_at,
            moved=moved,
        )

    async def _move(self, record: records.Record, start: datetime) -> bool:
        request = MeetingRequest(start_time=start, timezone=record.timezone)
        try:
            await self._zoom.update(record.user_id, record.zoom_meeting_id, request)
        except ZoomMeetingNotFound:
            async with transaction(self._sessions) as session:
                await records.end(session, row_id=record.id, state=records.GONE, now=self._clock())
            raise ZoomMeetingNotFound(
                "The Zoom meeting no longer exists; it was deleted at Zoom.",
                zoom_code=3001,
                http_status=404,
            ) from None
        except ZoomMeetingLocked as exc:
            if exc.zoom_code != MEETING_STARTED:
                raise
            return False  # people have joined already; there is nothing left to move
        return True

    async def sweep_drafts(self, *, older_than: timedelta, batch: int = 100) -> int:
        """The worker's pass over drafts never sent: Outlook fires no event when a draft is
        discarded, so a meeting whose message stays unsent past ``older_than`` is taken for
        one and deleted at Zoom (Zoom itself lets an unused meeting ID lapse after 30 days).
        Each delete is :meth:`discard`'s, so a second worker doing the same is harmless."""
        async with transaction(self._sessions) as session:
            drafts = await records.unsent_drafts(
                session, before=self._clock() - older_than, limit=batch
            )
        swept = 0
        for draft in drafts:
            try:
                await self._delete(draft)
            except ZoomNotLinked:
                # No grant left to reach the meeting with; Zoom lets it lapse by itself.
                async with transaction(self._sessions) as session:
                    await records.end(
                        session, row_id=draft.id, state=records.GONE, now=self._clock()
                    )
            swept += 1  # anything else (Zoom down, rate limited) ends the pass: next one retries
        if swept:
            log.info("unsent compose drafts deleted", extra={"count": swept})
        return swept

    async def discard(self, user_id: int, row_id: str) -> None:
        """The draft was discarded: delete its meeting at Zoom, quietly. Repeats are harmless."""
        async with transaction(self._sessions) as session:
            record = await records.find(session, row_id=row_id, user_id=user_id)
        if record is None:
            raise _not_found(None)
        if record.state == records.ACTIVE:
            await self._delete(record)

    async def _delete(self, record: records.Record) -> None:
        existed = await self._zoom.delete(record.user_id, record.zoom_meeting_id)
        async with transaction(self._sessions) as session:
            await records.end(
                session,
                row_id=record.id,
                state=records.DELETED if existed else records.GONE,
                now=self._clock(),
            )
        log.info("compose meeting deleted", extra={"zoom_meeting_id": record.zoom_meeting_id})


def _refused(exc: Problem) -> bool:
    """Whether a failed create certainly made no meeting: Zoom answered 4xx, or we never sent it
    (daily cap, no grant, database down). A timeout, a 5xx, a dropped connection or a 2xx we
    could not read leave it open."""
    if isinstance(exc, ZoomUnavailable):
        return False
    if isinstance(exc, ZoomError):
        return 400 <= exc.http_status < 500
    return True


def _not_found(record: records.Record | None) -> NotFound:
    if record is None:
        return NotFound("No such compose meeting.")
    return NotFound("This compose meeting was discarded or no longer exists at Zoom.")


def _composed(row_id: str, meeting: Meeting, *, plan: MeetingPlan, host: User) -> ComposedMeeting:
    """The answer, from what Zoom says; the zone is the one we asked for (Zoom echoes it, and
    it is one this host can render)."""
    start = meeting.start_time or plan.start_time
    timezone = plan.timezone
    settings = meeting.settings
    details = invitation.InvitationDetails(
        marker=row_id,
        host_name=host.display_name,
        topic=meeting.topic,
        start_time=start,
        timezone=timezone,
        join_url=meeting.join_url,
        meeting_id=meeting.id,
        passcode=meeting.password,
        phone_passcode=meeting.pstn_password,
        dial_in=settings.global_dial_in_numbers if settings is not None else (),
    )
    return ComposedMeeting(
        id=row_id,
        zoom_meeting_id=meeting.id,
        join_url=meeting.join_url,
        passcode=meeting.password,
        start_time=start,
        duration_minutes=meeting.duration or plan.duration_minutes,
        timezone=timezone,
        invitation=invitation.build(details),
    )
