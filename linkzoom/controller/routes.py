"""HTTP routes of the controller capability: sign-in, My Account, the admin console, and the
controller's own static files (no CDN)."""

from __future__ import annotations

from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from linkzoom.controller import account_routes, admin_routes, auth_routes, mailbox_routes
from linkzoom.controller.web import STATIC, STATIC_PATH

routes: list[BaseRoute] = [
    *auth_routes.routes,
    *account_routes.routes,
    *admin_routes.routes,
    *mailbox_routes.routes,
    Mount(STATIC_PATH, app=StaticFiles(directory=STATIC), name="controller-static"),
]
