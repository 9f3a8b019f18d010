"""The admin console: Overview, Zoom, Users, Audit log, Add-in. Every route here is
administrators-only (``admin=True`` on each wrapper; ``tests/controller`` enumerates the routes
to prove it)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from linkzoom.addin import identity as addin_identity
from linkzoom.controller import admin_service, navigation, zoom_settings
from linkzoom.controller.forms import (
    parse_audit_filter,
    parse_credentials,
    parse_meeting_defaults,
    parse_reauthorize_days,
    parse_user_query,
)
from linkzoom.controller.models import Viewer
from linkzoom.controller.web import Endpoint, action, page, redirect, render
from linkzoom.http.auth import client_address
from linkzoom.overview import charts
from linkzoom.overview import figures as overview_figures
from linkzoom.problems import ValidationFailed
from linkzoom.store.db import transaction

ADMIN = "/controller/admin"
USERS = ADMIN + "/users"


@page(admin=True)
async def console(request: Request, viewer: Viewer) -> Response:
    return redirect(request, navigation.CONSOLE)


async def _zoom_page(
    request: Request, viewer: Viewer, *, status: int = 200, **extra: Any
) -> Response:
    settings = await zoom_settings.view(request.app.state.runtime)
    context: dict[str, Any] = {"errors": {}, "checks": None, "values": {}} | extra
    return render(
        request,
        "admin_zoom.html",
        viewer=viewer,
        status=status,
        title="Zoom",
        active="zoom",
        view=settings,
        **context,
    )


def _field_errors(exc: ValidationFailed) -> dict[str, str]:
    return {error.field: error.message for error in exc.errors}


@page(admin=True)
async def zoom(request: Request, viewer: Viewer) -> Response:
    return await _zoom_page(request, viewer)


@action(admin=True)
async def feature(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    notice = await zoom_settings.set_feature(
        request.app.state.runtime,
        viewer,
        enabled=form.get("enabled") == "true",
        address=client_address(request),
    )
    return redirect(request, navigation.CONSOLE, notice=notice)


@action(admin=True)
async def app_credentials(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    runtime = request.app.state.runtime
    current = None if runtime.zoom_app.sandboxed else runtime.zoom_app.client_id
    try:
        change = parse_credentials(form, current_client_id=current)
    except ValidationFailed as exc:
        # Secrets are never echoed back into the page, only the client id.
        values = {"client_id": form.get("client_id", "")[:200]}
        return await _zoom_page(
            request, viewer, status=422, errors=_field_errors(exc), values=values
        )
    notice = await zoom_settings.save_credentials(
        runtime, viewer, change, address=client_address(request)
    )
    return redirect(request, navigation.CONSOLE, notice=notice)


@action(admin=True)
async def clear_app_credentials(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    notice = await zoom_settings.clear_credentials(
        request.app.state.runtime, viewer, address=client_address(request)
    )
    return redirect(request, navigation.CONSOLE, notice=notice)


@action(admin=True)
async def test_connection(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    checks = await zoom_settings.test_connection(
        request.app.state.runtime, viewer, address=client_address(request)
    )
    return await _zoom_page(request, viewer, checks=checks)


@action(admin=True)
async def defaults(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    try:
        parsed = parse_meeting_defaults(form)
    except ValidationFailed as exc:
        values = {"duration_minutes": form.get("duration_minutes", "")[:10]}
        return await _zoom_page(
            request, viewer, status=422, errors=_field_errors(exc), values=values
        )
    notice = await zoom_settings.save_defaults(
        request.app.state.runtime, viewer, parsed, address=client_address(request)
    )
    return redirect(request, navigation.CONSOLE, notice=notice)


@action(admin=True)
async def reauthorization(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    try:
        days = parse_reauthorize_days(form)
    except ValidationFailed as exc:
        values = {"reauthorize_days": form.get("reauthorize_days", "")[:10]}
        return await _zoom_page(
            request, viewer, status=422, errors=_field_errors(exc), values=values
        )
    notice = await zoom_settings.save_reauthorize_days(
        request.app.state.runtime, viewer, days, address=client_address(request)
    )
    return redirect(request, navigation.CONSOLE, notice=notice)


@page(admin=True)
async def users(request: Request, viewer: Viewer) -> Response:
    listing = await admin_service.users(
        request.app.state.runtime, parse_user_query(request.query_params)
    )
    return render(
        request, "admin_users.html", viewer=viewer, title="Users", active="users", view=listing
    )


_CONFIRM = {
    "revoke-zoom": (
        "Revoke Zoom authorization",
        "This deletes {name}'s Zoom tokens here and revokes the authorization at Zoom. "
        "Every device of theirs loses Zoom at once; they can connect Zoom again later.",
        "Revoke Zoom authorization",
    ),
    "disable": (
        "Disable user",
        "{name} will be signed out of every device and browser and cannot sign in until an "
        "administrator enables the account again.",
        "Disable user",
    ),
}


def _confirm_page(kind: str) -> Endpoint:
    @page(admin=True)
    async def confirm(request: Request, viewer: Viewer) -> Response:
        target = await admin_service.user(request.app.state.runtime, request.path_params["user_id"])
        heading, text, button = _CONFIRM[kind]
        return render(
            request,
            "confirm_user.html",
            viewer=viewer,
            title=heading,
            active="users",
            target=target,
            heading=heading,
            text=text.format(name=target.display_name),
            button=button,
            action=f"{USERS}/{target.id}/{kind}",
        )

    confirm.__name__ = f"confirm_{kind.replace('-', '_')}"
    return confirm


@action(admin=True)
async def revoke_zoom(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    notice = await admin_service.revoke_zoom(
        request.app.state.runtime,
        viewer,
        request.path_params["user_id"],
        address=client_address(request),
    )
    return redirect(request, USERS, notice=notice)


def _set_disabled(disabled: bool) -> Endpoint:
    @action(admin=True)
    async def change(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
        notice = await admin_service.set_disabled(
            request.app.state.runtime,
            viewer,
            request.path_params["user_id"],
            disabled=disabled,
            address=client_address(request),
        )
        return redirect(request, USERS, notice=notice)

    change.__name__ = "disable_user" if disabled else "enable_user"
    return change


@page(admin=True)
async def audit(request: Request, viewer: Viewer) -> Response:
    wanted, errors = parse_audit_filter(request.query_params)
    log = await admin_service.audit_log(request.app.state.runtime, wanted)
    return render(
        request,
        "admin_audit.html",
        viewer=viewer,
        title="Audit log",
        active="audit",
        view=log,
        errors={e.field: e.message for e in errors},
    )


@page(admin=True)
async def addin(request: Request, viewer: Viewer) -> Response:
    runtime = request.app.state.runtime
    async with transaction(runtime.sessions) as session:
        found = await addin_identity.deployment(
            session, settings=runtime.settings, now=runtime.clock()
        )
    return render(
        request,
        "admin_addin.html",
        viewer=viewer,
        title="Add-in",
        active="addin",
        deployment=found,
    )


@page(admin=True)
async def overview(request: Request, viewer: Viewer) -> Response:
    runtime = request.app.state.runtime
    async with transaction(runtime.sessions) as session:
        figures = await overview_figures.load(
            session,
            now=runtime.clock(),
            daily_limit=runtime.settings.zoom_daily_write_limit,
            worker_interval=runtime.settings.worker_interval_seconds,
        )
    return render(
        request,
        "admin_overview.html",
        viewer=viewer,
        title="Overview",
        active="overview",
        view=figures,
        meetings_chart=charts.bar_chart([(d.day, d.meetings) for d in figures.days]),
        errors_chart=charts.bar_chart([(d.day, d.errors) for d in figures.days]),
        worker_interval=f"{runtime.settings.worker_interval_seconds:g}",
    )


_USER = USERS + "/{user_id:int}"
routes = [
    Route(ADMIN, console, methods=["GET"]),
    Route(ADMIN + "/overview", overview, methods=["GET"]),
    Route(ADMIN + "/zoom", zoom, methods=["GET"]),
    Route(ADMIN + "/zoom/feature", feature, methods=["POST"]),
    Route(ADMIN + "/zoom/app", app_credentials, methods=["POST"]),
    Route(ADMIN + "/zoom/app/clear", clear_app_credentials, methods=["POST"]),
    Route(ADMIN + "/zoom/test", test_connection, methods=["POST"]),
    Route(ADMIN + "/zoom/defaults", defaults, methods=["POST"]),
    Route(ADMIN + "/zoom/reauthorization", reauthorization, methods=["POST"]),
    Route(USERS, users, methods=["GET"]),
    Route(_USER + "/revoke-zoom", _confirm_page("revoke-zoom"), methods=["GET"]),
    Route(_USER + "/revoke-zoom", revoke_zoom, methods=["POST"]),
    Route(_USER + "/disable", _confirm_page("disable"), methods=["GET"]),
    Route(_USER + "/disable", _set_disabled(True), methods=["POST"]),
    Route(_USER + "/enable", _set_disabled(False), methods=["POST"]),
    Route(ADMIN + "/audit", audit, methods=["GET"]),
    Route(ADMIN + "/addin", addin, methods=["GET"]),
]
