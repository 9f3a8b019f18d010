"""The calendar routes and Microsoft Graph's webhook as the OpenAPI document describes them,
with their links (PUT → GET, DELETE of the same event)."""

from __future__ import annotations

from linkzoom.calendar.bodies import MAX_CALENDAR_BYTES, MAX_EVENT_KEY, BindingAnswer, EventBody
from linkzoom.calendar.sources.graph_notifications import MAX_TOKEN, NOTIFICATIONS_PATH
from linkzoom.http.operation import (
    DATABASE,
    JSON_BODY,
    NO_STORE,
    ZOOM_CALLS,
    ZOOM_FEATURE,
    Operation,
    Parameter,
    Reply,
)
from linkzoom.http.service_bodies import GraphNotifications
from linkzoom.problems import (
    BadRequest,
    NotFound,
    PayloadTooLarge,
    SealedDataUnreadable,
    ValidationFailed,
)

EVENT_KEY = Parameter(
    name="event_key",
    where="path",
    required=True,
    schema={"type": "string", "minLength": 1, "maxLength": MAX_EVENT_KEY},
    description="The calendar's own id of the event (iCalendar UID, Exchange item id, or the "
    "add-in's UUID), percent-encoded.",
)
_EVENT_LINKS = {
    "getZoom": {
        "operationId": "calendarZoomGet",
        "parameters": {"event_key": "$request.path.event_key"},
    },
    "deleteZoom": {
        "operationId": "calendarZoomDelete",
        "parameters": {"event_key": "$request.path.event_key"},
    },
}
_CALENDAR_PATH = "/api/v1/calendar/events/{event_key}/zoom"

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        method="PUT",
        path=_CALENDAR_PATH,
        operation_id="calendarZoomPut",
        summary="Zoom on for this event: its meeting is created now, later edits mirrored.",
        tag="calendar",
        bearer=True,
        request=EventBody,
        other_media={
            "text/calendar": {
                "schema": {
                    "type": "string",
                    "maxLength": MAX_CALENDAR_BYTES,
                    "description": "One VCALENDAR: the master VEVENT, its overrides and the "
                    "VTIMEZONEs they use.",
                },
            }
        },
        parameters=(EVENT_KEY,),
        replies=(
            Reply(
                status=201,
                description="Created.",
                model=BindingAnswer,
                headers=NO_STORE,
                links=_EVENT_LINKS,
            ),
            Reply(
                status=200,
                description="Updated.",
                model=BindingAnswer,
                headers=NO_STORE,
                links=_EVENT_LINKS,
            ),
        ),
        problems=(*ZOOM_FEATURE, *JSON_BODY, NotFound, *ZOOM_CALLS),
    ),
    Operation(
        method="GET",
        path=_CALENDAR_PATH,
        operation_id="calendarZoomGet",
        summary="The event's Zoom meeting and its state.",
        tag="calendar",
        bearer=True,
        parameters=(EVENT_KEY,),
        replies=(
            Reply(status=200, description="The meeting.", model=BindingAnswer, headers=NO_STORE),
        ),
        problems=(*ZOOM_FEATURE, ValidationFailed, NotFound, SealedDataUnreadable),
    ),
    Operation(
        method="DELETE",
        path=_CALENDAR_PATH,
        operation_id="calendarZoomDelete",
        summary="Zoom off for this event: its meeting is (being) deleted.",
        tag="calendar",
        bearer=True,
        parameters=(EVENT_KEY,),
        replies=(
            Reply(status=202, description="Being deleted."),
            Reply(status=204, description="Deleted."),
        ),
        problems=(*ZOOM_FEATURE, ValidationFailed, NotFound, *ZOOM_CALLS),
    ),
    Operation(
        method="POST",
        path=NOTIFICATIONS_PATH,
        operation_id="graphWebhook",
        summary="Microsoft Graph's change and lifecycle notifications, or its validation.",
        tag="webhooks",
        request_schema=GraphNotifications.SCHEMA,
        request_required=False,
        parameters=(
            Parameter(
                name="validationToken",
                where="query",
                schema={"type": "string", "minLength": 1, "maxLength": MAX_TOKEN},
                description="The subscription handshake: answered with the token itself.",
            ),
        ),
        replies=(
            Reply(status=200, description="The validation token.", media_type="text/plain"),
            Reply(status=202, description="Accepted (valid or not: a forger learns nothing)."),
        ),
        problems=(BadRequest, PayloadTooLarge, ValidationFailed, *DATABASE),
    ),
)
