"""Signing in to and out of the controller."""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from linkzoom.controller import csrf, navigation, service, sessions
from linkzoom.controller.forms import read_form
from linkzoom.controller.models import Viewer
from linkzoom.controller.web import (
    action,
    clear_cookie,
    load_viewer,
    public_origin,
    redirect,
    render,
    secure_cookies,
    security_headers,
    set_cookie,
)
from linkzoom.http.auth import client_address
from linkzoom.problems import InvalidCredentials, TooManyAttempts

# The same words whether the user is unknown, the password wrong or the account disabled.
FAILED = "Sign-in failed. Check your username and password and try again."


async def home(request: Request) -> Response:
    viewer = await load_viewer(request)
    return redirect(
        request, navigation.LOGIN if viewer is None else navigation.landing(viewer.is_admin)
    )


def _login_page(
    request: Request,
    *,
    secret: str,
    next_path: str | None,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    response = render(
        request,
        "login.html",
        viewer=None,
        status=status,
        headers=headers,
        title="Sign in",
        csrf_token=csrf.token_for(secret, csrf.LOGIN_PURPOSE),
        next=navigation.safe_next(next_path) or "",
        username=username,
        error=error,
    )
    set_cookie(request, response, csrf.login_cookie_name(secure_cookies(request)), secret)
    return response


async def login_form(request: Request) -> Response:
    viewer = await load_viewer(request)
    if viewer is not None:
        return redirect(request, navigation.landing(viewer.is_admin))
    secret = request.cookies.get(csrf.login_cookie_name(secure_cookies(request)))
    return _login_page(
        request,
        secret=secret or secrets.token_urlsafe(32),
        next_path=request.query_params.get("next"),
    )


async def login(request: Request) -> Response:
    runtime = request.app.state.runtime
    csrf.check_origin(request.headers, public_origin(request))
    form = await read_form(request)
    # Double submit: the token must match the pre-session cookie only this browser can read.
    secret = request.cookies.get(csrf.login_cookie_name(secure_cookies(request))) or ""
    expected = csrf.token_for(secret, csrf.LOGIN_PURPOSE) if secret else ""
    csrf.check_token(expected, form.get(csrf.FIELD))
    username = form.get("username", "")[:256]
    try:
        user, issued = await service.sign_in(
            runtime,
            username=username,
            password=form.get("password", ""),
            address=client_address(request),
        )
    except InvalidCredentials:
        return _login_page(
            request,
            secret=secret,
            next_path=form.get("next"),
            username=username,
            error=FAILED,
            status=401,
            headers={"WWW-Authenticate": 'Form realm="linkzoom"'},
        )
    except TooManyAttempts as exc:
        wait = exc.headers()["Retry-After"]
        message = f"Too many failed sign-in attempts. Wait {wait} seconds and try again."
        return _login_page(
            request,
            secret=secret,
            next_path=form.get("next"),
            username=username,
            error=message,
            status=429,
            headers=exc.headers(),
        )
    target = navigation.safe_next(form.get("next")) or navigation.landing(user.is_admin)
    response = RedirectResponse(target, status_code=303, headers=security_headers(request))
    set_cookie(request, response, sessions.cookie_name(secure_cookies(request)), issued.token)
    clear_cookie(request, response, csrf.login_cookie_name(secure_cookies(request)))
    return response


@action()
async def logout(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    await service.sign_out(request.app.state.runtime, viewer)
    response = redirect(request, navigation.LOGIN, notice="signed-out")
    clear_cookie(request, response, sessions.cookie_name(secure_cookies(request)))
    return response


routes = [
    Route(navigation.HOME, home, methods=["GET"]),
    Route(navigation.LOGIN, login_form, methods=["GET"]),
    Route(navigation.LOGIN, login, methods=["POST"]),
    Route("/controller/logout", logout, methods=["POST"]),
]
