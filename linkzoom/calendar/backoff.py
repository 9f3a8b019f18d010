"""What a failed pass means for a binding: when to try again and what the add-in is told (pure).

=================================  ========  ==========================================  =======
Problem                            status    next try                                    counts
=================================  ========  ==========================================  =======
ZoomRateLimited, daily             pending   Zoom's reset (00:00 UTC) plus a little      no
                                             jitter, so a thousand bindings do not all
                                             wake at the same millisecond
ZoomRateLimited, per second        pending   Retry-After (already paced account-wide)    no
ZoomRequestInvalid (300)           failed    when the calendar changes again             yes
ZoomAuthorizationNeeded            failed    hourly (the user may connect Zoom again)    yes
anything else (Zoom down, 5xx,     pending,  exponential back-off with jitter, from      yes
locked meeting, our database)      failed    2 s up to 15 min; ``failed`` from the 8th
                                   later     failure on, still retried
=================================  ========  ==========================================  =======
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from linkzoom.calendar.models import FAILED, PENDING
from linkzoom.problems import (
    Problem,
    ZoomAuthorizationNeeded,
    ZoomRateLimited,
    ZoomRequestInvalid,
)

BASE_DELAY = timedelta(seconds=2)
MAX_DELAY = timedelta(minutes=15)
RELINK_CHECK = timedelta(hours=1)
DAILY_SPREAD = timedelta(seconds=30)
QPS_SPREAD = timedelta(milliseconds=500)
FAILED_AFTER = 8


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """``retry_at`` ``None``: only a new calendar change wakes the binding."""

    status: str
    retry_at: datetime | None
    message: str
    counts: bool


def judge(problem: Problem, *, attempts: int, now: datetime, jitter: float) -> Verdict:
    """``attempts``: failures in a row before this one; ``jitter`` is uniform in [0, 1)."""
    message = problem.detail
    if isinstance(problem, ZoomRateLimited):
        spread = DAILY_SPREAD if problem.kind == "daily" else QPS_SPREAD
        return Verdict(
            status=PENDING,
            retry_at=max(problem.retry_at, now) + spread * jitter,
            message=message,
            counts=False,
        )
    if isinstance(problem, ZoomRequestInvalid):
        return Verdict(status=FAILED, retry_at=None, message=message, counts=True)
    if isinstance(problem, ZoomAuthorizationNeeded):
        return Verdict(status=FAILED, retry_at=now + RELINK_CHECK, message=message, counts=True)
    return Verdict(
        status=FAILED if attempts + 1 >= FAILED_AFTER else PENDING,
        retry_at=now + delay(attempts, jitter),
        message=message,
        counts=True,
    )


def delay(attempts: int, jitter: float) -> timedelta:
    """Exponential back-off with "equal jitter": half fixed, half random, so a retry is never
    immediate yet retries of many bindings spread out."""
    ceiling: timedelta = min(MAX_DELAY, BASE_DELAY * (2 ** min(attempts, 20)))
    return ceiling / 2 + (ceiling / 2) * jitter
