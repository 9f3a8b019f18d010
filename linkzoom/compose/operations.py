"""The compose routes as the OpenAPI document describes them, with their links (create → sent,
discard by the answer's ``id``)."""

from __future__ import annotations

from linkzoom.compose.bodies import ComposeBody, ComposedAnswer, SentAnswer, SentBody
from linkzoom.compose.idempotency import HEADER as IDEMPOTENCY_KEY
from linkzoom.compose.idempotency import MAX_KEY
from linkzoom.http.operation import (
    JSON_BODY,
    NO_STORE,
    ZOOM_CALLS,
    ZOOM_FEATURE,
    Operation,
    Parameter,
    Reply,
)
from linkzoom.problems import IdempotencyKeyInUse, NotFound

MEETING_ID = Parameter(
    name="meeting_id",
    where="path",
    required=True,
    schema={"type": "string", "minLength": 1},
    description="The ``id`` of the compose answer.",
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

OPERATIONS: tuple[Operation, ...] = (
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
)
