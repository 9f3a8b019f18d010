"""ZoomConnectionPool against a real HTTP/1.1 server on loopback (stdlib, keep-alive)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpcore
import httpx
import pytest
import respx
from httpcore._async.interfaces import AsyncConnectionInterface

from linkzoom.config import load_settings
from linkzoom.runtime import http_client
from linkzoom.zoom.connection_pool import SWEEP_INTERVAL, ZoomConnectionPool, pooled_transport


@dataclass
class Seen:
    connections: int = 0
    open_now: int = 0
    most_open: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a handler closes
    server: _Server

    def setup(self) -> None:
        super().setup()
        seen = self.server.seen
        with seen.lock:
            seen.connections += 1
            seen.open_now += 1
            seen.most_open = max(seen.most_open, seen.open_now)

    def finish(self) -> None:
        super().finish()
        with self.server.seen.lock:
            self.server.seen.open_now -= 1

    def do_GET(self) -> None:
        if self.path == "/slow":
            time.sleep(0.05)
        body = b"ok"
        if self.path == "/cookie-seen":
            body = (self.headers.get("cookie") or "none").encode()
        self.send_response(200)
        if self.path == "/set-cookie":
            self.send_header("Set-Cookie", "zm_session=one-users-cookie; Path=/")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        # /close: the server drops the connection after answering, without saying so in a
        # header, as a server timing out an idle keep-alive connection does.
        self.close_connection = self.path == "/close"

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.seen = Seen()


@pytest.fixture
def server() -> Iterator[_Server]:
    httpd = _Server()
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


class FakeMonotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Pool:
    pool: ZoomConnectionPool
    client: httpx.AsyncClient
    base: str
    clock: FakeMonotonic

    async def get(self, path: str = "/ok") -> str:
        response = await self.client.get(self.base + path)
        return response.text


def _make(
    server: _Server, *, max_connections: int = 50, max_keepalive: int = 50, expiry: float = 30
) -> Pool:
    clock = FakeMonotonic()
    limits = httpx.Limits(
        max_connections=max_connections,
        max_keepalive_connections=max_keepalive,
        keepalive_expiry=expiry,
    )
    transport = pooled_transport(limits, monotonic=clock)
    pool = transport._pool
    assert isinstance(pool, ZoomConnectionPool)
    client = httpx.AsyncClient(transport=transport, timeout=5)
    host, port = server.server_address[:2]
    return Pool(pool, client, f"http://{host!s}:{port}", clock)


@dataclass
class Passes:
    count: int = 0


@pytest.fixture
def passes(monkeypatch: pytest.MonkeyPatch) -> Passes:
    """How many bookkeeping passes the pools ran (each test has one pool)."""
    seen = Passes()
    original = ZoomConnectionPool._assign_requests_to_connections

    def counted(self: ZoomConnectionPool) -> list[AsyncConnectionInterface]:
        seen.count += 1
        return original(self)

    monkeypatch.setattr(ZoomConnectionPool, "_assign_requests_to_connections", counted)
    return seen


@pytest.fixture
async def pool(server: _Server) -> AsyncIterator[Pool]:
    made = _make(server)
    async with made.client:
        yield made


async def test_sequential_requests_share_one_connection_and_cost_two_passes_each(
    pool: Pool, server: _Server, passes: Passes
) -> None:
    for _ in range(5):
        assert await pool.get() == "ok"
    assert server.seen.connections == 1
    assert passes.count == 10  # one when the request arrives, one when its answer is read
    assert len(pool.pool.connections) == 1


async def test_concurrent_requests_each_get_a_connection_and_reuse_them(
    pool: Pool, server: _Server
) -> None:
    assert await asyncio.gather(*(pool.get("/slow") for _ in range(8))) == ["ok"] * 8
    assert server.seen.connections == 8
    assert await asyncio.gather(*(pool.get("/slow") for _ in range(8))) == ["ok"] * 8
    assert server.seen.connections == 8


async def test_an_idle_connection_is_given_to_one_request_not_to_every_queued_one(
    pool: Pool, server: _Server, passes: Passes
) -> None:
    # One idle connection and two requests arriving together. httpcore 1.0.9 gives the idle
    # connection to both; the second fails with ConnectionNotAvailable and runs another pass.
    await pool.get()
    before = passes.count
    assert list(await asyncio.gather(pool.get(), pool.get())) == ["ok", "ok"]
    assert passes.count - before == 4
    assert server.seen.connections == 2


async def test_idle_connections_beyond_the_keepalive_limit_are_closed(server: _Server) -> None:
    made = _make(server, max_keepalive=2)
    async with made.client:
        await asyncio.gather(*(made.get("/slow") for _ in range(5)))
        await made.get()  # a pass with all five idle
        assert len(made.pool.connections) == 2
    assert server.seen.connections == 5


async def test_a_connection_the_server_closed_is_not_reused(pool: Pool, server: _Server) -> None:
    for _ in range(4):
        assert await pool.get("/close") == "ok"
        await asyncio.sleep(0.02)  # the server's close reaches our socket
    assert server.seen.connections == 4


async def test_expired_idle_connections_are_closed_by_the_sweep(server: _Server) -> None:
    made = _make(server, expiry=0.05)
    async with made.client:
        await asyncio.gather(*(made.get("/slow") for _ in range(3)))
        assert len(made.pool.connections) == 3
        await asyncio.sleep(0.1)  # past keepalive_expiry
        made.clock.now += SWEEP_INTERVAL
        assert await made.get() == "ok"
        assert len(made.pool.connections) == 1
    assert server.seen.connections == 4


async def test_between_sweeps_only_the_reused_connection_is_polled(
    pool: Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    await asyncio.gather(*(pool.get("/slow") for _ in range(6)))
    await pool.get()  # the first pass sweeps; later ones wait SWEEP_INTERVAL
    polls: list[object] = []
    original = httpcore.AsyncHTTPConnection.has_expired

    def counted(self: httpcore.AsyncHTTPConnection) -> bool:
        polls.append(self)
        return original(self)

    monkeypatch.setattr(httpcore.AsyncHTTPConnection, "has_expired", counted)
    await pool.get()
    assert len(polls) == 1


async def test_a_full_pool_queues_requests_until_a_connection_is_free(server: _Server) -> None:
    made = _make(server, max_connections=2)
    async with made.client:
        assert await asyncio.gather(*(made.get("/slow") for _ in range(6))) == ["ok"] * 6
    assert server.seen.connections == 2
    assert server.seen.most_open == 2


async def test_a_cancelled_request_leaves_the_pool_usable(pool: Pool) -> None:
    task = asyncio.create_task(pool.get("/slow"))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await pool.get() == "ok"
    assert pool.pool._requests == []


async def test_the_service_client_sends_through_the_zoom_pool(
    server: _Server, passes: Passes
) -> None:
    async with http_client(load_settings({})) as client:
        host, port = server.server_address[:2]
        assert (await client.get(f"http://{host!s}:{port}/ok")).text == "ok"
        pool = _transport(client)._pool
        assert isinstance(pool, ZoomConnectionPool)
        assert passes.count == 2


async def test_the_service_client_keeps_no_cookie_from_one_call_for_the_next(
    server: _Server,
) -> None:
    # One client serves every user: a cookie Zoom sets in an answer for one user must not ride
    # on the next user's call.
    async with http_client(load_settings({})) as client:
        host, port = server.server_address[:2]
        base = f"http://{host!s}:{port}"
        await client.get(f"{base}/set-cookie")
        assert (await client.get(f"{base}/cookie-seen")).text == "none"
        assert list(client.cookies.jar) == []


async def test_respx_still_answers_for_the_pooled_transport() -> None:
    async with httpx.AsyncClient(transport=pooled_transport(httpx.Limits())) as client:
        with respx.mock:
            respx.get("https://api.zoom.us/v2/users/me").respond(200, json={"id": "u"})
            assert (await client.get("https://api.zoom.us/v2/users/me")).json() == {"id": "u"}


def _transport(client: httpx.AsyncClient) -> httpx.AsyncHTTPTransport:
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    return transport
