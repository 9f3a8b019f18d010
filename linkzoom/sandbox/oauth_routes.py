"""Zoom's OAuth endpoints: ``/oauth/authorize`` (consent page), ``/oauth/token``, ``/oauth/revoke``.

The token endpoint requires HTTP Basic client authentication and accepts parameters in the form
body or, as Zoom's docs show them, in the query string. Each token request runs its checks and
state change without awaiting in between (see :mod:`.oauth_book`), which is what makes exactly
one of many concurrent refreshes with the same token succeed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from .errors import OAuthError, invalid_client
from .oauth_book import IssuedTokens
from .runtime import Sandbox
from .urls import base_url, is_redirect_uri, with_query

DEFAULT_EMAIL = "demo@sandbox.zoom.test"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_routes(sandbox: Sandbox, templates: Jinja2Templates) -> list[Route]:
    """The OAuth routes bound to ``sandbox``."""

    def problem_in_request(params: Mapping[str, str]) -> str | None:
        if params.get("response_type") != "code":
            return "response_type must be 'code'."
        if params.get("client_id") != sandbox.config.client_id:
            return "Invalid client_id."
        if not is_redirect_uri(params.get("redirect_uri", "")):
            return "redirect_uri must be an absolute http(s) URL."
        if params.get("code_challenge_method") not in (None, "", "plain", "S256"):
            return "code_challenge_method must be 'plain' or 'S256'."
        return None

    def consent_page(
        request: Request, params: Mapping[str, str], *, email: str, error: str | None = None
    ) -> Response:
        context = {
            "action": f"{base_url(request)}/oauth/authorize",
            "client_id": params["client_id"],
            "redirect_uri": params["redirect_uri"],
            "state": params.get("state"),
            "code_challenge": params.get("code_challenge"),
            "code_challenge_method": params.get("code_challenge_method"),
            "email": email,
            "error": error,
        }
        status = 400 if error else 200
        return templates.TemplateResponse(request, "consent.html", context, status, NO_STORE)

    def error_page(request: Request, message: str) -> Response:
        context = {"message": message}
        return templates.TemplateResponse(request, "oauth_error.html", context, 400, NO_STORE)

    async def authorize_page(request: Request) -> Response:
        params = request.query_params
        problem = problem_in_request(params)
        if problem is not None:
            return error_page(request, problem)
        return consent_page(request, params, email=DEFAULT_EMAIL)

    async def authorize_decision(request: Request) -> Response:
        form = await request.form()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        problem = problem_in_request(params)
        if problem is not None:
            return error_page(request, problem)
        redirect_uri, state = params["redirect_uri"], params.get("state")
        if params.get("decision") != "approve":
            target = with_query(redirect_uri, {"error": "access_denied", "state": state})
            return RedirectResponse(target, status_code=302)
        email = params.get("email", "").strip()
        local, at, domain = email.partition("@")
        if not at or not local or "." not in domain or len(email) > 128:
            return consent_page(request, params, email=email, error="Enter a valid email.")
        now = sandbox.now()
        user = sandbox.oauth.user_for_email(email, now)
        code = sandbox.oauth.issue_code(
            user=user,
            redirect_uri=redirect_uri,
            code_challenge=params.get("code_challenge") or None,
            challenge_method=params.get("code_challenge_method") or "plain",
            now=now,
        )
        sandbox.changed()
        target = with_query(redirect_uri, {"code": code, "state": state})
        return RedirectResponse(target, status_code=302, headers=NO_STORE)

    async def token(request: Request) -> Response:
        params = await _params(request)
        grant_type = params.get("grant_type", "")
        sandbox.stats.token_requests[grant_type or "(none)"] += 1
        try:
            _authenticate_client(sandbox, request)
            issued = _grant(sandbox, grant_type, params)
        except OAuthError as exc:
            if exc.error == "invalid_grant":
                sandbox.stats.invalid_grant += 1
            return JSONResponse(exc.body, exc.status, NO_STORE)
        if grant_type == "refresh_token":
            sandbox.stats.refreshes += 1
        sandbox.changed()
        return JSONResponse(_token_body(issued, base_url(request)), headers=NO_STORE)

    async def revoke(request: Request) -> Response:
        params = await _params(request)
        try:
            _authenticate_client(sandbox, request)
        except OAuthError as exc:
            return JSONResponse(exc.body, exc.status, NO_STORE)
        # Unknown tokens also answer success (RFC 7009 §2.2); Zoom's behaviour is unconfirmed.
        if sandbox.oauth.revoke(params.get("token", "")) is not None:
            sandbox.stats.revokes += 1
            sandbox.changed()
        return JSONResponse({"status": "success"}, headers=NO_STORE)

    return [
        Route("/oauth/authorize", authorize_page, methods=["GET"]),
        Route("/oauth/authorize", authorize_decision, methods=["POST"]),
        Route("/oauth/token", token, methods=["POST"]),
        Route("/oauth/revoke", revoke, methods=["POST"]),
    ]


async def _params(request: Request) -> dict[str, str]:
    params = dict(request.query_params)
    form = await request.form()
    params.update({k: v for k, v in form.items() if isinstance(v, str)})
    return params


def _authenticate_client(sandbox: Sandbox, request: Request) -> None:
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        raise invalid_client()
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise invalid_client() from None
    client_id, sep, secret = decoded.partition(":")
    if not sep or not sandbox.oauth.client_matches(client_id, secret):
        raise invalid_client()


def _grant(sandbox: Sandbox, grant_type: str, params: Mapping[str, str]) -> IssuedTokens:
    now = sandbox.now()
    if grant_type == "authorization_code":
        if not params.get("code"):
            raise OAuthError("Invalid authorization code", "invalid_request")
        return sandbox.oauth.redeem_code(
            code=params["code"],
            redirect_uri=params.get("redirect_uri", ""),
            code_verifier=params.get("code_verifier"),
            now=now,
        )
    if grant_type == "refresh_token":
        return sandbox.oauth.refresh(refresh_token=params.get("refresh_token", ""), now=now)
    raise OAuthError("Unsupported grant type", "unsupported_grant_type")


def _token_body(issued: IssuedTokens, api_url: str) -> dict[str, Any]:
    return {
        "access_token": issued.access_token,
        "token_type": "bearer",
        "refresh_token": issued.refresh_token,
        "expires_in": issued.expires_in,
        "scope": issued.scope,
        "api_url": api_url,
    }
