"""Rate-limit arithmetic (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from linkzoom.sandbox.limits import DailyCounter, QpsLimiter, SlidingWindow, next_utc_midnight


@pytest.mark.parametrize(
    ("now", "midnight"),
    [
        (datetime(2031, 5, 6, 0, 0, tzinfo=UTC), datetime(2031, 5, 7, tzinfo=UTC)),
        (datetime(2031, 5, 6, 23, 59, 59, tzinfo=UTC), datetime(2031, 5, 7, tzinfo=UTC)),
        (datetime(2031, 12, 31, 12, tzinfo=UTC), datetime(2032, 1, 1, tzinfo=UTC)),
        # 20:00 in UTC-5 is already 01:00 UTC the next day.
        (
            datetime(2031, 5, 6, 20, 0, tzinfo=timezone(timedelta(hours=-5))),
            datetime(2031, 5, 8, tzinfo=UTC),
        ),
    ],
)
def test_next_utc_midnight(now: datetime, midnight: datetime) -> None:
    assert next_utc_midnight(now) == midnight


def test_daily_counter_resets_at_utc_midnight() -> None:
    counter = DailyCounter()
    late = datetime(2031, 5, 6, 23, 59, tzinfo=UTC)
    assert counter.used("u", late) == 0
    assert [counter.add("u", late) for _ in range(3)] == [1, 2, 3]
    assert counter.used("u", late) == 3 and counter.used("other", late) == 0
    assert counter.used("u", late + timedelta(minutes=1)) == 0
    assert counter.add("u", late + timedelta(minutes=1)) == 1


def test_sliding_window() -> None:
    window = SlidingWindow(2)
    assert [window.try_acquire(t) for t in (0.0, 0.1, 0.2, 0.99)] == [True, True, False, False]
    assert window.try_acquire(1.0) is True  # the event at 0.0 left the window
    assert window.try_acquire(1.05) is False
    assert window.try_acquire(1.1) is True


def test_qps_limiter_is_per_account_and_label() -> None:
    limiter = QpsLimiter({"Medium": 1})
    assert limiter.try_acquire("a", "medium", 0.0) is True
    assert limiter.try_acquire("a", "medium", 0.1) is False
    assert limiter.try_acquire("b", "medium", 0.1) is True
    assert all(limiter.try_acquire("a", "light", 0.1) for _ in range(100))
    assert QpsLimiter(None).try_acquire("a", "heavy", 0.0) is True
