"""Zoom webhook intake: verify, de-duplicate, dispatch.

Zoom retries a delivery it thinks failed (after 5, 20 and 60 minutes) with the same body, so a
delivery is identified by the digest of its raw body. Handlers must finish well inside Zoom's
3-second budget: they only touch our database; anything that calls Zoom is queued.

The delivery's dedupe row and its handler's writes are one transaction: a crash (or a failing
handler) between them rolls back both, so Zoom's retry is handled, never dropped as a duplicate
of an event whose effect (an ``app_deauthorized`` erasing tokens, say) was never committed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.clock import Clock
from linkzoom.metrics import Metrics
from linkzoom.problems import BadRequest, ServiceUnavailable
from linkzoom.store.db import SessionFactory, dialect_insert, transaction
from linkzoom.store.models import WebhookDelivery
from linkzoom.zoom.webhook_signature import url_validation_response, verify

log = logging.getLogger(__name__)

# A handler writes in the intake's transaction (the one that records the delivery) and never
# commits; it must not call Zoom.
Handler = Callable[[AsyncSession, Mapping[str, Any]], Awaitable[None]]
DEDUPE_HORIZON = timedelta(days=7)


class WebhookIntake:
    def __init__(
        self,
        sessions: SessionFactory,
        *,
        secret: Callable[[], str | None],
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._sessions = sessions
        self._secret = secret
        self._clock = clock
        self._metrics = metrics
        self._handlers: dict[str, Handler] = {}

    def on(self, event: str, handler: Handler) -> None:
        self._handlers[event] = handler

    async def receive(self, body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
        secret = self._secret()
        if not secret:
            raise ServiceUnavailable("Zoom webhooks are not configured (no webhook secret).")
        verify(
            secret,
            headers.get("x-zm-request-timestamp"),
            headers.get("x-zm-signature"),
            body,
            now=self._clock(),
        )
        try:
            message = json.loads(body)
            event = message["event"]
            payload = message.get("payload") or {}
        except (ValueError, KeyError, TypeError):
            raise BadRequest("The webhook body is not a Zoom event.") from None
        if not isinstance(event, str) or not isinstance(payload, dict):
            raise BadRequest("The webhook body is not a Zoom event.")
        if event == "endpoint.url_validation":
            plain = payload.get("plainToken")
            if not isinstance(plain, str) or not plain:
                raise BadRequest("url_validation without a plainToken.")
            self._metrics.webhooks.labels(event, "validated").inc()
            return url_validation_response(secret, plain)
        handler = self._handlers.get(event)
        try:
            async with transaction(self._sessions) as session:
                if not await self._first_delivery(session, body, event):
                    outcome = "duplicate"
                elif handler is None:
                    outcome = "ignored"
                else:
                    await handler(session, payload)
                    outcome = "handled"
        except BaseException:
            self._metrics.webhooks.labels(event, "failed").inc()
            raise
        self._metrics.webhooks.labels(event, outcome).inc()
        return {"status": "ok" if outcome == "handled" else outcome}

    async def _first_delivery(self, session: AsyncSession, body: bytes, event: str) -> bool:
        """Record the delivery; ``False`` when it was recorded before. A concurrent copy
        waits on this row's lock and finds it once we commit (or records it if we roll back)."""
        insert = dialect_insert(session)
        recorded = await session.execute(
            insert(WebhookDelivery)
            .values(
                digest=hashlib.sha256(body).digest(), event=event[:100], received_at=self._clock()
            )
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(WebhookDelivery.digest)
        )
        return recorded.first() is not None

    async def prune(self) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.received_at < self._clock() - DEDUPE_HORIZON
                )
            )
