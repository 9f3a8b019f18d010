"""HTTP routes of the compose capability (``/api/v1/compose/meetings``)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from linkzoom.compose import idempotency, inputs
from linkzoom.compose.models import ComposedMeeting, SentMeeting
from linkzoom.compose.service import ComposeService
from linkzoom.http.auth import api_caller
from linkzoom.http.body import read_json
from linkzoom.http.wire import NO_STORE
from linkzoom.http.wire import iso as _iso

# Answers carry a passcode and a join link: no cache may keep them.


def _service(request: Request) -> ComposeService:
    return ComposeService.from_runtime(request.app.state.runtime)


async def create_meeting(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    order = inputs.compose_order(await read_json(request, allow_empty=True))
    meeting = await _service(request).create(
        caller.user, order, idempotency_key=request.headers.get(idempotency.HEADER)
    )
    return JSONResponse(_composed_json(meeting), status_code=201, headers=NO_STORE)


async def meeting_sent(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    data = await read_json(request, allow_empty=True)
    requested = inputs.sent_at(data, now=request.app.state.runtime.clock())
    meeting = await _service(request).sent(
        caller.user.id, request.path_params["meeting_id"], requested
    )
    return JSONResponse(_sent_json(meeting), headers=NO_STORE)


async def delete_meeting(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    await _service(request).discard(caller.user.id, request.path_params["meeting_id"])
    return Response(status_code=204)


def _composed_json(meeting: ComposedMeeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "zoom_meeting_id": meeting.zoom_meeting_id,
        "join_url": meeting.join_url,
        "passcode": meeting.passcode,
        "start_time": _iso(meeting.start_time),
        "duration_minutes": meeting.duration_minutes,
        "timezone": meeting.timezone,
        "invitation": {"text": meeting.invitation.text, "html": meeting.invitation.html},
    }


def _sent_json(meeting: SentMeeting) -> dict[str, Any]:
    return {
        "id": meeting.id,
        "zoom_meeting_id": meeting.zoom_meeting_id,
        "join_url": meeting.join_url,
        "start_time": _iso(meeting.start_time),
        "duration_minutes": meeting.duration_minutes,
        "timezone": meeting.timezone,
        "sent_at": _iso(meeting.sent_at),
        "moved": meeting.moved,
    }


routes = [
    Route("/api/v1/compose/meetings", create_meeting, methods=["POST"]),
    Route("/api/v1/compose/meetings/{meeting_id}/sent", meeting_sent, methods=["POST"]),
    Route("/api/v1/compose/meetings/{meeting_id}", delete_meeting, methods=["DELETE"]),
]
