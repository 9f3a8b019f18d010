"""HTTP for the add-in: manifests, command code, dialogs, icons, /addin/try, the well-known file.

Pages the add-in loads inside Outlook may be framed by Outlook on the web (and by on-premises
OWA, whose origin we cannot know), so they carry no frame-ancestors restriction; their scripts
come only from here and from Microsoft's Office.js CDN.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from linkzoom.addin import identity, manifests
from linkzoom.problems import NotFound
from linkzoom.store.db import transaction

STATIC = Path(__file__).resolve().parent / "static"
OFFICE_JS = "https://appsforoffice.microsoft.com"
HANDLERS = (
    "onAppointmentTimeChanged",
    "onAppointmentRecurrenceChanged",
    "onAppointmentSend",
    "onMessageSend",
)
_templates = Jinja2Templates(directory=str(Path(__file__).resolve().parent / "templates"))


def _policy(*, office: bool) -> dict[str, str]:
    scripts = f"'self' {OFFICE_JS}" if office else "'self'"
    return {
        "Content-Security-Policy": (
            f"default-src 'none'; script-src {scripts}; style-src 'self'; img-src 'self' data:; "
            "connect-src 'self'; form-action 'self'; base-uri 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }


async def deployment(request: Request) -> manifests.Deployment:
    runtime = request.app.state.runtime
    async with transaction(runtime.sessions) as session:
        return await identity.deployment(session, settings=runtime.settings, now=runtime.clock())


async def manifest_xml(request: Request) -> Response:
    body = manifests.xml_manifest(await deployment(request))
    return Response(body, media_type="application/xml", headers=_download("manifest.xml"))


async def manifest_json(request: Request) -> Response:
    body = manifests.json_manifest(await deployment(request))
    return Response(body, media_type="application/json", headers=_download("manifest.json"))


async def package(request: Request) -> Response:
    body = manifests.app_package(await deployment(request))
    return Response(body, media_type="application/zip", headers=_download("linkzoom-addin.zip"))


def _download(name: str) -> dict[str, str]:
    return {"Content-Disposition": f'inline; filename="{name}"', "Cache-Control": "no-cache"}


@lru_cache(maxsize=1)
def _command_code() -> str:
    return (STATIC / "addin.js").read_text()


async def command_code(request: Request) -> Response:
    """addin.js with this deployment's facts in front (one file: the JS-only runtime of classic
    Windows loads exactly one)."""
    found = await deployment(request)
    config = json.dumps({"publicUrl": found.public_url, "addinId": found.addin_id})
    return Response(
        f"var LINKZOOM = {config};\n{_command_code()}",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


_FILES = {
    "commands.html": ("text/html", True),
    "events.html": ("text/html", True),
    "taskpane.html": ("text/html", True),
    "taskpane.js": ("text/javascript", False),
    "sign-in.js": ("text/javascript", False),
    "addin.css": ("text/css", False),
    "try/office-standin.js": ("text/javascript", False),
    "try/try.js": ("text/javascript", False),
    "try/try.css": ("text/css", False),
}


async def static_file(request: Request) -> Response:
    name = request.path_params["name"]
    if name not in _FILES:
        raise NotFound("There is no such add-in file.")
    media_type, page = _FILES[name]
    headers = _policy(office=True) if page else {"X-Content-Type-Options": "nosniff"}
    return FileResponse(
        STATIC / name, media_type=media_type, headers=headers | {"Cache-Control": "no-cache"}
    )


async def icon(request: Request) -> Response:
    name = request.path_params["name"]
    path = manifests.ICONS / name
    if not name.endswith(".png") or "/" in name or not path.is_file():
        raise NotFound("There is no such icon.")
    return FileResponse(path, media_type="image/png", headers={"Cache-Control": "max-age=86400"})


async def sign_in(request: Request) -> Response:
    runtime = request.app.state.runtime
    return _templates.TemplateResponse(
        request,
        "sign_in.html",
        {"directory": runtime.settings.ldap is not None},
        headers=_policy(office=True) | {"Cache-Control": "no-store"},
    )


async def try_page(request: Request) -> Response:
    runtime = request.app.state.runtime
    return _templates.TemplateResponse(
        request,
        "try.html",
        {"sandboxed": runtime.zoom_app.sandboxed},
        headers=_policy(office=False) | {"Cache-Control": "no-store"},
    )


async def allowed_origins(request: Request) -> Response:
    """Microsoft's docs/develop/use-sso-in-event-based-activation.md: the origins whose event
    handlers may use SSO and call this origin, listed at this well-known path."""
    base = request.app.state.runtime.settings.public_url.rstrip("/")
    return JSONResponse({"allowed": [f"{base}/addin/addin.js", f"{base}/addin/events.html"]})


routes = [
    Route("/addin/manifest.xml", manifest_xml, methods=["GET"]),
    Route("/addin/manifest.json", manifest_json, methods=["GET"]),
    Route("/addin/package.zip", package, methods=["GET"]),
    Route("/addin/addin.js", command_code, methods=["GET"]),
    Route("/addin/sign-in", sign_in, methods=["GET"]),
    Route("/addin/try", try_page, methods=["GET"]),
    Route("/addin/icons/{name}", icon, methods=["GET"]),
    Route("/addin/{name:path}", static_file, methods=["GET"]),
    Route("/.well-known/microsoft-officeaddins-allowed.json", allowed_origins, methods=["GET"]),
]
