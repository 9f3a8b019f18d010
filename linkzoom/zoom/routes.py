"""HTTP for Zoom authorization: the add-in's API call, the consent redirect, the callback."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from linkzoom.http.auth import api_caller, client_address
from linkzoom.http.body import read_bytes
from linkzoom.problems import AuthorizationFailed
from linkzoom.zoom.authorization import CALLBACK_PATH, START_PATH

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
WEBHOOK_BODY_LIMIT = 256 * 1024


async def create_authorization(request: Request) -> Response:
    runtime = request.app.state.runtime
    caller = await api_caller(request, zoom_feature=True)
    url = await runtime.authorizations.mint_for(caller.user.id)
    return JSONResponse({"authorize_url": url}, status_code=201, headers=NO_STORE)


async def zoom_account(request: Request) -> Response:
    """The connected Zoom account as Zoom reports it now: a live check of the grant."""
    runtime = request.app.state.runtime
    caller = await api_caller(request, zoom_feature=True)
    user = await runtime.zoom.get_me(auth=runtime.tokens.auth_for(caller.user.id))
    return JSONResponse(
        {
            "id": user.id,
            "account_id": user.account_id,
            "email": user.email,
            "display_name": user.display_name,
            "timezone": user.timezone,
        }
    )


async def delete_authorization(request: Request) -> Response:
    runtime = request.app.state.runtime
    caller = await api_caller(request)
    await runtime.zoom_accounts.disconnect(
        caller.user.id,
        actor=caller.user.username,
        actor_user_id=caller.user.id,
        address=client_address(request),
    )
    return Response(status_code=204)


async def oauth_start(request: Request) -> Response:
    ticket = request.query_params.get("ticket", "")
    if not ticket or len(ticket) > 200:
        raise AuthorizationFailed(
            "This Zoom connection link is incomplete. Start again from the add-in."
        )
    url = await request.app.state.runtime.authorizations.start(ticket)
    return RedirectResponse(url, status_code=302, headers=NO_STORE)


async def oauth_callback(request: Request) -> Response:
    runtime = request.app.state.runtime
    params = request.query_params
    linked = await runtime.authorizations.complete(
        state=params.get("state"),
        code=params.get("code"),
        error=params.get("error"),
        address=client_address(request),
    )
    nonce = secrets.token_urlsafe(16)
    public = urlsplit(runtime.settings.public_url)
    html = runtime.templates.get_template("oauth_done.html").render(
        nonce=nonce,
        account_email=linked.zoom_user.email,
        replaced=linked.replaced_other_account,
        opener_origin=f"{public.scheme}://{public.netloc}",
        # Connect from My Account opens this page in the browser itself, not a dialog.
        account_url=f"{runtime.settings.public_url}/controller/account",
    )
    csp = f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'"
    return HTMLResponse(html, headers=NO_STORE | {"Content-Security-Policy": csp})


async def webhook(request: Request) -> Response:
    runtime = request.app.state.runtime
    body = await read_bytes(request, WEBHOOK_BODY_LIMIT)
    answer = await runtime.webhooks.receive(body, request.headers)
    return JSONResponse(answer)


routes = [
    Route("/api/v1/zoom/authorizations", create_authorization, methods=["POST"]),
    Route("/api/v1/zoom/authorization", delete_authorization, methods=["DELETE"]),
    Route("/api/v1/zoom/account", zoom_account, methods=["GET"]),
    Route(START_PATH, oauth_start, methods=["GET"]),
    Route(CALLBACK_PATH, oauth_callback, methods=["GET"]),
    Route("/webhooks/zoom", webhook, methods=["POST"]),
]
