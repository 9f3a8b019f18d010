"""HTTP API for device sign-in: ``/api/v1/sessions`` and ``/api/v1/me``."""

from __future__ import annotations

from datetime import timedelta

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linkzoom.grant import service as zoom_service
from linkzoom.http.auth import api_caller, client_address
from linkzoom.http.typed_body import ModelResponse, read_model, same
from linkzoom.http.wire import iso as _iso
from linkzoom.identity import device_sessions
from linkzoom.identity.bodies import MeAnswer, SessionAnswer, SessionBody, ZoomState
from linkzoom.store.db import transaction
from linkzoom.zoom.text import clean_text


async def create_session(request: Request) -> Response:
    runtime = request.app.state.runtime
    body = await read_model(request, SessionBody, same)
    # A label people read in My Account: one line, no control characters (PostgreSQL's text
    # cannot hold a NUL; a client's NUL here was a 500).
    device_name = clean_text(body.device_name or "") or "add-in"
    address = client_address(request)
    user = await runtime.authenticator.login(body.username, body.password, address=address)
    async with transaction(runtime.sessions) as session:
        issued = await device_sessions.issue(
            session,
            user=user,
            device_name=device_name,
            lifetime=timedelta(days=runtime.settings.session_days),
            now=runtime.clock(),
            address=address,
            keep=runtime.settings.device_sessions_per_user,
        )
    return ModelResponse(
        SessionAnswer(
            token=issued.token,
            session_id=issued.session.id,
            expires_at=_iso(issued.session.expires_at),
        ),
        status_code=201,
        headers={"Cache-Control": "no-store"},
    )


async def delete_current_session(request: Request) -> Response:
    runtime = request.app.state.runtime
    caller = await api_caller(request)
    async with transaction(runtime.sessions) as session:
        await device_sessions.revoke(
            session, session_id=caller.device.id, user_id=caller.user.id, now=runtime.clock()
        )
    return Response(status_code=204)


async def me(request: Request) -> Response:
    runtime = request.app.state.runtime
    caller = await api_caller(request)
    zoom = await runtime.programs.run(
        zoom_service.reading_status(user_id=caller.user.id, now=runtime.clock()), atomic=False
    )
    enabled = caller.zoom_enabled
    user = caller.user
    return ModelResponse(
        MeAnswer(
            username=user.username,
            display_name=user.display_name,
            email=user.email,
            is_admin=user.is_admin,
            zoom=ZoomState(
                enabled=enabled,
                linked=zoom.linked,
                broken=zoom.broken,
                account_email=zoom.account_email,
                authorized_at=_iso(zoom.authorized_at),
                reauthorize_by=_iso(zoom.reauthorize_by),
                reauthorization_required=zoom.reauthorization_required,
            ),
        )
    )


routes = [
    Route("/api/v1/sessions", create_session, methods=["POST"]),
    Route("/api/v1/sessions/current", delete_current_session, methods=["DELETE"]),
    Route("/api/v1/me", me, methods=["GET"]),
]
