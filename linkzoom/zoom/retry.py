"""When to try a Zoom call again, and the one loop that does it.

Decision table (``attempt`` counts from 1; nothing is retried once ``max_attempts`` is reached):

==========================================  =================  ===========================
Outcome                                     Methods            Then
==========================================  =================  ===========================
ConnectError, ConnectTimeout, PoolTimeout   any                back off, retry (not sent)
ReadTimeout, WriteTimeout, ReadError,       idempotent only    back off, retry
WriteError, RemoteProtocolError
other transport errors                      —                  ZoomUnavailable
503                                         any                back off, retry
502, 504                                    idempotent only    back off, retry
429, kind ``qps``                           any                wait Retry-After if it is at
                                                               most ``max_retry_after``, else
                                                               raise ZoomRateLimited
429, kind ``daily``                         —                  raise ZoomRateLimited
any other failure                           —                  raise the translated Problem
==========================================  =================  ===========================

A POST (meeting create, OAuth token) is never repeated once it may have reached Zoom: a second
create makes a duplicate meeting and a second refresh spends a rotated token. A 502/504 may come
from a gateway after Zoom did the work, so it counts as "may have reached Zoom"; a 503 or a 429 is
a refusal. The caller resolves the ambiguity (e.g. by listing meetings). Back-off is exponential
with full jitter (the AWS Architecture Blog's "Exponential Backoff And Jitter").
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from random import random as _uniform

import httpx

from linkzoom.problems import Problem, ZoomRateLimited
from linkzoom.zoom.errors import problem_from_response, problem_from_transport

__all__ = ["IDEMPOTENT_METHODS", "RetryPolicy"]

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE"})
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_MAYBE_SENT = (
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """Retry limits; ``random`` and ``sleep`` are injectable so tests run instantly."""

    max_attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 8.0
    max_retry_after: float = 10.0
    # Jitter only spreads retries out; it needs no cryptographic randomness.
    random: Callable[[], float] = field(default=_uniform, repr=False)
    sleep: Callable[[float], Awaitable[None]] = field(default=asyncio.sleep, repr=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < self.base_delay:
            raise ValueError("RetryPolicy needs max_attempts >= 1 and 0 <= base_delay <= max_delay")

    def backoff(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max_delay, base_delay * 2**(attempt-1)))."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return self.random() * ceiling

    def delay_after_transport_error(
        self, exc: httpx.TransportError, *, method: str, attempt: int
    ) -> float | None:
        """Seconds to wait before retrying, or ``None`` to give up."""
        if attempt >= self.max_attempts:
            return None
        if isinstance(exc, _NOT_SENT) or (
            isinstance(exc, _MAYBE_SENT) and method.upper() in IDEMPOTENT_METHODS
        ):
            return self.backoff(attempt)
        return None

    def delay_after_response(
        self, status: int, problem: Problem, *, method: str, attempt: int
    ) -> float | None:
        """Seconds to wait before retrying a failed response, or ``None`` to give up."""
        if attempt >= self.max_attempts:
            return None
        if isinstance(problem, ZoomRateLimited):
            if problem.kind != "qps" or problem.retry_after_seconds > self.max_retry_after:
                return None
            return problem.retry_after_seconds
        if status == 503 or (status in (502, 504) and method.upper() in IDEMPOTENT_METHODS):
            return self.backoff(attempt)
        return None

    async def run(
        self,
        method: str,
        send: Callable[[], Awaitable[httpx.Response]],
        *,
        clock: Callable[[], datetime],
        observe: Callable[[str, float], None] | None = None,
    ) -> httpx.Response:
        """Call ``send`` until a 2xx, returned; or a failure not worth retrying, raised as a
        Problem (httpx errors chained ``from`` the original). ``observe(outcome, seconds)`` is
        told about every attempt; ``outcome`` is the HTTP status or ``"error"``."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await _timed(send, observe)
            except httpx.TransportError as exc:
                delay = self.delay_after_transport_error(exc, method=method, attempt=attempt)
                if delay is None:
                    raise problem_from_transport(exc) from exc
            else:
                if response.is_success:
                    return response
                problem = problem_from_response(response, now=clock())
                delay = self.delay_after_response(
                    response.status_code, problem, method=method, attempt=attempt
                )
                if delay is None:
                    raise problem
            await self.sleep(delay)


async def _timed(
    send: Callable[[], Awaitable[httpx.Response]], observe: Callable[[str, float], None] | None
) -> httpx.Response:
    started, outcome = time.perf_counter(), "error"
    try:
        response = await send()
        outcome = str(response.status_code)
        return response
    finally:
        if observe is not None:
            observe(outcome, time.perf_counter() - started)
