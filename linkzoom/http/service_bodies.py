"""Bodies of the service's own routes (health, index, the add-in's well-known file) and of
the webhooks, for the OpenAPI document. The webhooks read their bodies themselves (a signature
covers the exact bytes; Graph's batches are judged item by item), so theirs are plain schemas."""

from __future__ import annotations

from typing import Any, ClassVar

from linkzoom.http.typed_body import Answer


class Health(Answer, frozen=True):
    status: str


class Readiness(Answer, frozen=True):
    status: str
    zoom_sandboxed: bool


class Index(Answer, frozen=True):
    name: str
    version: str
    links: dict[str, str]


class AllowedOrigins(Answer, frozen=True):
    allowed: list[str]


class ZoomEvent:
    """``POST /webhooks/zoom``: ``{event, payload, event_ts}`` as Zoom sends it."""

    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["event"],
        "properties": {
            "event": {"type": "string", "examples": ["meeting.deleted"]},
            "event_ts": {"type": "integer"},
            "payload": {"type": "object"},
        },
    }


class GraphNotifications:
    """``POST /webhooks/graph``: a batch of change or lifecycle notifications."""

    SCHEMA: ClassVar[dict[str, Any]] = {
        "type": "object",
        "required": ["value"],
        "properties": {
            "value": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "subscriptionId": {"type": "string"},
                        "clientState": {"type": "string"},
                        "changeType": {"type": "string"},
                        "lifecycleEvent": {"type": "string"},
                    },
                },
            }
        },
    }
