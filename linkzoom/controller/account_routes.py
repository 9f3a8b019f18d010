"""My Account: the Zoom panel, the User Preferences panel and the Devices panel."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from linkzoom.controller import navigation, service
from linkzoom.controller.models import Viewer
from linkzoom.controller.web import action, page, redirect, render, security_headers
from linkzoom.http.auth import client_address
from linkzoom.problems import NotFound

_DEVICE_ID = re.compile(r"^[0-9a-f]{32}$")


@page()
async def account(request: Request, viewer: Viewer) -> Response:
    overview = await service.account(request.app.state.runtime, viewer)
    return render(
        request, "account.html", viewer=viewer, title="My Account", active="account", view=overview
    )


@page()
async def confirm_delete_preference(request: Request, viewer: Viewer) -> Response:
    row = await service.preference(
        request.app.state.runtime, viewer, request.path_params["preference_id"]
    )
    return render(
        request,
        "confirm_preference.html",
        viewer=viewer,
        title="Delete preference",
        active="account",
        row=row,
    )


@action()
async def delete_preference(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    notice = await service.delete_preference(
        request.app.state.runtime,
        viewer,
        request.path_params["preference_id"],
        address=client_address(request),
    )
    return redirect(request, navigation.ACCOUNT, notice=notice)


@action()
async def connect_zoom(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    url = await service.connect_zoom(request.app.state.runtime, viewer)
    return RedirectResponse(url, status_code=303, headers=security_headers(request))


@action()
async def sign_out_device(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    device_id = request.path_params["device_id"]
    if not _DEVICE_ID.match(device_id):
        raise NotFound("There is no such device.")
    notice = await service.sign_out_device(
        request.app.state.runtime, viewer, device_id, address=client_address(request)
    )
    return redirect(request, navigation.ACCOUNT, notice=notice)


@action()
async def sign_out_everywhere(request: Request, viewer: Viewer, form: dict[str, str]) -> Response:
    notice = await service.sign_out_everywhere(
        request.app.state.runtime, viewer, address=client_address(request)
    )
    return redirect(request, navigation.ACCOUNT, notice=notice)


_PREFERENCE = navigation.ACCOUNT + "/preferences/{preference_id:int}/delete"
routes = [
    Route(navigation.ACCOUNT, account, methods=["GET"]),
    Route(_PREFERENCE, confirm_delete_preference, methods=["GET"]),
    Route(_PREFERENCE, delete_preference, methods=["POST"]),
    Route(navigation.ACCOUNT + "/zoom/connect", connect_zoom, methods=["POST"]),
    Route(
        navigation.ACCOUNT + "/devices/sign-out-everywhere", sign_out_everywhere, methods=["POST"]
    ),
    Route(navigation.ACCOUNT + "/devices/{device_id}/sign-out", sign_out_device, methods=["POST"]),
]
