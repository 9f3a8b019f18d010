"""A lean closed-loop HTTP/1.1 load generator for the benchmarks.

Each client owns one keep-alive connection and sends its next request as soon as the previous
answer is read. It is written on asyncio streams rather than httpx because on a two-core machine
the load generator's own CPU time competes with the servers it measures; this one spends a few
microseconds per request.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True, kw_only=True)
class Target:
    """One system under test: where to POST, and one request per simulated user."""

    name: str
    url: str
    path: str
    bodies: Sequence[bytes]
    headers: Sequence[dict[str, str]]
    expect: int = 201


@dataclass(kw_only=True)
class Slice:
    target: str
    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds per process, filled in

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


class _Connection:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, head: bytes, body: bytes) -> tuple[int, bytes]:
        if self.writer is None or self.writer.is_closing():
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        if not status_line:
            await self.close()
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split(b" ", 2)[1])
        length, close = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"connection" and value.strip().lower() == b"close":
                close = True
        payload = await self.reader.readexactly(length) if length else b""
        if close:
            await self.close()
        return status, payload

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        self.reader = self.writer = None


def _head(target: Target, index: int, host: str) -> tuple[bytes, bytes]:
    body = target.bodies[index % len(target.bodies)]
    headers = target.headers[index % len(target.headers)]
    lines = [
        f"POST {target.path} HTTP/1.1",
        f"Host: {host}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode(), body


async def run_slice(target: Target, *, clients: int, seconds: float) -> Slice:
    """``clients`` closed-loop clients (client *i* acts as user *i*) for ``seconds``."""
    parts = urlsplit(target.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    result = Slice(target=target.name, clients=clients)
    deadline = time.perf_counter() + seconds

    async def client(index: int) -> None:
        connection = _Connection(host, port)
        head, body = _head(target, index, f"{host}:{port}")
        try:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    status, payload = await connection.request(head, body)
                except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                    status, payload = 0, str(exc).encode()
                    await connection.close()
                if status == target.expect:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
                    result.first_error = result.first_error or f"{status} {payload[:200]!r}"
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


@dataclass(frozen=True, kw_only=True)
class Call:
    """One request of a mixed load: which operation it is, and its bytes."""

    op: str
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    expect: frozenset[int] = frozenset({200, 201})

    def encoded(self, host: str) -> tuple[bytes, bytes]:
        lines = [f"{self.method} {self.path} HTTP/1.1", f"Host: {host}"]
        if self.body:
            lines += ["Content-Type: application/json", f"Content-Length: {len(self.body)}"]
        lines += [f"{k}: {v}" for k, v in self.headers.items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode(), self.body


@dataclass(kw_only=True)
class MixedSlice:
    clients: int
    seconds: float = 0.0
    latencies: dict[str, list[float]] = field(default_factory=dict)  # per operation
    errors: int = 0
    first_error: str = ""
    cpu: dict[str, float] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def throughput(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    def every_latency(self) -> list[float]:
        return [x for values in self.latencies.values() for x in values]


async def run_mixed(plans: Sequence[tuple[str, Sequence[Call]]], *, seconds: float) -> MixedSlice:
    """One closed-loop client per plan: ``(base URL, calls)``; each client sends its calls in
    order, round and round, on its own keep-alive connection, for ``seconds``."""
    result = MixedSlice(clients=len(plans))
    deadline = time.perf_counter() + seconds

    async def client(url: str, calls: Sequence[Call]) -> None:
        parts = urlsplit(url)
        host, port = parts.hostname or "127.0.0.1", parts.port or 80
        encoded = [(call, *call.encoded(f"{host}:{port}")) for call in calls]
        connection = _Connection(host, port)
        turn = 0
        try:
            while time.perf_counter() < deadline:
                call, head, body = encoded[turn % len(encoded)]
                turn += 1
                started = time.perf_counter()
                try:
                    status, payload = await connection.request(head, body)
                except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                    status, payload = 0, str(exc).encode()
                    await connection.close()
                if status in call.expect:
                    elapsed = time.perf_counter() - started
                    result.latencies.setdefault(call.op, []).append(elapsed)
                else:
                    result.errors += 1
                    result.first_error = result.first_error or (
                        f"{call.op}: {status} {payload[:200]!r}"
                    )
        finally:
            await connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(client(url, calls) for url, calls in plans))
    result.seconds = time.perf_counter() - started
    return result


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (nearest rank), in milliseconds."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
