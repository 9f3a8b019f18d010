"""HTTP for Zoom authorization: the add-in's API call, the consent redirect, the callback."""

from __future__ import annotations

import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from linkzoom.controller.web import load_viewer
from linkzoom.grant.consent import CALLBACK_PATH, START_PATH, Consented, Linked
from linkzoom.http.auth import api_caller, client_address
from linkzoom.http.body import read_bytes
from linkzoom.http.typed_body import ModelResponse, read_model, same
from linkzoom.http.wire import NO_STORE_NO_REFERRER as NO_STORE
from linkzoom.problems import AuthorizationFailed
from linkzoom.zoom.bodies import AuthorizationAnswer, ClaimAnswer, ClaimBody, ZoomAccountAnswer

WEBHOOK_BODY_LIMIT = 256 * 1024


async def create_authorization(request: Request) -> Response:
    runtime = request.app.state.runtime
    caller = await api_caller(request, zoom_feature=True)
    url = await runtime.authorizations.mint_for(caller.user.id, device_session_id=caller.device.id)
    return ModelResponse(AuthorizationAnswer(authorize_url=url), status_code=201, headers=NO_STORE)


async def claim_authorization(request: Request) -> Response:
    """The device that asked for consent stores the grant with the code its dialog handed back."""
    runtime = request.app.state.runtime
    caller = await api_caller(request, zoom_feature=True)
    body = await read_model(request, ClaimBody, same)
    linked = await runtime.authorizations.claim(
        body.code, device_session_id=caller.device.id, address=client_address(request)
    )
    return ModelResponse(
        ClaimAnswer(
            linked=True,
            account_email=linked.zoom_user.email,
            replaced_other_account=linked.replaced_other_account,
        ),
        headers=NO_STORE,
    )


async def zoom_account(request: Request) -> Response:
    """The connected Zoom account as Zoom reports it now: a live check of the grant."""
    runtime = request.app.state.runtime
    caller = await api_caller(request, zoom_feature=True)
    user = await runtime.zoom.get_me(auth=runtime.tokens.auth_for(caller.user.id))
    return ModelResponse(
        ZoomAccountAnswer(
            id=user.id,
            account_id=user.account_id,
            email=user.email,
            display_name=user.display_name,
            timezone=user.timezone,
        )
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
    viewer = await load_viewer(request)  # a pass started on My Account is claimed right here
    outcome = await runtime.authorizations.complete(
        state=params.get("state"),
        code=params.get("code"),
        error=params.get("error"),
        address=client_address(request),
        browser_session_id=viewer.session_id if viewer is not None else None,
    )
    nonce = secrets.token_urlsafe(16)
    public = urlsplit(runtime.settings.public_url)
    claim_code = outcome.claim_code if isinstance(outcome, Consented) else None
    html = runtime.templates.get_template("oauth_done.html").render(
        nonce=nonce,
        account_email=outcome.zoom_user.email,
        linkzoom_user=outcome.username,
        claim_code=claim_code,
        replaced=isinstance(outcome, Linked) and outcome.replaced_other_account,
        opener_origin=f"{public.scheme}://{public.netloc}",
        account_url=f"{runtime.settings.public_url}/controller/account",
    )
    # Office.js from Microsoft carries the claim code to the add-in (messageParent).
    csp = (
        f"default-src 'none'; script-src 'nonce-{nonce}' https://appsforoffice.microsoft.com; "
        f"style-src 'nonce-{nonce}'"
    )
    return HTMLResponse(html, headers=NO_STORE | {"Content-Security-Policy": csp})


async def webhook(request: Request) -> Response:
    runtime = request.app.state.runtime
    body = await read_bytes(request, WEBHOOK_BODY_LIMIT)
    answer = await runtime.webhooks.receive(body, request.headers)
    return JSONResponse(answer)


routes = [
    Route("/api/v1/zoom/authorizations", create_authorization, methods=["POST"]),
    Route("/api/v1/zoom/authorizations/claim", claim_authorization, methods=["POST"]),
    Route("/api/v1/zoom/authorization", delete_authorization, methods=["DELETE"]),
    Route("/api/v1/zoom/account", zoom_account, methods=["GET"]),
    Route(START_PATH, oauth_start, methods=["GET"]),
    Route(CALLBACK_PATH, oauth_callback, methods=["GET"]),
    Route("/webhooks/zoom", webhook, methods=["POST"]),
]
