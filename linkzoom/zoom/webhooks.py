"""Zoom webhook intake: verify, de-duplicate, dispatch.

Zoom retries a delivery it thinks failed (after 5, 20 and 60 minutes) with the same body, so a
delivery is identified by the digest of its raw body. Handlers must finish well inside Zoom's
3-second budget: they only touch our database; anything that calls Zoom is queued.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from linkzoom.clock import Clock
from linkzoom.metrics import Metrics
from linkzoom.problems import BadRequest, ServiceUnavailable
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.models import WebhookDelivery
from linkzoom.zoom.webhook_signature import url_validation_response, verify

log = logging.getLogger(__name__)

Handler = Callable[[Mapping[str, Any]], Awaitable[None]]
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
        if not await self._first_delivery(body, event):
            self._metrics.webhooks.labels(event, "duplicate").inc()
            return {"status": "duplicate"}
        handler = self._handlers.get(event)
        if handler is None:
            self._metrics.webhooks.labels(event, "ignored").inc()
            return {"status": "ignored"}
        try:
            await handler(payload)
        except BaseException:
            # Forget the delivery so Zoom's retry of it is handled rather than dropped.
            await self._forget(body)
            self._metrics.webhooks.labels(event, "failed").inc()
            raise
        self._metrics.webhooks.labels(event, "handled").inc()
        return {"status": "ok"}

    async def _first_delivery(self, body: bytes, event: str) -> bool:
        try:
            async with transaction(self._sessions) as session:
                session.add(
                    WebhookDelivery(
                        digest=hashlib.sha256(body).digest(),
                        event=event[:100],
                        received_at=self._clock(),
                    )
                )
        except IntegrityError:
            return False
        return True

    async def _forget(self, body: bytes) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.digest == hashlib.sha256(body).digest()
                )
            )

    async def prune(self) -> None:
        async with transaction(self._sessions) as session:
            await session.execute(
                delete(WebhookDelivery).where(
                    WebhookDelivery.received_at < self._clock() - DEDUPE_HORIZON
                )
            )
