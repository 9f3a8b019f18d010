"""``create_sandbox_app``: the Zoom sandbox as one Starlette application.

All state lives in one :class:`~.runtime.Sandbox`, built here and bound into the routes; nothing
is created at import time. The app works without its lifespan ever running (Starlette does not
run a mounted app's lifespan): the webhook client and the state-file timer start lazily. The
lifespan only finishes deliveries and saves the state file at shutdown; an app that mounts the
sandbox gets the same by entering ``sandbox_app.router.lifespan_context(sandbox_app)`` in its own
lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount
from starlette.templating import Jinja2Templates

from .api_routes import api_routes
from .config import SandboxConfig
from .control_routes import control_routes
from .errors import SandboxError
from .middleware import SandboxMiddleware
from .oauth_routes import oauth_routes
from .pages import page_routes
from .runtime import Sandbox

TEMPLATES = Path(__file__).parent / "templates"


def create_sandbox_app(
    config: SandboxConfig, *, webhook_transport: httpx.AsyncBaseTransport | None = None
) -> Starlette:
    """Build the sandbox app for ``config``.

    ``webhook_transport`` replaces the network for webhook deliveries (tests pass an
    ``httpx.ASGITransport`` wrapping a receiver). The :class:`~.runtime.Sandbox` is available as
    ``app.state.sandbox``.
    """
    sandbox = Sandbox(config, webhook_transport=webhook_transport)
    templates = Jinja2Templates(directory=TEMPLATES)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await sandbox.aclose()

    async def render_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SandboxError)
        return JSONResponse(exc.body, exc.status, exc.headers)

    app = Starlette(
        routes=[
            *oauth_routes(sandbox, templates),
            *api_routes(sandbox),
            Mount("/_sandbox", routes=control_routes(sandbox)),
            *page_routes(sandbox, templates),
        ],
        middleware=[Middleware(SandboxMiddleware, sandbox=sandbox)],
        exception_handlers={SandboxError: render_error},
        lifespan=lifespan,
    )
    app.state.sandbox = sandbox
    return app
