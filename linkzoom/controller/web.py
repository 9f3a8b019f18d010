"""The controller's HTTP glue: who is signed in, who may see what, and how pages are sent.

Every controller endpoint is wrapped by :func:`page` (GET) or :func:`action` (POST). Both sign
the viewer in from the session cookie (or send them to the sign-in page) and refuse
non-administrators on console routes *before* anything else happens; :func:`action` then checks
the origin and the CSRF token before the handler runs. Handlers therefore cannot forget a check.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from linkzoom.controller import csrf, navigation, sessions
from linkzoom.controller.forms import read_form
from linkzoom.controller.models import Viewer
from linkzoom.http.wire import iso, origin
from linkzoom.problems import Forbidden, Problem
from linkzoom.store.db import transaction

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
STATIC_PATH = "/controller/static"

Endpoint = Callable[[Request], Awaitable[Response]]
PageHandler = Callable[[Request, Viewer], Awaitable[Response]]
ActionHandler = Callable[[Request, Viewer, dict[str, str]], Awaitable[Response]]

# Messages shown after an action, keyed by the code in ``?notice=``: a fixed table, so a link
# cannot put words on our pages.
NOTICES: dict[str, tuple[str, str]] = {
    "signed-out": ("ok", "You have signed out."),
    "session-ended": ("info", "Your session has ended. Sign in again to continue."),
    "preference-deleted": ("ok", "The preference was deleted."),
    "zoom-disconnected": (
        "ok",
        "Your Zoom account was disconnected on every device and its authorization revoked.",
    ),
    "already-gone": ("info", "That was already gone."),
    "device-signed-out": ("ok", "The device was signed out."),
    "signed-out-everywhere": ("ok", "Every device and every other browser was signed out."),
    "feature-enabled": ("ok", "Zoom is now enabled for everyone."),
    "feature-disabled": ("ok", "Zoom is now disabled for everyone."),
    "credentials-saved": ("ok", "The Zoom app settings were saved and are in effect now."),
    "credentials-cleared": ("ok", "Stored Zoom app settings were removed."),
    "defaults-saved": ("ok", "The meeting defaults were saved."),
    "reauthorization-saved": ("ok", "The reauthorization period was saved."),
    "user-zoom-revoked": ("ok", "The user's Zoom authorization was revoked."),
    "user-disabled": ("ok", "The user was disabled and signed out everywhere."),
    "user-enabled": ("ok", "The user can sign in again."),
    "mailbox-source-saved": ("ok", "The Exchange source was saved; the next pass uses it."),
    "graph-source-saved": ("ok", "The Microsoft Graph source was saved; the next pass uses it."),
    "mailboxes-enrolled": ("ok", "Every user who has connected Zoom is watched now."),
    "graph-consented": ("ok", "The tenant's administrator granted the Graph app its permissions."),
    "graph-consent-refused": (
        "error",
        "Microsoft Entra ID did not grant the Graph app its permissions; nothing changed.",
    ),
}


def _when(value: datetime | None) -> str:
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _iso(value: datetime | None) -> str:
    return "" if value is None else iso(value.astimezone(UTC))


@functools.cache
def templates() -> Jinja2Templates:
    """Built on first use, not at import; autoescaping is on for every template."""
    built = Jinja2Templates(directory=str(TEMPLATES))
    built.env.filters["when"] = _when
    built.env.filters["iso"] = _iso
    built.env.globals["static"] = lambda name: f"{STATIC_PATH}/{name}"
    built.env.globals["csrf_field"] = csrf.FIELD
    return built


def public_origin(request: Request) -> str:
    return origin(request.app.state.settings.public_url)


def security_headers(request: Request) -> dict[str, str]:
    runtime = request.app.state.runtime
    # The Connect button's form is redirected on to Zoom's consent page; browsers apply
    # form-action to such redirects, so Zoom's OAuth origin must be allowed too.
    zoom_origin = origin(runtime.zoom_app.oauth_url)
    policy = (
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        f"form-action 'self' {zoom_origin}; frame-ancestors 'none'; base-uri 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cache-Control": "no-store",
    }


def render(
    request: Request,
    template: str,
    *,
    viewer: Viewer | None,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> Response:
    runtime = request.app.state.runtime
    notice = NOTICES.get(request.query_params.get("notice", ""))
    values = {
        "viewer": viewer,
        "sandboxed": runtime.zoom_app.sandboxed,
        "notice": notice,
        **context,
    }
    return templates().TemplateResponse(
        request,
        template,
        values,
        status_code=status,
        headers=security_headers(request) | dict(headers or {}),
    )


def problem_page(request: Request, problem: Problem, headers: Mapping[str, str]) -> Response:
    """An error under ``/controller`` in the controller's layout (banner, styles, a way back)."""
    if getattr(request.app.state, "runtime", None) is None:  # not started: the bare minimum
        text = html.escape(problem.title) + ": " + html.escape(problem.detail)
        return HTMLResponse(text, status_code=problem.status, headers=dict(headers))
    if problem.status == 401:
        headers = {k: v for k, v in headers.items() if k.lower() != "www-authenticate"}
    return render(
        request,
        "error.html",
        viewer=None,
        status=problem.status,
        headers=headers,
        title=problem.title,
        problem=problem,
    )


def redirect(request: Request, path: str, *, notice: str | None = None) -> Response:
    """303 See Other: after a POST the browser fetches the next page with GET."""
    target = f"{path}?{urlencode({'notice': notice})}" if notice else path
    return RedirectResponse(target, status_code=303, headers=security_headers(request))


def secure_cookies(request: Request) -> bool:
    return bool(request.app.state.settings.secure_cookies)


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    response.set_cookie(
        name, value, path="/", httponly=True, samesite="lax", secure=secure_cookies(request)
    )


def clear_cookie(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=secure_cookies(request)
    )


async def load_viewer(request: Request) -> Viewer | None:
    runtime = request.app.state.runtime
    token = request.cookies.get(sessions.cookie_name(secure_cookies(request)))
    if not token:
        return None
    async with transaction(runtime.sessions) as session:
        found = await sessions.authenticate(
            session, token, now=runtime.clock(), policy=sessions.policy_for(runtime.settings)
        )
        if found is None:
            return None
        user, row = found
        return Viewer(
            user_id=user.id,
            username=user.username,
            display_name=user.display_name,
            is_admin=user.is_admin,
            session_id=row.id,
            csrf_token=csrf.token_for(token),
        )


def _to_login(request: Request) -> Response:
    had_cookie = sessions.cookie_name(secure_cookies(request)) in request.cookies
    query: dict[str, str] = {}
    if request.method in ("GET", "HEAD") and (
        target := navigation.safe_next(_path_and_query(request))
    ):
        query["next"] = target
    if had_cookie:
        query["notice"] = "session-ended"
    target = navigation.LOGIN + (f"?{urlencode(query)}" if query else "")
    response = RedirectResponse(target, status_code=303, headers=security_headers(request))
    if had_cookie:
        clear_cookie(request, response, sessions.cookie_name(secure_cookies(request)))
    return response


def _path_and_query(request: Request) -> str:
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


async def _authorised(request: Request, *, admin: bool) -> Viewer | Response:
    viewer = await load_viewer(request)
    if viewer is None:
        return _to_login(request)
    if admin and not viewer.is_admin:
        raise Forbidden("This page is for administrators.")
    return viewer


def page(*, admin: bool = False) -> Callable[[PageHandler], Endpoint]:
    """A GET page for signed-in users (``admin``: administrators only)."""

    def wrap(handler: PageHandler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            viewer = await _authorised(request, admin=admin)
            if isinstance(viewer, Response):
                return viewer
            return await handler(request, viewer)

        return endpoint

    return wrap


def action(*, admin: bool = False) -> Callable[[ActionHandler], Endpoint]:
    """A form submission: signed in, allowed, same origin, and carrying the CSRF token."""

    def wrap(handler: ActionHandler) -> Endpoint:
        @functools.wraps(handler)
        async def endpoint(request: Request) -> Response:
            viewer = await _authorised(request, admin=admin)
            if isinstance(viewer, Response):
                return viewer
            csrf.check_origin(request.headers, public_origin(request))
            form = await read_form(request)
            csrf.check_token(viewer.csrf_token, form.get(csrf.FIELD))
            return await handler(request, viewer, form)

        return endpoint

    return wrap
