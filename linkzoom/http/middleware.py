"""Request context: a request id, an access log line and latency metrics for every request.

A pure ASGI middleware (no BaseHTTPMiddleware) so streaming bodies and background tasks are
untouched. The access log names the route template and never the query string: OAuth callbacks
carry authorization codes and states there.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linkzoom.logs import request_id
from linkzoom.metrics import Metrics

log = logging.getLogger("linkzoom.access")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, route_of: Callable[[Scope], str]) -> None:
        self.app = app
        self.metrics = metrics
        self.route_of = route_of

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _INCOMING_ID.match(incoming) else secrets.token_hex(8)
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                # Problem responses name the id themselves (a 500 is rendered outside this
                # middleware, by Starlette's outermost one); never send it twice.
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = self.route_of(scope)
            self.metrics.request_latency.labels(route, scope["method"], str(status)).observe(
                elapsed
            )
            log.info(
                "%s %s %s",
                scope["method"],
                route,
                status,
                extra={"duration_ms": round(elapsed * 1000, 2), "client": _client(scope)},
            )
            request_id.reset(token)


def _client(scope: Scope) -> str | None:
    client = scope.get("client")
    return str(client[0]) if client else None
