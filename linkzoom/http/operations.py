"""The route table of the HTTP API, as the OpenAPI document (:mod:`.openapi`) describes it.

One entry per route and method: its bodies (the typed models of each capability's
``bodies.py``), its success answers, and every problem the code behind it can raise, read from
the handlers and the services they call. ``tests/http/test_openapi.py`` fails when a route of
the app is missing here. The controller's HTML pages, the add-in's files (``/addin/…``) and the
sandbox mount are not API and are left out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from linkzoom.calendar.bodies import BindingAnswer, EventBody
from linkzoom.calendar.routes import MAX_CALENDAR_BYTES, MAX_EVENT_KEY
from linkzoom.calendar.sources.graph_notifications import MAX_TOKEN, NOTIFICATIONS_PATH
from linkzoom.compose.bodies import ComposeBody, ComposedAnswer, SentAnswer, SentBody
from linkzoom.compose.idempotency import HEADER as IDEMPOTENCY_KEY
from linkzoom.compose.idempotency import MAX_KEY
from linkzoom.http.service_bodies import (
    AllowedOrigins,
    GraphNotifications,
    Health,
    Index,
    Readiness,
    ZoomEvent,
)
from linkzoom.http.typed_body import Answer, Body
from linkzoom.identity.bodies import MeAnswer, SessionAnswer, SessionBody
from linkzoom.problems import (
    AuthorizationFailed,
    BadRequest,
    FeatureDisabled,
    IdempotencyKeyInUse,
    InvalidCredentials,
    NotAuthenticated,
    NotFound,
    PayloadTooLarge,
    Problem,
    ReauthorizationRequired,
    SealedDataUnreadable,
    ServiceUnavailable,
    TooManyAttempts,
    UnsupportedMediaType,
    ValidationFailed,
    WebhookRejected,
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomGrantInvalid,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomNotLinked,
    ZoomRateLimited,
    ZoomRequestInvalid,
    ZoomUnavailable,
)
from linkzoom.zoom.authorization import CALLBACK_PATH, START_PATH
from linkzoom.zoom.bodies import (
    AuthorizationAnswer,
    ClaimAnswer,
    ClaimBody,
    WebhookAnswer,
    ZoomAccountAnswer,
)


@dataclass(frozen=True, kw_only=True)
class Reply:
    """A success answer: a typed JSON body, another media type, or none."""

    status: int
    description: str
    model: type[Answer] | None = None
    media_type: str | None = None  # a body that is not JSON (``text/html``, ``text/plain``)
    headers: tuple[str, ...] = ()  # names in :data:`linkzoom.http.openapi.HEADERS`
    links: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class Parameter:
    name: str
    where: str  # "path", "query" or "header"
    schema: Mapping[str, Any]
    description: str
    required: bool = False


@dataclass(frozen=True, kw_only=True)
class Operation:
    method: str
    path: str  # OpenAPI's template: ``{event_key}``, not Starlette's ``{event_key:path}``
    operation_id: str
    summary: str
    tag: str
    replies: tuple[Reply, ...]
    problems: tuple[type[Problem], ...] = ()
    request: type[Body] | None = None
    request_required: bool = True  # an empty body counts as ``{}`` when not
    request_schema: Mapping[str, Any] | None = None  # a JSON body not decoded into a model
    other_media: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    parameters: tuple[Parameter, ...] = ()
    bearer: bool = False
    html_problems: bool = False  # a browser page: its problems are rendered as HTML


# Problems by what a route does. Every route that reads the database can find it down (503).
DATABASE = (ServiceUnavailable,)
SIGNED_IN = (NotAuthenticated, *DATABASE)
ZOOM_FEATURE = (*SIGNED_IN, FeatureDisabled)
JSON_BODY = (BadRequest, PayloadTooLarge, UnsupportedMediaType, ValidationFailed)
# A call to Zoom on the user's behalf: their grant (vault), Zoom's limits and answers.
ZOOM_CALLS = (
    ZoomNotLinked,
    ReauthorizationRequired,
    ZoomRateLimited,
    ZoomError,
    ZoomMeetingNotFound,
    ZoomMeetingLocked,
    ZoomRequestInvalid,
    ZoomGrantInvalid,
    ZoomAccessTokenRejected,
    ZoomUnavailable,
    SealedDataUnreadable,
)

NO_STORE = ("Cache-Control",)
MEETING_ID = Parameter(
    name="meeting_id",
    where="path",
    required=True,
    schema={"type": "string", "minLength": 1},
    description="The ``id`` of the compose answer.",
)
EVENT_KEY = Parameter(
    name="event_key",
    where="path",
    required=True,
    schema={"type": "string", "minLength": 1, "maxLength": MAX_EVENT_KEY},
    description="The calendar's own id of the event (iCalendar UID, Exchange item id, or the "
    "add-in's UUID), percent-encoded.",
)
_COMPOSED_LINKS = {
    "meetingSent": {
        "operationId": "composeMeetingSent",
        "parameters": {"meeting_id": "$response.body#/id"},
        "description": "The message carrying this meeting was sent.",
    },
    "discardMeeting": {
        "operationId": "composeMeetingDelete",
        "parameters": {"meeting_id": "$response.body#/id"},
        "description": "The draft was discarded.",
    },
}
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
    # --- identity ---------------------------------------------------------------------------
    Operation(
        method="POST",
        path="/api/v1/sessions",
        operation_id="sessionCreate",
        summary="Sign a device in with a username and password; answers its bearer token.",
        tag="identity",
        request=SessionBody,
        replies=(
            Reply(status=201, description="Signed in.", model=SessionAnswer, headers=NO_STORE),
        ),
        problems=(*JSON_BODY, InvalidCredentials, TooManyAttempts, *DATABASE),
    ),
    Operation(
        method="DELETE",
        path="/api/v1/sessions/current",
        operation_id="sessionDelete",
        summary="Sign this device out.",
        tag="identity",
        bearer=True,
        replies=(Reply(status=204, description="Signed out."),),
        problems=SIGNED_IN,
    ),
    Operation(
        method="GET",
        path="/api/v1/me",
        operation_id="me",
        summary="The signed-in user and the state of their Zoom link.",
        tag="identity",
        bearer=True,
        replies=(Reply(status=200, description="The user.", model=MeAnswer),),
        problems=SIGNED_IN,
    ),
    # --- Zoom authorization -------------------------------------------------------------------
    Operation(
        method="POST",
        path="/api/v1/zoom/authorizations",
        operation_id="zoomAuthorizationCreate",
        summary="A one-time URL leading through Zoom consent, for this device to claim.",
        tag="zoom",
        bearer=True,
        replies=(
            Reply(
                status=201,
                description="Open it in a dialog.",
                model=AuthorizationAnswer,
                headers=NO_STORE,
            ),
        ),
        problems=ZOOM_FEATURE,
    ),
    Operation(
        method="POST",
        path="/api/v1/zoom/authorizations/claim",
        operation_id="zoomAuthorizationClaim",
        summary="Store the grant the consent dialog's claim code stands for.",
        tag="zoom",
        bearer=True,
        request=ClaimBody,
        replies=(Reply(status=200, description="Linked.", model=ClaimAnswer, headers=NO_STORE),),
        problems=(*ZOOM_FEATURE, *JSON_BODY, AuthorizationFailed, SealedDataUnreadable),
    ),
    Operation(
        method="DELETE",
        path="/api/v1/zoom/authorization",
        operation_id="zoomAuthorizationDelete",
        summary="Disconnect Zoom: the grant is revoked at Zoom and forgotten.",
        tag="zoom",
        bearer=True,
        replies=(Reply(status=204, description="Disconnected (or was not connected)."),),
        problems=SIGNED_IN,
    ),
    Operation(
        method="GET",
        path="/api/v1/zoom/account",
        operation_id="zoomAccount",
        summary="The connected Zoom account as Zoom reports it now (a live check of the grant).",
        tag="zoom",
        bearer=True,
        replies=(Reply(status=200, description="The Zoom user.", model=ZoomAccountAnswer),),
        problems=(*ZOOM_FEATURE, *ZOOM_CALLS),
    ),
    Operation(
        method="GET",
        path=START_PATH,
        operation_id="oauthStart",
        summary="Where an authorize URL leads: on to Zoom's consent page (a browser page).",
        tag="zoom",
        html_problems=True,
        parameters=(
            Parameter(
                name="ticket",
                where="query",
                required=True,
                schema={"type": "string", "minLength": 1, "maxLength": 200},
                description="From the authorize URL.",
            ),
        ),
        replies=(Reply(status=302, description="To Zoom's consent.", headers=("Location",)),),
        problems=(AuthorizationFailed, *DATABASE),
    ),
    Operation(
        method="GET",
        path=CALLBACK_PATH,
        operation_id="oauthCallback",
        summary="Zoom's redirect after consent: a page handing the claim code to the add-in.",
        tag="zoom",
        html_problems=True,
        parameters=tuple(
            Parameter(name=name, where="query", schema={"type": "string"}, description=text)
            for name, text in (
                ("state", "The state we sent to Zoom."),
                ("code", "Zoom's authorization code."),
                ("error", "Zoom's error, when consent was refused."),
            )
        ),
        replies=(Reply(status=200, description="The page.", media_type="text/html"),),
        problems=(AuthorizationFailed, *DATABASE, *ZOOM_CALLS),
    ),
    Operation(
        method="POST",
        path="/webhooks/zoom",
        operation_id="zoomWebhook",
        summary="Zoom's event notifications, verified by their x-zm-signature.",
        tag="webhooks",
        request_schema=ZoomEvent.SCHEMA,
        parameters=(
            Parameter(
                name="x-zm-signature",
                where="header",
                schema={"type": "string"},
                description="v0=HMAC-SHA256 of v0:{timestamp}:{body} under the webhook secret.",
            ),
            Parameter(
                name="x-zm-request-timestamp",
                where="header",
                schema={"type": "string"},
                description="Seconds since the epoch; refused when stale.",
            ),
        ),
        replies=(Reply(status=200, description="Received.", model=WebhookAnswer),),
        problems=(WebhookRejected, BadRequest, PayloadTooLarge, *DATABASE),
    ),
    # --- compose ------------------------------------------------------------------------------
    Operation(
        method="POST",
        path="/api/v1/compose/meetings",
        operation_id="composeMeetingCreate",
        summary="An instant meeting for the message being written.",
        tag="compose",
        bearer=True,
        request=ComposeBody,
        request_required=False,
        parameters=(
            Parameter(
                name=IDEMPOTENCY_KEY,
                where="header",
                schema={"type": "string", "minLength": 1, "maxLength": MAX_KEY},
                description="A fresh key per press of the button: a retry with the same key "
                "gets the first answer, not a second meeting (1 to 255 printable ASCII).",
            ),
        ),
        replies=(
            Reply(
                status=201,
                description="Created.",
                model=ComposedAnswer,
                headers=NO_STORE,
                links=_COMPOSED_LINKS,
            ),
        ),
        problems=(*ZOOM_FEATURE, *JSON_BODY, IdempotencyKeyInUse, NotFound, *ZOOM_CALLS),
    ),
    Operation(
        method="POST",
        path="/api/v1/compose/meetings/{meeting_id}/sent",
        operation_id="composeMeetingSent",
        summary="The message went out: the meeting starts at the send time.",
        tag="compose",
        bearer=True,
        request=SentBody,
        request_required=False,
        parameters=(MEETING_ID,),
        replies=(
            Reply(status=200, description="Moved, or kept.", model=SentAnswer, headers=NO_STORE),
        ),
        problems=(*ZOOM_FEATURE, *JSON_BODY, NotFound, *ZOOM_CALLS),
    ),
    Operation(
        method="DELETE",
        path="/api/v1/compose/meetings/{meeting_id}",
        operation_id="composeMeetingDelete",
        summary="The draft was discarded: its meeting is deleted at Zoom.",
        tag="compose",
        bearer=True,
        parameters=(MEETING_ID,),
        replies=(Reply(status=204, description="Discarded."),),
        problems=(*ZOOM_FEATURE, NotFound, *ZOOM_CALLS),
    ),
    # --- calendar -----------------------------------------------------------------------------
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
    # --- service ------------------------------------------------------------------------------
    Operation(
        method="GET",
        path="/healthz",
        operation_id="healthz",
        summary="Liveness.",
        tag="service",
        replies=(Reply(status=200, description="Alive.", model=Health),),
    ),
    Operation(
        method="GET",
        path="/readyz",
        operation_id="readyz",
        summary="Readiness: the database answers and every stored secret's key is in the ring.",
        tag="service",
        replies=(Reply(status=200, description="Ready.", model=Readiness),),
        problems=DATABASE,
    ),
    Operation(
        method="GET",
        path="/metrics",
        operation_id="metrics",
        summary="Prometheus metrics.",
        tag="service",
        replies=(
            Reply(status=200, description="Prometheus text format.", media_type="text/plain"),
        ),
    ),
    Operation(
        method="GET",
        path="/",
        operation_id="index",
        summary="Links to the API, health, console and docs (browsers are sent to sign in).",
        tag="service",
        replies=(
            Reply(status=200, description="The index.", model=Index),
            Reply(status=303, description="A browser: to the console.", headers=("Location",)),
        ),
    ),
    Operation(
        method="GET",
        path="/docs",
        operation_id="docs",
        summary="The README: quick start, add-in, configuration, commands (links here).",
        tag="service",
        replies=(Reply(status=200, description="Markdown.", media_type="text/markdown"),),
        problems=(NotFound,),
    ),
    Operation(
        method="GET",
        path="/openapi.json",
        operation_id="openapi",
        summary="This document.",
        tag="service",
        replies=(Reply(status=200, description="OpenAPI 3.1.", media_type="application/json"),),
    ),
    Operation(
        method="GET",
        path="/.well-known/microsoft-officeaddins-allowed.json",
        operation_id="officeAddinsAllowed",
        summary="Origins whose add-in event handlers may call this origin.",
        tag="addin",
        replies=(Reply(status=200, description="The origins.", model=AllowedOrigins),),
    ),
)
