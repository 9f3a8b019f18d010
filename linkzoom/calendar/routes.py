"""HTTP routes of the calendar capability: ``/api/v1/calendar/events/{event_key}/zoom``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from linkzoom.calendar import rolling
from linkzoom.calendar.bodies import (
    MAX_CALENDAR_BYTES,
    MAX_EVENT_KEY,
    BindingAnswer,
    EventBody,
    RecurrenceWindow,
)
from linkzoom.calendar.event import CalendarEvent
from linkzoom.calendar.ical import event_from_ical
from linkzoom.calendar.json_input import event_of
from linkzoom.calendar.service import CalendarService, mirror_of
from linkzoom.calendar.store import Binding
from linkzoom.http.auth import Caller, api_caller
from linkzoom.http.body import read_bytes
from linkzoom.http.typed_body import ModelResponse, read_model
from linkzoom.http.wire import NO_STORE
from linkzoom.http.wire import iso as _iso
from linkzoom.problems import UnsupportedMediaType, ValidationFailed
from linkzoom.zoom.bodies import InvitationText
from linkzoom.zoom.invitation import InvitationDetails, build
from linkzoom.zoom.text import has_control

PATH = "/api/v1/calendar/events/{event_key:path}/zoom"
# Answers carry a passcode and a join link: no cache may keep them.


def _service(request: Request) -> CalendarService:
    return mirror_of(request.app.state.runtime).service


def _event_key(request: Request) -> str:
    key: str = request.path_params["event_key"]
    if not key or len(key) > MAX_EVENT_KEY:
        raise ValidationFailed.one("event_key", f"must be 1 to {MAX_EVENT_KEY} characters")
    if has_control(key):  # no calendar's ids hold them; no database takes a NUL
        raise ValidationFailed.one("event_key", "must not contain control characters")
    return key


async def _event(request: Request, caller: Caller) -> CalendarEvent:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type == "text/calendar":
        limit: int = request.app.state.settings.max_body_bytes
        body = await read_bytes(request, limit)
        if len(body) > MAX_CALENDAR_BYTES:
            raise ValidationFailed.one("body", f"must be at most {MAX_CALENDAR_BYTES} bytes")
        return event_from_ical(body, default_timezone=caller.user.timezone)
    if media_type == "application/json" or media_type.endswith("+json"):
        return await read_model(request, EventBody, event_of)
    raise UnsupportedMediaType("Send the event as application/json or text/calendar.")


async def put_zoom(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    event_key = _event_key(request)
    event = await _event(request, caller)
    service = _service(request)
    answer = await service.put(user_id=caller.user.id, event_key=event_key, event=event)
    return await _answer(service, caller, answer.binding, 201 if answer.created else 200)


async def get_zoom(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    service = _service(request)
    binding = await service.get(user_id=caller.user.id, event_key=_event_key(request))
    return await _answer(service, caller, binding, 200)


async def _answer(
    service: CalendarService, caller: Caller, binding: Binding, status: int
) -> Response:
    passcode = await service.passcode(binding)
    body = binding_answer(binding, passcode, caller.user.display_name)
    return ModelResponse(body, status_code=status, headers=NO_STORE)


async def delete_zoom(request: Request) -> Response:
    caller = await api_caller(request, zoom_feature=True)
    deleting = await _service(request).delete(user_id=caller.user.id, event_key=_event_key(request))
    return Response(status_code=202 if deleting else 204)


def _window(binding: Binding) -> RecurrenceWindow | None:
    """For a series longer than one Zoom meeting: which of its occurrences Zoom holds now, and
    when linkzoom moves the window on (``null`` once it reaches the series' end)."""
    desired = binding.desired
    if desired.window is None:
        return None
    return RecurrenceWindow(
        from_=_iso(desired.series.start),
        through=_iso(rolling.held_through(desired)),
        moves_on_at=_iso(rolling.next_roll(desired)),
    )


def binding_answer(binding: Binding, passcode: str | None, host_name: str) -> BindingAnswer:
    """The answer of all three calls: the meeting's state and its join details."""
    confirmed = binding.confirmed
    series = binding.desired.series
    invitation = None
    if confirmed is not None:
        details = build(
            InvitationDetails(
                marker=binding.event_key,
                marker_kind="event",
                host_name=host_name,
                topic=series.topic,
                start_time=None,  # the event shows its own time (and its recurrence)
                timezone=series.timezone,
                join_url=confirmed.join_url,
                meeting_id=confirmed.meeting_id,
                passcode=passcode,
            )
        )
        invitation = InvitationText(text=details.text, html=details.html)
    return BindingAnswer(
        event_key=binding.event_key,
        status=binding.status,  # type: ignore[arg-type]  # one of models' four statuses
        last_error=binding.last_error,
        link_changed=binding.link_changed,
        zoom_meeting_id=confirmed.meeting_id if confirmed is not None else None,
        join_url=confirmed.join_url if confirmed is not None else None,
        passcode=passcode if confirmed is not None else None,
        location=confirmed.join_url if confirmed is not None else None,
        invitation=invitation,
        topic=series.topic,
        start_time=_iso(series.start),
        duration_minutes=series.duration,
        timezone=series.timezone,
        recurrence_mapping=binding.desired.mapping,  # type: ignore[arg-type]
        recurrence_reason=binding.desired.reason,
        recurrence_window=_window(binding),
    )


routes: list[BaseRoute] = [
    Route(PATH, put_zoom, methods=["PUT"]),
    Route(PATH, get_zoom, methods=["GET"]),
    Route(PATH, delete_zoom, methods=["DELETE"]),
]
