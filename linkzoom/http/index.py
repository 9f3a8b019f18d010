"""``/``: a browser lands on the console's sign-in, an API client gets a small index of links."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from linkzoom import __version__
from linkzoom.problems import NotFound

README = Path(__file__).resolve().parents[2] / "README.md"


def _wants_html(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/html" in accept or "application/xhtml+xml" in accept


async def index(request: Request) -> Response:
    if _wants_html(request):
        return RedirectResponse("/controller", status_code=303)
    base = request.app.state.settings.public_url.rstrip("/")
    return JSONResponse(
        {
            "name": "linkzoom",
            "version": __version__,
            "links": {
                "api": f"{base}/api/v1",
                "health": f"{base}/healthz",
                "ready": f"{base}/readyz",
                "metrics": f"{base}/metrics",
                "console": f"{base}/controller",
                "addin_manifest": f"{base}/addin/manifest.xml",
                "addin_try": f"{base}/addin/try",
                "docs": f"{base}/docs",
                "openapi": f"{base}/openapi.json",
            },
        }
    )


async def docs(request: Request) -> Response:
    """The README (quick start, add-in, configuration, commands) as the service's own docs."""
    if not README.is_file():
        raise NotFound("The documentation is not installed with this copy of linkzoom.")
    return PlainTextResponse(README.read_text(), media_type="text/markdown")


routes = [Route("/", index, methods=["GET"]), Route("/docs", docs, methods=["GET"])]
