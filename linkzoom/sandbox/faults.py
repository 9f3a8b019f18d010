"""Injected faults and latency for tests and demos (control API ``/_sandbox/faults``).

A rule matches a request by method and a regular expression searched in the path *within the
sandbox* (``/v2/meetings/123``, ``/oauth/token``, whatever the mount prefix). A matching rule fires
with its probability, at most ``count`` times, and answers with its status, body and headers after
``latency_ms``. A rule without ``status`` only adds latency and lets the request through.
"""

from __future__ import annotations

import random
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

QPS_MESSAGE = "You have reached the maximum per-second rate limit for this API. Try again later."


class FaultSpecError(ValueError):
    """The control API was sent a fault rule it cannot use."""


@dataclass(kw_only=True)
class FaultRule:
    id: str
    path_regex: re.Pattern[str]
    method: str | None = None
    status: int | None = None
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    probability: float = 1.0
    remaining: int | None = None
    latency_ms: int = 0
    fired: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "method": self.method,
            "path_regex": self.path_regex.pattern,
            "status": self.status,
            "body": self.body,
            "headers": self.headers,
            "probability": self.probability,
            "remaining": self.remaining,
            "latency_ms": self.latency_ms,
            "fired": self.fired,
        }


class FaultBook:
    """The active rules plus a global added latency."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rules: dict[str, FaultRule] = {}
        self.latency_ms = 0
        # Not for secrets: only decides whether a probabilistic fault fires.
        self._rng = rng or random.Random()  # noqa: S311

    def add(self, spec: dict[str, Any]) -> FaultRule:
        """Validate a rule from the control API and activate it."""
        try:
            pattern = re.compile(str(spec["path_regex"]))
        except KeyError:
            raise FaultSpecError("path_regex is required") from None
        except re.error as exc:
            raise FaultSpecError(f"path_regex: {exc}") from None
        status = spec.get("status")
        if status is not None and (not isinstance(status, int) or not 100 <= status <= 599):
            raise FaultSpecError("status must be an HTTP status code")
        probability = spec.get("probability", 1.0)
        if not isinstance(probability, int | float) or not 0.0 <= probability <= 1.0:
            raise FaultSpecError("probability must be between 0 and 1")
        count = spec.get("count")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise FaultSpecError("count must be a positive integer")
        latency = spec.get("latency_ms", 0)
        if not isinstance(latency, int) or latency < 0:
            raise FaultSpecError("latency_ms must be a non-negative integer")
        headers = spec.get("headers") or {}
        if not isinstance(headers, dict):
            raise FaultSpecError("headers must be an object")
        method = spec.get("method")
        rule = FaultRule(
            id=secrets.token_hex(6),
            path_regex=pattern,
            method=str(method).upper() if method else None,
            status=status,
            body=spec.get("body"),
            headers={str(k): str(v) for k, v in headers.items()},
            probability=float(probability),
            remaining=count,
            latency_ms=latency,
        )
        self.rules[rule.id] = rule
        return rule

    def clear(self) -> None:
        self.rules.clear()

    def match(self, method: str, path: str) -> FaultRule | None:
        """The first rule that fires for this request (consuming one of its ``count``)."""
        for rule in self.rules.values():
            if rule.method is not None and rule.method != method:
                continue
            if rule.remaining == 0 or not rule.path_regex.search(path):
                continue
            if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                continue
            rule.fired += 1
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule
        return None


def default_fault_body(status: int, *, oauth: bool) -> dict[str, Any]:
    """A Zoom-shaped body for a rule that gave none."""
    if oauth:
        return {"reason": "Simulated fault", "error": "server_error"}
    if status == 429:
        return {"code": 429, "message": QPS_MESSAGE}
    if status == 401:
        return {"code": 124, "message": "Invalid access token."}
    return {"code": status, "message": "Simulated fault."}


def default_fault_headers(status: int) -> dict[str, str]:
    if status == 429:
        return {
            "X-RateLimit-Category": "Light",
            "X-RateLimit-Type": "QPS",
            "X-RateLimit-Limit": "30",
            "X-RateLimit-Remaining": "0",
            "Retry-After": "1",
        }
    return {}
