"""Counters and the request log that the control API exposes to tests."""

from __future__ import annotations

from collections import Counter, deque
from typing import Any

REQUEST_LOG_SIZE = 10_000


class Stats:
    """What happened since start (or the last reset); see :meth:`to_json` for the shape."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.token_requests: Counter[str] = Counter()
        self.refreshes = 0
        self.invalid_grant = 0
        self.revokes = 0
        self.api_calls: dict[str, Counter[str]] = {}
        self.rate_limited: Counter[str] = Counter()
        self.webhooks: Counter[str] = Counter()
        self.webhooks_sent = 0
        self.webhooks_failed = 0
        self.faults_fired = 0

    def api_call(self, operation: str, status: int) -> None:
        self.api_calls.setdefault(operation, Counter())[str(status)] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "token_requests": dict(self.token_requests),
            "refreshes": self.refreshes,
            "invalid_grant": self.invalid_grant,
            "revokes": self.revokes,
            "api_calls": {op: dict(counts) for op, counts in self.api_calls.items()},
            "rate_limited": dict(self.rate_limited),
            "webhooks": dict(self.webhooks),
            "webhooks_sent": self.webhooks_sent,
            "webhooks_failed": self.webhooks_failed,
            "faults_fired": self.faults_fired,
        }


class RequestLog:
    """The most recent API and OAuth requests (bounded, so benchmarks cannot exhaust memory)."""

    def __init__(self, size: int = REQUEST_LOG_SIZE) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=size)

    def append(self, entry: dict[str, Any]) -> None:
        self.entries.append(entry)

    def clear(self) -> None:
        self.entries.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return list(self.entries)
