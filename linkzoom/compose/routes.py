"""HTTP routes of the compose capability (``/api/v1/compose/meetings``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linkzoom.compose import idempotency, inputs
from linkzoom.compose.bodies import ComposeBody, ComposedAnswer, SentAnswer, SentBody
from linkzoom.compose.models import ComposedMeeting, SentMeeting
from linkzoom.compose.service import ComposeService
from linkzoom.http.auth import api_caller
from linkzoom.http.typed_body import ModelResponse, read_model
from linkzoom.http.wire import NO_STORE
from linkzoom.http.wire import iso as _iso
from linkzoom.zoom.bodies import InvitationText

# Answers carry a passcode and a join link: no cache may keep them.


def _service(request: Request) -> ComposeService:
    return ComposeService.from_runtime(request.app.state.runtime)


async def create_meeting(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    order = await read_model(request, ComposeBody, inputs.order_of, allow_empty=True)
    meeting = await _service(request).create(
        caller.user, order, idempotency_key=request.headers.get(idempotency.HEADER)
    )
    return ModelResponse(_composed(meeting), status_code=201, headers=NO_STORE)


async def meeting_sent(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    now = request.app.state.runtime.clock()
    requested = await read_model(
        request, SentBody, lambda body: inputs.sent_at_of(body, now=now), allow_empty=True
    )
    meeting = await _service(request).sent(
        caller.user.id, request.path_params["meeting_id"], requested
    )
    return ModelResponse(_sent(meeting), headers=NO_STORE)


async def delete_meeting(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    await _service(request).discard(caller.user.id, request.path_params["meeting_id"])
    return Response(status_code=204)


def _composed(meeting: ComposedMeeting) -> ComposedAnswer:
    return ComposedAnswer(
        id=meeting.id,
        zoom_meeting_id=meeting.zoom_meeting_id,
        join_url=meeting.join_url,
        passcode=meeting.passcode,
        start_time=_iso(meeting.start_time),
        duration_minutes=meeting.duration_minutes,
        timezone=meeting.timezone,
        invitation=InvitationText(text=meeting.invitation.text, html=meeting.invitation.html),
    )


def _sent(meeting: SentMeeting) -> SentAnswer:
    return SentAnswer(
        id=meeting.id,
        zoom_meeting_id=meeting.zoom_meeting_id,
        join_url=meeting.join_url,
        start_time=_iso(meeting.start_time),
        duration_minutes=meeting.duration_minutes,
        timezone=meeting.timezone,
        sent_at=_iso(meeting.sent_at),
        moved=meeting.moved,
    )


routes = [
    Route("/api/v1/compose/meetings", create_meeting, methods=["POST"]),
    Route("/api/v1/compose/meetings/{meeting_id}/sent", meeting_sent, methods=["POST"]),
    Route("/api/v1/compose/meetings/{meeting_id}", delete_meeting, methods=["DELETE"]),
]
