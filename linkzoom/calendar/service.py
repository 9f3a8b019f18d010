"""Calendar use cases for the add-in: turn Zoom on for an event, look at it, turn it off.

A PUT records the desired meeting and leaves the rest to the reconciler, with one exception:
an event that has never had a meeting gets one *in the request*, because the add-in must insert
the link into the event now. If that create fails, nothing is kept (a create that may have
reached Zoom is kept as "deleted", so the reconciler finds and removes what it made). Edits are
debounced: a binding becomes due ``SETTLE`` after its latest edit (but no later than
``MAX_SETTLE`` after the first unapplied one), so quick successive edits make one Zoom call.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import overload

from sqlalchemy.exc import IntegrityError

from linkzoom.calendar import passcodes, rolling, store
from linkzoom.calendar.calls import ZoomCalls
from linkzoom.calendar.event import CalendarEvent, desired_from_event
from linkzoom.calendar.models import DELETING, PENDING, SYNCED, Desired
from linkzoom.calendar.pacing import AccountPacer
from linkzoom.calendar.reconcile import plan
from linkzoom.calendar.runner import Runner
from linkzoom.grant import service as grant_service
from linkzoom.problems import (
    NotFound,
    Problem,
    ReauthorizationRequired,
    SealedDataUnreadable,
    ServiceUnavailable,
    ZoomError,
    ZoomNotLinked,
    ZoomUnavailable,
)
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.programs import Program

log = logging.getLogger(__name__)

# Two seconds of quiet: edits of one event in a row (a user nudging its time) are one call.
SETTLE = timedelta(seconds=2)
MAX_SETTLE = timedelta(seconds=15)
LEASE_WAIT = 5.0  # seconds a request waits for a worker to hand a binding over
_CAS_TRIES = 5
# A create that meets a Zoom blip (502/503/504, a timeout) is tried again within the request for
# this long, so a moment's outage is not an error the user sees; the runner's lost-create lookup
# makes each new try find a meeting the previous one may have made instead of making a second.
CREATE_RETRY_SECONDS = 6.0
CREATE_RETRY_FIRST_DELAY = 0.3


@dataclass(frozen=True, kw_only=True)
class Answer:
    binding: store.Binding
    created: bool


class Mirror:
    """The calendar mirror of one process: the account pacer (shared by requests and the
    reconciler, so the process queues its own calls), the Zoom calls and the runner."""

    def __init__(self, runtime: Runtime) -> None:
        self.sessions = runtime.sessions
        self.programs = runtime.programs
        self.clock = runtime.clock
        self.pacer = AccountPacer(runtime.sessions)
        timeout = runtime.settings.zoom_timeout_seconds
        # The lease must outlast a pass's longest call with retries; workers renew theirs.
        self.request_lease = timedelta(seconds=max(30.0, 4 * timeout))
        self.runner = Runner(
            sessions=runtime.sessions,
            calls=ZoomCalls(runtime.meetings, self.pacer),
            sealer=runtime.sealer,
            clock=runtime.clock,
            # A lost create is provably lost once three client timeouts have passed.
            doubt_window=timedelta(seconds=max(5.0, 3 * timeout)),
            attempt_timeout=timeout,
            daily_write_limit=runtime.settings.zoom_daily_write_limit,
        )
        self.sealer = runtime.sealer
        self.service = CalendarService(self)


def mirror_of(runtime: Runtime) -> Mirror:
    """This process's mirror, kept on ``runtime`` (made on first use, dropped with it)."""
    if runtime.calendar_mirror is None:
        runtime.calendar_mirror = Mirror(runtime)
    return runtime.calendar_mirror


# A try of _record whose compare-and-swap lost: read again and retry.
_CHANGED = object()


class CalendarService:
    def __init__(self, mirror: Mirror) -> None:
        self._mirror = mirror
        self._sessions = mirror.sessions
        self._programs = mirror.programs
        self._clock = mirror.clock

    async def put(self, *, user_id: int, event_key: str, event: CalendarEvent) -> Answer:
        """Record the event's meeting; create it now if the event never had one."""
        desired = desired_from_event(event, now=self._clock())
        # A new binding is leased to this request as it is written: a worker must not take it
        # between the insert and our create, or the add-in would wait for a link it gets late.
        owner = "request:" + secrets.token_hex(8)
        binding, fresh = await self._record(user_id, event_key, desired, owner, require_zoom=True)
        if not fresh and not (binding.confirmed is None and binding.lost_at is None):
            return Answer(binding=binding, created=False)
        return await self._create_now(binding, fresh, owner)

    async def follow(self, *, user_id: int, event_key: str, event: CalendarEvent) -> bool:
        """The mailbox shows the event like this now (a change made in any client): record it
        for the reconciler exactly as the add-in's ``PUT`` of an existing event would. Only an
        event that has Zoom is followed — one turned off, or never on, is left alone, so the
        watch never creates a meeting. ``True`` if the event has Zoom."""
        desired = desired_from_event(event, now=self._clock())
        recorded = await self._record(user_id, event_key, desired, owner=None, settled=True)
        return recorded is not None

    async def passcode(self, binding: store.Binding) -> str | None:
        """The meeting's passcode, opened for the answer to the add-in. One that no key of the
        ring opens (its key was retired too early) is answered as unknown and fetched from Zoom
        again, sealed under today's key: the link still works meanwhile."""
        if binding.confirmed is None:
            return None
        try:
            return passcodes.open_passcode(
                self._mirror.sealer,
                binding.sealed_passcode,
                user_id=binding.user_id,
                binding_id=binding.id,
                meeting_id=binding.confirmed.meeting_id,
            )
        except SealedDataUnreadable:
            if binding.confirmed.stale or binding.zoom_changed_at is not None:
                return None  # a fetch is owed already (perhaps backing off): ask no more
            log.warning(
                "calendar passcode unreadable; fetching it again", extra={"binding_id": binding.id}
            )
            async with transaction(self._sessions) as session:
                await store.refetch(session, binding_id=binding.id, now=self._clock())
            return None

    async def get(self, *, user_id: int, event_key: str) -> store.Binding:
        # One read: no transaction needed around it.
        binding = await self._programs.run(
            store.finding(user_id=user_id, event_key=event_key), atomic=False
        )
        if binding is None or (binding.desired.deleted and binding.confirmed is None):
            raise NotFound("This event has no Zoom meeting.")
        return binding

    async def delete(self, *, user_id: int, event_key: str, settled: bool = False) -> bool:
        """Turn Zoom off for the event: ``True`` if a meeting is being deleted (the reconciler
        does it), ``False`` if there was nothing at Zoom. ``settled``: see :func:`_debounce`."""
        for _ in range(_CAS_TRIES):
            now = self._clock()
            async with transaction(self._sessions) as session:
                binding = await store.find(session, user_id=user_id, event_key=event_key)
                if binding is None:
                    return False
                idle = binding.lease_until is None or binding.lease_until < now
                if binding.confirmed is None and binding.in_doubt is None and idle:
                    await store.remove(session, binding_id=binding.id)
                    return False
                due_at, settle_from = _debounce(binding, now, settled=settled)
                desired = replace(binding.desired, deleted=True)
                if await store.record_desired(
                    session,
                    binding=binding,
                    desired=desired,
                    status=DELETING,
                    due_at=due_at,
                    settle_from=settle_from,
                    link_seen=False,
                    now=now,
                ):
                    return True
        raise ServiceUnavailable("The event changed too often at once; try again.")

    def _requiring_zoom(self, user_id: int) -> Program[None]:
        status = yield from grant_service.reading_status(user_id=user_id, now=self._clock())
        if status.reauthorization_required:
            raise ReauthorizationRequired(
                "Your yearly Zoom authorization has lapsed; authorize Zoom again.", user_id=user_id
            )
        if not status.linked:
            raise ZoomNotLinked("Connect your Zoom account first.", user_id=user_id)

    @overload
    async def _record(
        self,
        user_id: int,
        event_key: str,
        desired: Desired,
        owner: str,
        settled: bool = False,
        require_zoom: bool = False,
    ) -> tuple[store.Binding, bool]: ...

    @overload
    async def _record(
        self,
        user_id: int,
        event_key: str,
        desired: Desired,
        owner: None,
        settled: bool = False,
        require_zoom: bool = False,
    ) -> tuple[store.Binding, bool] | None: ...

    async def _record(
        self,
        user_id: int,
        event_key: str,
        desired: Desired,
        owner: str | None,
        settled: bool = False,
        require_zoom: bool = False,
    ) -> tuple[store.Binding, bool] | None:
        """Store the desired meeting; ``True`` if the binding is new (and leased to ``owner``).
        With no ``owner`` only an existing binding that still wants a meeting is updated
        (``None`` otherwise). ``require_zoom``: refuse, writing nothing, unless the user's Zoom
        grant is usable (read in the same transaction: one round of BEGIN/COMMIT fewer)."""
        for _ in range(_CAS_TRIES):
            try:
                recorded = await self._programs.run(
                    self._recording(user_id, event_key, desired, owner, settled, require_zoom)
                )
            except IntegrityError:
                continue  # another request created the binding just now: update it instead
            if recorded is _CHANGED:
                continue  # another writer changed the row between our read and our write
            return recorded  # type: ignore[return-value]
        raise ServiceUnavailable("The event changed too often at once; try again.")

    def _recording(
        self,
        user_id: int,
        event_key: str,
        desired: Desired,
        owner: str | None,
        settled: bool,
        require_zoom: bool,
    ) -> Program[tuple[store.Binding, bool] | object | None]:
        """One try of :meth:`_record`, as one transaction; :data:`_CHANGED` when the
        compare-and-swap lost."""
        now = self._clock()
        if require_zoom:
            yield from self._requiring_zoom(user_id)
        binding = yield from store.finding(user_id=user_id, event_key=event_key)
        if owner is None and (binding is None or binding.desired.deleted):
            return None
        if binding is None:
            assert owner is not None
            binding_id = yield from store.inserting(
                user_id=user_id,
                event_key=event_key,
                desired=desired,
                status=PENDING,
                due_at=now,
                settle_from=now,
                now=now,
                lease_owner=owner,
                lease_until=now + self._mirror.request_lease,
            )
            inserted = yield from store.loading(binding_id=binding_id)
            assert inserted is not None
            return inserted, True
        wanted = rolling.keep_place(desired, binding.desired, now)
        actions = plan(wanted, binding.confirmed, binding.in_doubt, now)
        due_at: datetime | None = binding.due_at  # nothing to send: as it was
        settle_from: datetime | None = None
        if actions:
            due_at, settle_from = _debounce(binding, now, settled=settled)
        stored = yield from store.recording_desired(
            binding=binding,
            desired=wanted,
            status=PENDING if actions else SYNCED,
            due_at=due_at,
            settle_from=settle_from,
            link_seen=True,
            now=now,
        )
        if stored is None:
            return _CHANGED
        if binding.link_changed:
            # This answer tells the add-in about the new link; later ones need not.
            stored = replace(stored, link_changed=True)
        return stored, False

    async def _create_now(self, binding: store.Binding, fresh: bool, owner: str) -> Answer:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + CREATE_RETRY_SECONDS
        delay = CREATE_RETRY_FIRST_DELAY
        while True:
            if not await self._lease(binding.id, owner):
                return Answer(binding=binding, created=False)  # a worker is on it
            result = await self._mirror.runner.run(binding.id, owner=owner, until_created=True)
            async with transaction(self._sessions) as session:
                current = await store.load(session, binding_id=binding.id)
            if current is None:
                raise NotFound("This event has no Zoom meeting.")
            if current.confirmed is not None:
                return Answer(binding=current, created=result.created)
            problem = result.problem
            if problem is None and result.in_doubt:
                problem = ZoomUnavailable(
                    "Zoom has not confirmed the meeting yet; try again shortly."
                )
            if problem is None:
                return Answer(binding=current, created=False)  # a worker took it over
            if not _transient(problem) or loop.time() + delay >= deadline:
                await self._abandon(current, fresh)
                raise problem
            log.info(
                "calendar create met a Zoom blip; trying again", extra={"problem": problem.code}
            )
            await asyncio.sleep(delay)
            delay *= 2
            binding = current

    async def _lease(self, binding_id: int, owner: str) -> bool:
        deadline = asyncio.get_running_loop().time() + LEASE_WAIT
        while True:
            now = self._clock()
            async with transaction(self._sessions) as session:
                if await store.take_lease(
                    session,
                    binding_id=binding_id,
                    owner=owner,
                    now=now,
                    until=now + self._mirror.request_lease,
                ):
                    return True
            if asyncio.get_running_loop().time() >= deadline:
                return False
            await asyncio.sleep(0.1)

    async def _abandon(self, binding: store.Binding, fresh: bool) -> None:
        """The add-in gets an error and no link: keep nothing, except what is needed to find
        and delete a meeting a lost create may have made."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            if fresh and binding.in_doubt is None:
                await store.remove(session, binding_id=binding.id)
                return
            await store.record_desired(
                session,
                binding=binding,
                desired=replace(binding.desired, deleted=True),
                status=DELETING,
                due_at=binding.due_at or now,
                settle_from=None,
                link_seen=False,
                now=now,
            )


def _debounce(
    binding: store.Binding, now: datetime, *, settled: bool = False
) -> tuple[datetime, datetime | None]:
    """When the binding's change goes to Zoom, and since when it has been waiting. A change the
    mailbox watch read is ``settled``: its poll folded every edit since the previous one, so
    waiting for more would only delay it (by ``SETTLE``, against a poll interval's budget)."""
    if settled:
        return now, None
    settle_from = binding.settle_from or now
    return min(now + SETTLE, settle_from + MAX_SETTLE), settle_from


def _transient(problem: Problem) -> bool:
    """Worth another try in the request: Zoom was unreachable or answered 502/503/504."""
    if isinstance(problem, ZoomUnavailable):
        return True
    return isinstance(problem, ZoomError) and problem.http_status in (502, 503, 504)
