"""``POST /webhooks/graph``: Microsoft Graph's change and lifecycle notifications.

Two kinds of request arrive here ("Receive change notifications through webhooks", Microsoft
Graph docs):

* the validation handshake, when a subscription is made or renewed: ``?validationToken=…``,
  answered ``200`` with the token as ``text/plain`` (decoded, within 10 seconds);
* notifications: ``{"value": [{subscriptionId, clientState, changeType | lifecycleEvent,
  …}]}``, answered ``202`` within 3 seconds. Each one only makes its mailbox due
  (:func:`linkzoom.calendar.sources.subscriptions.notified`); the worker's delta query then
  reads what changed. A notification whose client state is wrong is ignored, and the answer
  is the same ``202`` either way, so a forger learns nothing.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from linkzoom.calendar.sources import subscriptions
from linkzoom.http.body import read_bytes
from linkzoom.problems import BadRequest, ValidationFailed
from linkzoom.store.db import transaction
from linkzoom.zoom.text import has_control

log = logging.getLogger(__name__)

NOTIFICATIONS_PATH = "/webhooks/graph"
BODY_LIMIT = 1_000_000  # Graph batches up to about a hundred notifications
MAX_TOKEN = 2_048
MAX_FIELD = 256


async def receive(request: Request) -> Response:
    token = request.query_params.get("validationToken")
    if token is not None:
        if not token or len(token) > MAX_TOKEN:
            raise ValidationFailed.one("validationToken", f"must be 1 to {MAX_TOKEN} characters")
        return PlainTextResponse(token, headers={"X-Content-Type-Options": "nosniff"})
    body = await read_bytes(request, BODY_LIMIT)
    try:
        data = json.loads(body)
    except ValueError:
        raise BadRequest("The body is not JSON.") from None
    values = data.get("value") if isinstance(data, dict) else None
    if not isinstance(values, list):
        raise ValidationFailed.one("value", "must be a list of notifications")
    runtime = request.app.state.runtime
    accepted = 0
    for item in values:
        fields = _fields(item)
        if fields is None:
            continue
        subscription_id, client_state, lifecycle = fields
        async with transaction(runtime.sessions) as session:
            accepted += await subscriptions.notified(
                session,
                subscription_id=subscription_id,
                client_state=client_state,
                lifecycle_event=lifecycle,
                now=runtime.clock(),
            )
    if accepted < len(values):
        log.info(
            "graph notifications ignored",
            extra={"received": len(values), "ignored": len(values) - accepted},
        )
    return Response(status_code=202)


def _fields(item: Any) -> tuple[str, str, str | None] | None:
    if not isinstance(item, dict):
        return None
    subscription_id, client_state = item.get("subscriptionId"), item.get("clientState")
    lifecycle = item.get("lifecycleEvent")
    if not isinstance(subscription_id, str) or not isinstance(client_state, str):
        return None
    if not 0 < len(subscription_id) <= MAX_FIELD or len(client_state) > MAX_FIELD:
        return None
    lifecycle = lifecycle if isinstance(lifecycle, str) and len(lifecycle) <= MAX_FIELD else None
    # No subscription of ours holds one; and a NUL in a PostgreSQL query was a 500.
    if any(has_control(text) for text in (subscription_id, client_state, lifecycle or "")):
        return None
    return subscription_id, client_state, lifecycle


routes = [Route(NOTIFICATIONS_PATH, receive, methods=["POST"])]
