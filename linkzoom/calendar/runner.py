"""Carries out the plan for one binding under its lease, and records what Zoom answered.

A pass loads the binding (leased to us), folds in what webhooks reported, then plans, calls,
records and plans again, until the plan is empty, a call fails, or there is nothing to do but
wait (a lost create not yet provably lost). Each answer is stored, under the lease, before the
next call; a create is marked in doubt *before* it is sent. So a process killed at any instant
leaves a binding the next pass, in any process, continues correctly: no meeting is lost and none
is made twice.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.calendar import rolling, store
from linkzoom.calendar.backoff import judge
from linkzoom.calendar.calls import ZoomCalls
from linkzoom.calendar.models import DELETING, PENDING, SYNCED
from linkzoom.calendar.reconcile import plan
from linkzoom.calendar.steps import LeaseLost, Next, Steps, Work
from linkzoom.clock import Clock
from linkzoom.problems import Problem, ZoomUnavailable
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.vault.seal import Sealer
from linkzoom.zoom import quota
from linkzoom.zoom.ratelimit import next_utc_midnight

log = logging.getLogger(__name__)

MAX_ROUNDS = 12
ACCOUNT_MEMORY = 60.0  # seconds


@dataclass(frozen=True, kw_only=True)
class PassResult:
    """``ran``: the binding was ours to work on. ``created``: a meeting came into being (or a
    lost one was found). ``problem``: the failure that ended the pass."""

    ran: bool
    created: bool = False
    problem: Problem | None = None
    in_doubt: bool = False
    removed: bool = False


class Runner:
    def __init__(
        self,
        *,
        sessions: SessionFactory,
        calls: ZoomCalls,
        sealer: Sealer,
        clock: Clock,
        doubt_window: timedelta,
        attempt_timeout: float,
        daily_write_limit: int,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._daily_write_limit = daily_write_limit
        self._jitter = jitter
        self._accounts: dict[int, tuple[str | None, float]] = {}
        self._steps = Steps(
            sessions=sessions,
            calls=calls,
            sealer=sealer,
            clock=clock,
            doubt_window=doubt_window,
            attempt_timeout=attempt_timeout,
        )

    async def run(self, binding_id: int, *, owner: str, until_created: bool = False) -> PassResult:
        """One pass over a binding leased to ``owner``; ``until_created`` stops as soon as a
        meeting exists (the add-in is waiting for its link), leaving the rest due at once."""
        try:
            work = await self._begin(binding_id, owner)
            if work is None:
                return PassResult(ran=False)
            return await self._rounds(work, until_created)
        except LeaseLost:
            log.info("calendar binding lease lost", extra={"binding_id": binding_id})
            return PassResult(ran=False)

    async def _begin(self, binding_id: int, owner: str) -> Work | None:
        now = self._clock()
        async with transaction(self._sessions) as session:
            binding = await store.load(session, binding_id=binding_id)
            if binding is None or binding.lease_owner != owner:
                return None
            binding, roll_waits_until = await self._roll(session, binding, now)
            account = await self._account(session, binding.user_id)
            confirmed, lost_at = binding.confirmed, binding.lost_at
            gone = binding.zoom_deleted_meeting_id
            if confirmed is not None and gone == confirmed.meeting_id:
                confirmed, lost_at = None, None if binding.desired.deleted else now
            elif confirmed is not None and binding.zoom_changed_at is not None:
                confirmed = replace(confirmed, stale=True)
            if gone is not None or binding.zoom_changed_at is not None:
                await store.save(
                    session,
                    binding_id=binding_id,
                    owner=owner,
                    now=now,
                    confirmed=confirmed,
                    in_doubt=binding.in_doubt,
                    lost_at=lost_at,
                )
                await store.clear_signals(
                    session,
                    binding_id=binding_id,
                    deleted_meeting_id=gone,
                    changed_at=binding.zoom_changed_at,
                )
        return Work(
            id=binding.id,
            user_id=binding.user_id,
            account=account,
            owner=owner,
            desired=binding.desired,
            version=binding.version,
            attempts=binding.attempts,
            confirmed=confirmed,
            in_doubt=binding.in_doubt,
            lost_at=lost_at,
            link_changed=binding.link_changed,
            sealed_passcode=binding.sealed_passcode,
            roll_waits_until=roll_waits_until,
        )

    async def _roll(
        self, session: AsyncSession, binding: store.Binding, now: datetime
    ) -> tuple[store.Binding, datetime | None]:
        """Move a series' window on when it is time (:mod:`linkzoom.calendar.rolling`): a
        change of the desired meeting like a calendar edit, so one that races a real edit loses
        (compare-and-swap) and is made again, from the edit, in the next pass.

        A move is never urgent (the window still holds ``WINDOW - ROLL_AFTER`` occurrences), so
        it spends only the first half of the user's daily Zoom writes, and waits for the next
        UTC day otherwise: the user's own creates and edits keep the other half. Returns the
        binding as it now is, and until when a move that had to wait waits."""
        moved = rolling.rolled(binding.desired, now)
        if moved is None:
            return binding, None
        limit = self._daily_write_limit
        spare = await quota.spare_writes(session, user_id=binding.user_id, now=now, limit=limit)
        if spare <= limit // 2:
            log.info("calendar window move waits for tomorrow", extra={"binding_id": binding.id})
            return binding, next_utc_midnight(now)
        if not await store.record_desired(
            session,
            binding=binding,
            desired=moved,
            status=PENDING,
            due_at=now,
            settle_from=None,
            link_seen=False,
            now=now,
        ):
            return binding, None
        log.info("calendar window moved on", extra={"binding_id": binding.id})
        return replace(binding, desired=moved, version=binding.version + 1), None

    async def _account(self, session: AsyncSession, user_id: int) -> str | None:
        """The user's Zoom account, for pacing; remembered a minute (it changes only when the
        user connects another Zoom account, and pacing the old one a while longer is harmless)."""
        known = self._accounts.get(user_id)
        if known is not None and time.monotonic() - known[1] < ACCOUNT_MEMORY:
            return known[0]
        account = await store.zoom_account_of(session, user_id=user_id)
        self._accounts[user_id] = (account, time.monotonic())
        return account

    async def _rounds(self, work: Work, until_created: bool) -> PassResult:
        for _ in range(MAX_ROUNDS):
            now = self._clock()
            actions = plan(work.desired, work.confirmed, work.in_doubt, now)
            if not actions:
                # Synced; a series' window is due again when it must move on.
                due = work.roll_waits_until or rolling.next_roll(work.desired)
                await self._release(work, status=SYNCED, due_at=due)
                return self._result(work)
            if until_created and work.confirmed is not None:
                await self._release(work, status=self._busy(work), due_at=now)
                return self._result(work)
            for action in actions:
                try:
                    step = await self._steps.perform(action, work)
                except Problem as exc:
                    return await self._failed(work, exc)
                if isinstance(step, datetime):
                    await self._release(
                        work,
                        status=self._busy(work),
                        due_at=step,
                        error="Zoom has not answered a change yet; looking again shortly.",
                    )
                    return self._result(work)
                if step is Next.REMOVED:
                    return PassResult(ran=True, removed=True)
                if step is Next.RELOAD:
                    await self._refresh(work)
                if step is not Next.CONTINUE:
                    break
            # A calendar change made meanwhile is not read here: the release below notices it
            # (the version moved) and leaves the binding due, so the next pass takes it.
        # Zoom did not settle within a pass (it keeps answering in a way the plan does not
        # expect): a failure like any other, retried with back-off, not at once and forever.
        unsettled = ZoomUnavailable(
            f"Zoom did not settle after {MAX_ROUNDS} rounds of calls; trying again."
        )
        return await self._failed(work, unsettled)

    def _busy(self, work: Work) -> str:
        return DELETING if work.desired.deleted else PENDING

    def _result(self, work: Work, problem: Problem | None = None) -> PassResult:
        return PassResult(
            ran=True, created=work.created, problem=problem, in_doubt=work.in_doubt is not None
        )

    async def _failed(self, work: Work, problem: Problem) -> PassResult:
        verdict = judge(problem, attempts=work.attempts, now=self._clock(), jitter=self._jitter())
        status = verdict.status
        if work.desired.deleted and status == PENDING:
            status = DELETING
        work.attempts += 1 if verdict.counts else 0
        await self._release(work, status=status, due_at=verdict.retry_at, error=verdict.message)
        log.info(
            "calendar binding pass failed",
            extra={"binding_id": work.id, "problem": problem.code, "status": status},
        )
        return self._result(work, problem)

    async def _release(
        self, work: Work, *, status: str, due_at: datetime | None, error: str | None = None
    ) -> None:
        async with transaction(self._sessions) as session:
            await store.release(
                session,
                binding_id=work.id,
                owner=work.owner,
                version=work.version,
                status=status,
                due_at=due_at,
                last_error=error,
                attempts=work.attempts if error is not None else 0,
                now=self._clock(),
            )

    async def _refresh(self, work: Work) -> None:
        """Take in a calendar change that arrived while we were calling Zoom (needed when the
        binding was to be forgotten but the calendar wants it again)."""
        async with transaction(self._sessions) as session:
            binding = await store.load(session, binding_id=work.id)
        if binding is None or binding.lease_owner != work.owner:
            raise LeaseLost
        work.desired, work.version = binding.desired, binding.version
