"""The HTTP/1.1 connection pool under the Zoom client: httpcore's, with a cheaper bookkeeping pass.

httpcore's ``AsyncConnectionPool`` runs ``_assign_requests_to_connections`` when a request
arrives and when a response is closed. In httpcore 1.0.9 that pass is what a compose spent
most of its Zoom call in (``bench/compose.py --profile``: a sixth of linkzoom's CPU, half the
bare forwarder's), for three reasons reported upstream:

* it asks every idle connection ``has_expired()``, and each answer polls the socket (anyio
  builds a dict of socket attributes to find it): *N* system calls per pass, where *N* is
  every connection opened in the last ``keepalive_expiry`` (encode/httpcore#928,
  encode/httpx#3215);
* its keep-alive limit recounts the whole pool for every idle connection, O(N²), and counts
  busy connections as idle (encode/httpcore#1035, "bug 1");
* an idle connection already given to a request that has not started on it yet is given
  again to the next request; the loser fails with ``ConnectionNotAvailable`` and starts
  another pass (encode/httpcore#1035 "bug 2", pydantic/httpx2#1075).

:class:`ZoomConnectionPool` keeps httpcore's connections, request queue, timeouts and
``PoolByteStream`` and replaces only that pass:

* a connection is probed when it is about to be reused (the one probe that protects a
  request from a connection the server has closed), and the whole pool at most once per
  :data:`SWEEP_INTERVAL` (so connections that expire or that the server closes while nobody
  needs them are still closed);
* the keep-alive limit counts idle connections once per pass;
* a connection already assigned to a request is not idle to the pass.

It is HTTP/1.1 only (the Zoom API and OAuth endpoints are called over HTTP/1.1, and
HTTP/2's multiplexing follows other rules): asking for HTTP/2 is refused at construction.
The override reaches httpcore's private state (``_connections``, ``_requests``); the
dependency is pinned to httpcore 1.0 and ``tests/zoom/test_connection_pool.py`` fails if
that state changes shape.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable

import httpcore
import httpx
from httpcore._async.interfaces import AsyncConnectionInterface

__all__ = ["SWEEP_INTERVAL", "ZoomConnectionPool", "pooled_transport"]

# How often, at most, every idle connection's socket is polled. A connection that is about
# to be reused is always polled first, so this bounds only how long a connection nobody is
# using may stay open past its expiry or its server's close.
SWEEP_INTERVAL = 1.0


class ZoomConnectionPool(httpcore.AsyncConnectionPool):
    """httpcore's pool with a bookkeeping pass linear in the pool and without socket polls."""

    def __init__(
        self,
        *,
        ssl_context: ssl.SSLContext,
        max_connections: int | None,
        max_keepalive_connections: int | None,
        keepalive_expiry: float | None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_keepalive_connections,
            keepalive_expiry=keepalive_expiry,
            http1=True,
            http2=False,
        )
        self._monotonic = monotonic
        self._next_sweep = 0.0

    def _assign_requests_to_connections(self) -> list[AsyncConnectionInterface]:
        closing: list[AsyncConnectionInterface] = []
        # A connection given to a request (sending, or assigned and about to send) is
        # neither idle nor free, whatever its own state says.
        taken = {r.connection for r in self._requests}
        now = self._monotonic()
        sweep = now >= self._next_sweep
        if sweep:
            self._next_sweep = now + SWEEP_INTERVAL

        kept: list[AsyncConnectionInterface] = []
        idle: list[AsyncConnectionInterface] = []
        for connection in self._connections:
            if connection.is_closed():
                continue
            if connection not in taken and connection.is_idle():
                if sweep and connection.has_expired():
                    closing.append(connection)
                    continue
                idle.append(connection)
            kept.append(connection)

        # Keep-alive limit: close the surplus idle connections, the least used first (new
        # connections are appended and reuse picks from the front, so the tail is coldest).
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:
            evicted = idle[-surplus:]
            closing.extend(evicted)
            idle = idle[:-surplus]
            kept = [c for c in kept if c not in evicted]
        self._connections = kept

        for pool_request in self._requests:
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            chosen = self._reusable(idle, origin, closing)
            if chosen is None:
                if not self._make_room(idle, closing):
                    break  # the pool is full of busy connections: the rest wait
                chosen = self.create_connection(origin)
                self._connections.append(chosen)
            pool_request.assign_to_connection(chosen)
        return closing

    def _make_room(
        self, idle: list[AsyncConnectionInterface], closing: list[AsyncConnectionInterface]
    ) -> bool:
        """Whether a new connection may be opened, closing an idle one to another origin if
        the pool is full (as httpcore does)."""
        if len(self._connections) < self._max_connections:
            return True
        if not idle:
            return False
        victim = idle.pop(0)
        self._connections.remove(victim)
        closing.append(victim)
        return True

    def _reusable(
        self,
        idle: list[AsyncConnectionInterface],
        origin: httpcore.Origin,
        closing: list[AsyncConnectionInterface],
    ) -> AsyncConnectionInterface | None:
        """Take the first idle connection to ``origin`` that has not expired, or None."""
        index = 0
        while index < len(idle):
            connection = idle[index]
            if not connection.can_handle_request(origin):
                index += 1
                continue
            del idle[index]
            # The one socket poll a request needs: a server may have closed this
            # connection since its last answer.
            if connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)
                continue
            return connection
        return None


def pooled_transport(
    limits: httpx.Limits, *, monotonic: Callable[[], float] = time.monotonic
) -> httpx.AsyncHTTPTransport:
    """An httpx transport whose pool is a :class:`ZoomConnectionPool` with ``limits``.

    Verification is httpx's default (the system's CA bundle through certifi), and nothing is
    read from the environment (no proxy): what ``httpx.AsyncClient(trust_env=False)`` does.
    """
    ssl_context = httpx.create_ssl_context(verify=True, trust_env=False)
    transport = httpx.AsyncHTTPTransport(verify=ssl_context, limits=limits, trust_env=False)
    # httpx has no hook for the pool's class; it builds httpcore's (no sockets yet) and we
    # replace it with ours, made from the same settings.
    transport._pool = ZoomConnectionPool(
        ssl_context=ssl_context,
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        monotonic=monotonic,
    )
    return transport
