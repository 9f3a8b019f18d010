"""The control API under ``/_sandbox/`` for tests and demos (JSON; loopback peers only).

Every call is relative to ``/_sandbox``:

* ``POST /faults`` ``{method?, path_regex, status?, body?, headers?, probability?, count?,
  latency_ms?}`` adds a fault rule and answers ``{id, rule}``; ``GET``/``DELETE /faults`` list or
  remove all rules.
* ``POST /latency`` ``{ms}``: global added latency for API and OAuth calls.
* ``POST /tokens/expire`` ``{user_id?}``: access tokens (all, or one user's) expire now.
* ``POST /meetings/{id}/delete`` ``{occurrence_id?}``: delete "in Zoom", fire ``meeting.deleted``.
* ``POST /meetings/{id}/update`` ``{fields…}`` or ``{"fields": {…}, "occurrence_id"?}``: change
  "in Zoom" (validated like PATCH, not counted against limits), fire ``meeting.updated``.
* ``POST /users/{user_id}/deauthorize``: revoke the user's grants, fire ``app_deauthorized``.
* ``POST /users`` ``{email}`` creates a user as a first consent would; ``GET /users`` lists them.
* ``GET /clock``; ``POST /clock`` ``{"advance_seconds": n}`` or ``{"set": iso}`` moves it.
* ``GET /stats``; ``GET``/``DELETE /requests`` (the request log); ``GET /secrets`` (every token,
  code and start-URL key ever issued, for leak searches).
* ``GET /meetings``: every meeting, with a ``deleted`` flag.
* ``GET /webhooks``: deliveries so far; ``POST /webhooks/drain`` waits for pending ones first.
* ``POST /reset``: forget everything.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .clock import parse_instant, zoom_time
from .errors import SandboxError
from .faults import FaultSpecError
from .records import Meeting
from .runtime import Sandbox
from .urls import base_url
from .validation import decode_object, parse_meeting_input
from .webhooks import app_deauthorized, meeting_deleted, meeting_updated
from .wire import meeting_json, user_json

Result = dict[str, Any] | Response
ControlHandler = Callable[[Request, dict[str, Any]], Result]


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def control_routes(sandbox: Sandbox) -> list[Route]:
    """The ``/_sandbox`` routes bound to ``sandbox`` (paths relative to that prefix)."""

    def json_endpoint(handler: ControlHandler) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            raw = await request.body()
            try:
                body = decode_object(raw) if raw.strip() else {}
                result = handler(request, body)
            except ControlError as exc:
                return JSONResponse({"error": exc.message}, exc.status)
            except SandboxError as exc:
                return JSONResponse(exc.body, exc.status, exc.headers)
            if isinstance(result, Response):
                return result
            return JSONResponse(result)

        return endpoint

    def live_meeting(request: Request) -> Meeting:
        try:
            meeting = sandbox.meetings.meetings.get(int(request.path_params["meeting_id"]))
        except ValueError:
            meeting = None
        if meeting is None or meeting.deleted:
            raise ControlError(404, "no such meeting")
        return meeting

    def add_fault(request: Request, body: dict[str, Any]) -> Result:
        try:
            rule = sandbox.faults.add(body)
        except FaultSpecError as exc:
            raise ControlError(400, str(exc)) from None
        return JSONResponse({"id": rule.id, "rule": rule.to_json()}, 201)

    def list_faults(request: Request, body: dict[str, Any]) -> Result:
        return {"faults": [r.to_json() for r in sandbox.faults.rules.values()]}

    def clear_faults(request: Request, body: dict[str, Any]) -> Result:
        sandbox.faults.clear()
        return {"faults": []}

    def set_latency(request: Request, body: dict[str, Any]) -> Result:
        ms = body.get("ms")
        if not isinstance(ms, int) or isinstance(ms, bool) or ms < 0:
            raise ControlError(400, "ms must be a non-negative integer")
        sandbox.faults.latency_ms = ms
        return {"ms": ms}

    def expire_tokens(request: Request, body: dict[str, Any]) -> Result:
        user_id = body.get("user_id")
        expired = sandbox.oauth.expire_access_tokens(user_id, sandbox.now())
        sandbox.changed()
        return {"expired": expired}

    def delete_meeting(request: Request, body: dict[str, Any]) -> Result:
        meeting = live_meeting(request)
        host = sandbox.oauth.users[meeting.host_id]
        occurrence_id = body.get("occurrence_id")
        occurrences = []
        if occurrence_id:
            occurrences.append(sandbox.meetings.delete_occurrence(meeting, str(occurrence_id)))
        else:
            sandbox.meetings.delete(meeting)
        sandbox.changed()
        event = meeting_deleted(meeting, host, now=sandbox.now(), occurrences=occurrences)
        sandbox.webhooks.send(event)
        return {"deleted": meeting.id, "event": event}

    def update_meeting(request: Request, body: dict[str, Any]) -> Result:
        meeting = live_meeting(request)
        host = sandbox.oauth.users[meeting.host_id]
        nested = body.get("fields")
        fields: dict[str, Any] = nested if isinstance(nested, dict) else body
        occurrence_id = body.get("occurrence_id") or request.query_params.get("occurrence_id")
        data = parse_meeting_input({k: v for k, v in fields.items() if k != "occurrence_id"})
        if occurrence_id:
            change = sandbox.meetings.update_occurrence(meeting, str(occurrence_id), data)
        else:
            change = sandbox.meetings.update(meeting, data, now=sandbox.now())
        sandbox.changed()
        event = meeting_updated(meeting, host, change, now=sandbox.now())
        sandbox.webhooks.send(event)
        return {"meeting": render(request, meeting), "event": event}

    def deauthorize(request: Request, body: dict[str, Any]) -> Result:
        user = sandbox.oauth.users.get(request.path_params["user_id"])
        if user is None:
            raise ControlError(404, "no such user")
        revoked = sandbox.oauth.deauthorize(user.id)
        sandbox.changed()
        event = app_deauthorized(user, sandbox.config.client_id, now=sandbox.now())
        sandbox.webhooks.send(event)
        return {"revoked_grants": len(revoked), "event": event}

    def create_user(request: Request, body: dict[str, Any]) -> Result:
        email = body.get("email")
        if not isinstance(email, str) or "@" not in email:
            raise ControlError(400, "email is required")
        user = sandbox.oauth.user_for_email(email, sandbox.now())
        sandbox.changed()
        return user_json(user, base_url=base_url(request))

    def list_users(request: Request, body: dict[str, Any]) -> Result:
        authorized = {u for (u, _), g in sandbox.oauth.current_grant.items()
                      if not sandbox.oauth.grants[g].revoked}  # fmt: skip
        return {
            "users": [
                user_json(u, base_url=base_url(request)) | {"authorized": u.id in authorized}
                for u in sandbox.oauth.users.values()
            ]
        }

    def read_clock(request: Request, body: dict[str, Any]) -> Result:
        return {"now": zoom_time(sandbox.now())}

    def move_clock(request: Request, body: dict[str, Any]) -> Result:
        if "advance_seconds" in body and isinstance(body["advance_seconds"], int | float):
            sandbox.clock.advance(float(body["advance_seconds"]))
        elif isinstance(body.get("set"), str):
            try:
                sandbox.clock.set(parse_instant(body["set"]))
            except ValueError as exc:
                raise ControlError(400, f"set: {exc}") from None
        else:
            raise ControlError(400, 'send {"advance_seconds": n} or {"set": "<ISO instant>"}')
        sandbox.changed()
        return {"now": zoom_time(sandbox.now())}

    def stats(request: Request, body: dict[str, Any]) -> Result:
        return sandbox.stats.to_json() | {
            "users": len(sandbox.oauth.users),
            "meetings": len(sandbox.meetings.meetings),
        }

    def requests_log(request: Request, body: dict[str, Any]) -> Result:
        return {"requests": sandbox.requests.to_json()}

    def clear_requests(request: Request, body: dict[str, Any]) -> Result:
        sandbox.requests.clear()
        return {"requests": []}

    def secrets(request: Request, body: dict[str, Any]) -> Result:
        issued = {kind: list(values) for kind, values in sandbox.oauth.issued.items()}
        config = sandbox.config
        return issued | {
            "start_url_zaks": [m.start_zak for m in sandbox.meetings.meetings.values()],
            "client_secret": [config.client_secret],
            "webhook_secret": [config.webhook_secret] if config.webhook_secret else [],
        }

    def render(request: Request, meeting: Meeting) -> dict[str, Any]:
        host = sandbox.oauth.users[meeting.host_id]
        body = meeting_json(
            meeting, host=host, base_url=base_url(request), now=sandbox.now(), show_previous=True
        )
        return body | {"deleted": meeting.deleted}

    def all_meetings(request: Request, body: dict[str, Any]) -> Result:
        return {"meetings": [render(request, m) for m in sandbox.meetings.meetings.values()]}

    def webhooks(request: Request, body: dict[str, Any]) -> Result:
        return {"deliveries": list(sandbox.webhooks.deliveries)}

    async def drain_webhooks(request: Request) -> Response:
        await sandbox.webhooks.drain()
        return JSONResponse({"deliveries": list(sandbox.webhooks.deliveries)})

    def reset(request: Request, body: dict[str, Any]) -> Result:
        sandbox.reset()
        return {"reset": True}

    def route(path: str, handler: ControlHandler, method: str) -> Route:
        return Route(path, json_endpoint(handler), methods=[method])

    return [
        route("/faults", add_fault, "POST"),
        route("/faults", list_faults, "GET"),
        route("/faults", clear_faults, "DELETE"),
        route("/latency", set_latency, "POST"),
        route("/tokens/expire", expire_tokens, "POST"),
        route("/meetings", all_meetings, "GET"),
        route("/meetings/{meeting_id}/delete", delete_meeting, "POST"),
        route("/meetings/{meeting_id}/update", update_meeting, "POST"),
        route("/users", list_users, "GET"),
        route("/users", create_user, "POST"),
        route("/users/{user_id}/deauthorize", deauthorize, "POST"),
        route("/clock", read_clock, "GET"),
        route("/clock", move_clock, "POST"),
        route("/stats", stats, "GET"),
        route("/requests", requests_log, "GET"),
        route("/requests", clear_requests, "DELETE"),
        route("/secrets", secrets, "GET"),
        route("/webhooks", webhooks, "GET"),
        Route("/webhooks/drain", drain_webhooks, methods=["POST"]),
        route("/reset", reset, "POST"),
    ]
