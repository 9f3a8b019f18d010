"""One handler renders the whole :mod:`linkzoom.problems` tree.

API clients get ``application/problem+json``; browser pages (controller, OAuth dialog) get an
HTML rendering of the same problem. Anything unexpected becomes a 500 problem with no
traceback in the response; the traceback goes to the log, tied to the request id.
"""

from __future__ import annotations

import html
import json
import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from linkzoom.logs import request_id
from linkzoom.problems import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    Problem,
    ZoomAuthorizationNeeded,
)

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
HTML_PREFIXES = ("/oauth/", "/controller")


class ProblemResponse(JSONResponse):
    """``application/problem+json``. A problem may quote what the client sent, lone surrogates
    included (JSON's ``\\ud800`` escapes decode to them), which UTF-8 cannot carry: they become
    ``?`` rather than the error turning into a 500."""

    media_type = PROBLEM_JSON

    def render(self, content: object) -> bytes:
        text = json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        return text.encode("utf-8", "replace")


def _from_http_exception(exc: HTTPException) -> Problem:
    if exc.status_code == 404:
        return NotFound("No such resource.")
    if exc.status_code == 405:
        return MethodNotAllowed("This method is not allowed here.")
    if exc.status_code == 413:
        return PayloadTooLarge()
    return BadRequest(str(exc.detail) if exc.detail else None)


def render(request: Request, problem: Problem) -> Response:
    public_url: str = request.app.state.settings.public_url
    headers = problem.headers()
    if rid := request_id.get():
        headers["X-Request-ID"] = rid
    if request.url.path.startswith("/controller"):
        from linkzoom.controller.web import problem_page  # the controller's own layout

        return problem_page(request, problem, headers)
    if request.url.path.startswith(HTML_PREFIXES):
        body = (
            "<!doctype html><html lang=en><meta charset=utf-8>"
            '<meta name=viewport content="width=device-width,initial-scale=1">'
            f"<title>{html.escape(problem.title)}</title>"
            f"<main><h1>{html.escape(problem.title)}</h1><p>{html.escape(problem.detail)}</p>"
            "</main></html>"
        )
        return HTMLResponse(
            body.encode("utf-8", "replace"), status_code=problem.status, headers=headers
        )
    return ProblemResponse(
        problem.to_json(public_url, instance=request.url.path),
        status_code=problem.status,
        headers=headers,
    )


async def handle_problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Problem)
    if isinstance(exc, ZoomAuthorizationNeeded) and exc.authorize_url is None:
        # The user must consent at Zoom; hand the client a fresh one-time link to do so.
        # Only an API request names a device to claim the grant; elsewhere no link is offered.
        device_session_id = getattr(request.state, "device_session_id", None)
        if device_session_id is not None:
            exc.authorize_url = await request.app.state.runtime.authorizations.mint_for(
                exc.user_id, device_session_id=device_session_id
            )
    if exc.status >= 500:
        log.warning("request failed: %s", exc.code, extra={"problem": exc.code})
    return render(request, exc)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return render(request, _from_http_exception(exc))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", exc_info=exc)
    return render(request, Problem("An unexpected error occurred; it has been logged."))
