"""Zoom REST API v2: ``/v2/users/{userId}`` and the meeting endpoints.

Each handler first awaits the request body (if any) and then does everything else synchronously:
token check, per-second budget, daily cap, validation and the state change. No request can
observe another's half-done update.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .errors import SandboxError, invalid_occurrence, user_not_found, validation_failed
from .meeting_book import LIST_TYPES
from .records import User
from .runtime import Sandbox
from .urls import base_url
from .validation import decode_object, parse_meeting_input
from .webhooks import meeting_deleted, meeting_updated
from .wire import list_item_json, meeting_json, user_json

Handler = Callable[[Request, User, bytes], Response]
MAX_PAGE_SIZE = 300


def api_routes(sandbox: Sandbox) -> list[Route]:
    """The REST routes bound to ``sandbox``."""

    def operation(name: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            body = await request.body()
            try:
                user = sandbox.authenticate(request.headers.get("authorization"))
                sandbox.admit(user, name)
                response = handler(request, user, body)
            except SandboxError as exc:
                response = JSONResponse(exc.body, exc.status, exc.headers)
            sandbox.stats.api_call(name, response.status_code)
            return response

        return endpoint

    def own_user(request: Request, user: User) -> None:
        user_id = request.path_params["user_id"]
        if user_id != "me" and user_id != user.id and user_id.lower() != user.email:
            raise user_not_found(user_id)

    def get_user(request: Request, user: User, body: bytes) -> Response:
        own_user(request, user)
        return JSONResponse(user_json(user, base_url=base_url(request)))

    def create_meeting(request: Request, user: User, body: bytes) -> Response:
        own_user(request, user)
        sandbox.check_daily_write(user)
        data = parse_meeting_input(decode_object(body))
        meeting = sandbox.meetings.create(host=user, data=data, now=sandbox.now())
        sandbox.record_write(user)
        sandbox.changed()
        content = meeting_json(meeting, host=user, base_url=base_url(request), now=sandbox.now())
        return JSONResponse(content, status_code=201)

    def get_meeting(request: Request, user: User, body: bytes) -> Response:
        meeting = sandbox.meetings.find(request.path_params["meeting_id"], host_id=user.id)
        occurrence_id = request.query_params.get("occurrence_id")
        occurrence = sandbox.meetings.occurrence(meeting, occurrence_id) if occurrence_id else None
        show_previous = request.query_params.get("show_previous_occurrences") == "true"
        content = meeting_json(
            meeting,
            host=user,
            base_url=base_url(request),
            now=sandbox.now(),
            occurrence=occurrence,
            show_previous=show_previous,
        )
        return JSONResponse(content)

    def update_meeting(request: Request, user: User, body: bytes) -> Response:
        meeting = sandbox.meetings.find(request.path_params["meeting_id"], host_id=user.id)
        sandbox.check_daily_write(user)
        data = parse_meeting_input(decode_object(body))
        occurrence_id = request.query_params.get("occurrence_id")
        if occurrence_id:
            if meeting.type != 8:
                raise invalid_occurrence()
            change = sandbox.meetings.update_occurrence(meeting, occurrence_id, data)
        else:
            change = sandbox.meetings.update(meeting, data, now=sandbox.now())
        sandbox.record_write(user)
        sandbox.changed()
        if sandbox.config.webhook_api_events and change.new:
            sandbox.webhooks.send(meeting_updated(meeting, user, change, now=sandbox.now()))
        return Response(status_code=204)

    def delete_meeting(request: Request, user: User, body: bytes) -> Response:
        meeting = sandbox.meetings.find(request.path_params["meeting_id"], host_id=user.id)
        for flag in ("schedule_for_reminder", "cancel_meeting_reminder"):
            if request.query_params.get(flag, "false") not in ("true", "false"):
                raise validation_failed([{"field": flag, "message": "Must be true or false."}])
        occurrence_id = request.query_params.get("occurrence_id")
        if occurrence_id:
            occurrence = sandbox.meetings.delete_occurrence(meeting, occurrence_id)
            occurrences = [occurrence]
        else:
            sandbox.meetings.delete(meeting)
            occurrences = []
        sandbox.changed()
        if sandbox.config.webhook_api_events:
            event = meeting_deleted(meeting, user, now=sandbox.now(), occurrences=occurrences)
            sandbox.webhooks.send(event)
        return Response(status_code=204)

    def list_meetings(request: Request, user: User, body: bytes) -> Response:
        own_user(request, user)
        query = request.query_params
        list_type = query.get("type", "scheduled")
        page_size_text = query.get("page_size", "30")
        if not page_size_text.isdigit() or int(page_size_text) < 1:
            raise validation_failed([{"field": "page_size", "message": "Invalid field."}])
        if list_type not in LIST_TYPES:
            raise validation_failed([{"field": "type", "message": "Invalid field."}])
        page_size = min(int(page_size_text), MAX_PAGE_SIZE)
        page = sandbox.meetings.list_page(
            user.id,
            list_type=list_type,
            page_size=page_size,
            page_token=query.get("next_page_token") or None,
            now=sandbox.now(),
        )
        base = base_url(request)
        return JSONResponse(
            {
                "page_size": page_size,
                "total_records": page.total_records,
                "next_page_token": page.next_page_token,
                "meetings": [list_item_json(m, base_url=base) for m in page.meetings],
            }
        )

    return [
        Route("/v2/users/{user_id}", operation("users.me", get_user), methods=["GET"]),
        Route(
            "/v2/users/{user_id}/meetings",
            operation("meetings.create", create_meeting),
            methods=["POST"],
        ),
        Route(
            "/v2/users/{user_id}/meetings",
            operation("meetings.list", list_meetings),
            methods=["GET"],
        ),
        Route("/v2/meetings/{meeting_id}", operation("meetings.get", get_meeting), methods=["GET"]),
        Route(
            "/v2/meetings/{meeting_id}",
            operation("meetings.update", update_meeting),
            methods=["PATCH"],
        ),
        Route(
            "/v2/meetings/{meeting_id}",
            operation("meetings.delete", delete_meeting),
            methods=["DELETE"],
        ),
    ]
