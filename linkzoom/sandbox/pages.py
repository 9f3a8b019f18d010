"""Human-facing pages: the index, and the join/start links that meetings hand out."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .clock import zoom_time
from .runtime import Sandbox
from .urls import base_url


def page_routes(sandbox: Sandbox, templates: Jinja2Templates) -> list[Route]:
    """``/``, ``/j/{id}`` (join) and ``/s/{id}`` (start), all saying the meeting is simulated."""

    async def index(request: Request) -> Response:
        context = {"base": base_url(request), "client_id": sandbox.config.client_id}
        return templates.TemplateResponse(request, "index.html", context)

    def meeting_page(heading: str) -> Callable[[Request], Awaitable[Response]]:
        async def page(request: Request) -> Response:
            meeting_id = request.path_params["meeting_id"]
            meeting = sandbox.meetings.meetings.get(meeting_id)
            if meeting is not None and meeting.deleted:
                meeting = None
            start = zoom_time(meeting.start_time) if meeting and meeting.start_time else None
            context = {
                "heading": heading,
                "meeting": meeting,
                "meeting_id": meeting_id,
                "start_time": start,
            }
            status = 200 if meeting is not None else 404
            headers = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
            return templates.TemplateResponse(request, "join.html", context, status, headers)

        return page

    return [
        Route("/", index, methods=["GET"]),
        Route("/j/{meeting_id:int}", meeting_page("Simulated Zoom meeting"), methods=["GET"]),
        Route("/s/{meeting_id:int}", meeting_page("Start simulated meeting"), methods=["GET"]),
    ]
