"""Zoom event notifications: payload builders, the signature, and background delivery.

Zoom signs ``v0:{x-zm-request-timestamp}:{raw body}`` with HMAC-SHA256 under the app's secret
token and sends ``x-zm-signature: v0=<hex>`` (zoom/webhook-sample, rivet-javascript). The header
timestamp is real Unix seconds, so a receiver's freshness check works even when the sandbox
clock was moved; ``event_ts`` in the body is the sandbox clock in milliseconds.

Delivery never blocks the request that caused it: each event is POSTed by its own task with
Zoom's 3-second answer budget, once (Zoom's retries after 5/20/60 minutes are not simulated),
and the outcome is kept in :attr:`WebhookDispatcher.deliveries` for tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import secrets
import time
from collections import deque
from datetime import datetime
from typing import Any

import httpx

from .clock import epoch_ms, zoom_time
from .meeting_book import Change
from .records import Meeting, Occurrence, User
from .stats import Stats
from .wire import webhook_object

DELIVERY_TIMEOUT = 3.0
DELIVERY_LOG_SIZE = 1_000


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``x-zm-signature`` for ``body`` sent at ``timestamp`` (Unix seconds, as text)."""
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def meeting_deleted(
    meeting: Meeting, host: User, *, now: datetime, occurrences: list[Occurrence] | None = None
) -> dict[str, Any]:
    obj = webhook_object(meeting)
    if occurrences:
        obj["occurrences"] = [
            {"occurrence_id": o.occurrence_id, "start_time": zoom_time(o.start_time)}
            for o in occurrences
        ]
    return _event("meeting.deleted", now, _operator(host) | {"object": obj})


def meeting_updated(
    meeting: Meeting, host: User, change: Change, *, now: datetime
) -> dict[str, Any]:
    ids = {"id": meeting.id, "uuid": meeting.uuid}
    payload = _operator(host) | {
        "object": ids | {"host_id": meeting.host_id} | change.new,
        "old_object": ids | change.old,
        "time_stamp": epoch_ms(now),
    }
    if change.occurrence_ids:
        payload["scope"] = "single"
    return _event("meeting.updated", now, payload)


def app_deauthorized(user: User, client_id: str, *, now: datetime) -> dict[str, Any]:
    ts = epoch_ms(now)
    payload = {
        "user_id": user.id,
        "account_id": user.account_id,
        "client_id": client_id,
        "deauthorization_time": zoom_time(now),
        "signature": secrets.token_hex(32),
        "event_ts": ts,
    }
    return {"event": "app_deauthorized", "event_ts": ts, "payload": payload}


def _operator(host: User) -> dict[str, Any]:
    return {"account_id": host.account_id, "operator": host.email, "operator_id": host.id}


def _event(name: str, now: datetime, payload: dict[str, Any]) -> dict[str, Any]:
    return {"event": name, "event_ts": epoch_ms(now), "payload": payload}


class WebhookDispatcher:
    """Signs and POSTs events in background tasks; see the module docstring."""

    def __init__(
        self,
        *,
        url: str | None,
        secret: str | None,
        stats: Stats,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.url = url
        self._secret = secret
        self._stats = stats
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._pending: set[asyncio.Task[None]] = set()
        self.deliveries: deque[dict[str, Any]] = deque(maxlen=DELIVERY_LOG_SIZE)

    def send(self, event: dict[str, Any]) -> None:
        """Queue ``event`` for delivery; a no-op when no webhook URL is configured."""
        if self.url is None:
            return
        body = json.dumps(event, separators=(",", ":")).encode()
        task = asyncio.get_running_loop().create_task(self._deliver(self.url, event, body))
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def drain(self) -> None:
        """Wait until every queued delivery has finished (for tests)."""
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)

    async def aclose(self) -> None:
        try:
            await asyncio.wait_for(self.drain(), DELIVERY_TIMEOUT + 1)
        except TimeoutError:
            for task in self._pending:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _deliver(self, url: str, event: dict[str, Any], body: bytes) -> None:
        timestamp = str(int(time.time()))
        headers = {
            "content-type": "application/json",
            "user-agent": "Zoom Marketplace/1.0a",
            "x-zm-request-timestamp": timestamp,
        }
        if self._secret is not None:
            headers["x-zm-signature"] = sign(self._secret, timestamp, body)
        record: dict[str, Any] = {
            "event": event["event"],
            "url": url,
            "timestamp": timestamp,
            "status_code": None,
            "error": None,
            "body": event,
        }
        if self._client is None:
            self._client = httpx.AsyncClient(transport=self._transport, timeout=DELIVERY_TIMEOUT)
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            record["error"] = f"{type(exc).__name__}: {exc}"
            self._stats.webhooks_failed += 1
        else:
            record["status_code"] = response.status_code
            if response.status_code not in (200, 204):
                self._stats.webhooks_failed += 1
        self._stats.webhooks_sent += 1
        self._stats.webhooks[event["event"]] += 1
        self.deliveries.append(record)
