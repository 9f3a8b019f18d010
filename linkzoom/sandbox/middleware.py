"""The ASGI layer in front of every sandbox route.

* ``/_sandbox/*`` answers only loopback peers; anyone else gets a plain 404, as if it did not exist.
* API and OAuth requests (``/v2/*``, ``/oauth/*``) are logged (method, path, query, JSON body;
  OAuth secrets redacted), then delayed by the global and per-fault latency, then answered by a
  matching fault rule if one fires. The body is read once here and replayed to the route.
* A request whose client goes away before its whole body arrived is not handled at all: Zoom
  acts on a request, not on its headers. (Handing the route the part that came made an empty
  create body, so a client killed between its headers and its body left a default "Zoom
  Meeting" behind, which no real Zoom does.)
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .clock import zoom_time
from .faults import default_fault_body, default_fault_headers
from .runtime import Sandbox
from .urls import is_loopback, route_path

REDACTED_FIELDS = frozenset(
    {"code", "refresh_token", "code_verifier", "token", "client_secret", "access_token"}
)


class SandboxMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, *, sandbox: Sandbox) -> None:
        self.app = app
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = route_path(scope)
        if path == "/_sandbox" or path.startswith("/_sandbox/"):
            if not is_loopback(scope):
                await PlainTextResponse("Not Found", status_code=404)(scope, receive, send)
                return
            await self.app(scope, receive, send)
            return
        if not (path.startswith("/v2/") or path.startswith("/oauth/")):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # the client is gone: nothing to act on, no one to answer
        method = str(scope["method"])
        entry = self._log(scope, method, path, body)
        sandbox = self.sandbox
        fault = sandbox.faults.match(method, path)
        delay_ms = sandbox.faults.latency_ms + (fault.latency_ms if fault else 0)
        if delay_ms:
            await asyncio.sleep(delay_ms / 1000)

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        if fault is not None and fault.status is not None:
            sandbox.stats.faults_fired += 1
            if fault.status == 429:
                sandbox.stats.rate_limited["fault"] += 1
            oauth = path.startswith("/oauth/")
            content = (
                fault.body
                if fault.body is not None
                else default_fault_body(fault.status, oauth=oauth)
            )
            headers = fault.headers or default_fault_headers(fault.status)
            response: Response
            if isinstance(content, str):
                response = PlainTextResponse(content, fault.status, headers)
            else:
                response = JSONResponse(content, fault.status, headers)
            await response(scope, receive, record_status)
            return
        await self.app(scope, _replay(body, receive), record_status)

    def _log(self, scope: Scope, method: str, path: str, body: bytes) -> dict[str, Any]:
        query = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        entry: dict[str, Any] = {
            "time": zoom_time(self.sandbox.now()),
            "method": method,
            "path": path,
            "query": _redact(query),
            "status": None,
        }
        if path.startswith("/v2/") and body:
            try:
                entry["json"] = json.loads(body)
            except ValueError:
                entry["body_text"] = body.decode("utf-8", "replace")[:2000]
        elif path.startswith("/oauth/") and body:
            entry["form"] = _redact(dict(parse_qsl(body.decode("latin-1"))))
        self.sandbox.requests.append(entry)
        return entry


def _redact(values: dict[str, str]) -> dict[str, str]:
    return {k: ("<redacted>" if k in REDACTED_FIELDS else v) for k, v in values.items()}


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or ``None`` when the client disconnected before sending all of it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
