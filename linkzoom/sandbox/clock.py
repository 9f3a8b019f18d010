"""The sandbox clock: real UTC time plus an offset that the control API can move.

Token and code expiry, the daily write limit's 00:00 UTC reset and "future" start times all read
this clock, so a test can jump a day ahead without waiting. Per-second rate limits use the real
monotonic clock instead: moving wall time must not open or close a one-second window.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta


class SandboxClock:
    """Wall-clock time as the sandbox sees it (always timezone-aware UTC)."""

    def __init__(self, real_now: Callable[[], datetime] | None = None) -> None:
        self._real_now = real_now or (lambda: datetime.now(UTC))
        self.offset = timedelta()

    def now(self) -> datetime:
        return self._real_now() + self.offset

    def advance(self, seconds: float) -> datetime:
        self.offset += timedelta(seconds=seconds)
        return self.now()

    def set(self, instant: datetime) -> datetime:
        if instant.tzinfo is None:
            raise ValueError("the sandbox clock only accepts aware datetimes")
        self.offset = instant - self._real_now()
        return self.now()

    @staticmethod
    def monotonic() -> float:
        return time.monotonic()


def zoom_time(instant: datetime) -> str:
    """Format an aware instant as Zoom does in responses: UTC ``yyyy-MM-ddTHH:mm:ssZ``."""
    if instant.tzinfo is None:
        raise ValueError("refusing to format a naive datetime as UTC")
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_instant(text: str) -> datetime:
    """Parse an ISO 8601 instant that carries ``Z`` or an offset; naive text is refused."""
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError(f"{text!r} has no UTC offset")
    return parsed.astimezone(UTC)


def epoch_ms(instant: datetime) -> int:
    return int(instant.timestamp() * 1000)
