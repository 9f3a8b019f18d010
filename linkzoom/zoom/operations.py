"""The Zoom authorization routes and Zoom's webhook as the OpenAPI document describes them."""

from __future__ import annotations

from linkzoom.grant.consent import CALLBACK_PATH, START_PATH
from linkzoom.http.operation import (
    DATABASE,
    JSON_BODY,
    NO_STORE,
    SIGNED_IN,
    ZOOM_CALLS,
    ZOOM_FEATURE,
    Operation,
    Parameter,
    Reply,
)
from linkzoom.http.service_bodies import ZoomEvent
from linkzoom.problems import (
    AuthorizationFailed,
    BadRequest,
    PayloadTooLarge,
    SealedDataUnreadable,
    WebhookRejected,
)
from linkzoom.zoom.bodies import (
    AuthorizationAnswer,
    ClaimAnswer,
    ClaimBody,
    WebhookAnswer,
    ZoomAccountAnswer,
)

OPERATIONS: tuple[Operation, ...] = (
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
)
