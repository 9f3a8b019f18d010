"""Rate-limit arithmetic (pure): Zoom's per-user daily write cap and per-account QPS buckets.

The daily cap counts meeting creates and updates per Zoom user per UTC day and resets at
00:00 UTC of the sandbox clock. The per-second limit is a sliding one-second window per
(account, label) on the monotonic clock: with a budget of N, the N+1st call within any second is
refused, which keeps tests deterministic (no straddling of fixed window edges).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

# Which rate-limit label each operation carries (SPEC23).
OPERATION_LABELS: dict[str, str] = {
    "users.me": "light",
    "meetings.create": "medium",
    "meetings.list": "medium",
    "meetings.get": "light",
    "meetings.update": "light",
    "meetings.delete": "light",
}
# Zoom's account-level daily Light bucket on the Free plan; the real per-user 429 carries this
# bucket's numbers, not the per-user limit's (devforum 18928).
ACCOUNT_DAILY_LIGHT = 6000


def next_utc_midnight(now: datetime) -> datetime:
    today = now.astimezone(UTC).date()
    return datetime.combine(today + timedelta(days=1), time(0, 0), tzinfo=UTC)


@dataclass(slots=True)
class DayCount:
    day: date
    count: int


class DailyCounter:
    """Counts per key per UTC day; a new day starts every key from zero."""

    def __init__(self) -> None:
        self.counts: dict[str, DayCount] = {}

    def used(self, key: str, now: datetime) -> int:
        entry = self.counts.get(key)
        if entry is None or entry.day != now.astimezone(UTC).date():
            return 0
        return entry.count

    def add(self, key: str, now: datetime) -> int:
        today = now.astimezone(UTC).date()
        entry = self.counts.get(key)
        if entry is None or entry.day != today:
            entry = self.counts[key] = DayCount(today, 0)
        entry.count += 1
        return entry.count


class SlidingWindow:
    """At most ``limit`` events in any one-second span."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._times: deque[float] = deque()

    def try_acquire(self, now: float) -> bool:
        while self._times and now - self._times[0] >= 1.0:
            self._times.popleft()
        if len(self._times) >= self.limit:
            return False
        self._times.append(now)
        return True


class QpsLimiter:
    """Per-account, per-label sliding windows; labels without a budget are unlimited."""

    def __init__(self, budget: Mapping[str, int] | None) -> None:
        self.budget = {k.lower(): v for k, v in (budget or {}).items()}
        self._windows: dict[tuple[str, str], SlidingWindow] = {}

    def try_acquire(self, account_id: str, label: str, now: float) -> bool:
        limit = self.budget.get(label)
        if limit is None:
            return True
        window = self._windows.get((account_id, label))
        if window is None:
            window = self._windows[(account_id, label)] = SlidingWindow(limit)
        return window.try_acquire(now)
