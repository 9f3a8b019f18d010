"""The Starlette application factory: routes, middleware, lifespan. Nothing else."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from linkzoom import health, worker
from linkzoom.addin import routes as addin_routes
from linkzoom.calendar import routes as calendar_routes
from linkzoom.calendar import webhooks as calendar_webhooks
from linkzoom.calendar.sources import graph_notifications
from linkzoom.clock import Clock, utcnow
from linkzoom.compose import routes as compose_routes
from linkzoom.config import Settings
from linkzoom.controller import routes as controller_routes
from linkzoom.grant import service as grant_service
from linkzoom.http import index as index_routes
from linkzoom.http import openapi
from linkzoom.http.errors import handle_http_exception, handle_problem, handle_unexpected
from linkzoom.http.middleware import RequestContextMiddleware
from linkzoom.identity import routes as identity_routes
from linkzoom.metrics import Metrics
from linkzoom.problems import NotFound, Problem
from linkzoom.runtime import Runtime, open_runtime
from linkzoom.zoom import app_credentials
from linkzoom.zoom import routes as zoom_routes
from linkzoom.zoom.app_credentials import SANDBOX_PREFIX

log = logging.getLogger(__name__)


def create_app(settings: Settings, *, clock: Clock = utcnow, with_worker: bool = True) -> Starlette:
    zoom_app = app_credentials.resolve(settings)
    metrics = Metrics()
    routes: list[BaseRoute] = [
        *health.routes,
        *identity_routes.routes,
        *zoom_routes.routes,
        *compose_routes.routes,
        *calendar_routes.routes,
        *graph_notifications.routes,
        *controller_routes.routes,
        *addin_routes.routes,
        *index_routes.routes,
        *openapi.routes,
    ]
    sandbox = None
    if zoom_app.sandboxed:
        from linkzoom.sandbox.app import create_sandbox_app
        from linkzoom.sandbox.config import SandboxConfig

        sandbox = create_sandbox_app(
            SandboxConfig(
                client_id=zoom_app.client_id,
                client_secret=zoom_app.client_secret,
                webhook_secret=zoom_app.webhook_secret,
                webhook_url=settings.public_url + "/webhooks/zoom",
                daily_write_limit=settings.zoom_daily_write_limit,
                state_file=settings.var_dir / "sandbox-state.json",
            )
        )
        routes.append(Mount(SANDBOX_PREFIX, app=_while_sandboxed(sandbox)))

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[Mapping[str, Any]]:
        async with contextlib.AsyncExitStack() as stack:
            if sandbox is not None:
                # Mounted apps get no lifespan of their own from Starlette; run the sandbox's.
                await stack.enter_async_context(sandbox.router.lifespan_context(sandbox))
                log.warning(
                    "ZOOM SANDBOX: no Zoom app is configured, meetings are simulated at %s%s",
                    settings.public_url,
                    SANDBOX_PREFIX,
                )
            runtime = await stack.enter_async_context(
                open_runtime(settings, zoom_app, metrics=metrics, clock=clock)
            )
            runtime.webhooks.on(
                "app_deauthorized", grant_service.deauthorization_handler(runtime.zoom_accounts)
            )
            calendar_webhooks.register(runtime)  # meeting.deleted / meeting.updated
            app.state.runtime = runtime
            stop = asyncio.Event()
            task = asyncio.create_task(worker.run(runtime, stop)) if with_worker else None
            try:
                yield {}
            finally:
                stop.set()
                if task is not None:
                    await task

    app = Starlette(
        routes=routes,
        middleware=[
            *_proxy_headers(settings),
            Middleware(RequestContextMiddleware, metrics=metrics, route_of=_route_labeller(routes)),
        ],
        exception_handlers={
            Problem: handle_problem,
            HTTPException: handle_http_exception,
            Exception: handle_unexpected,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = metrics
    return app


def _proxy_headers(settings: Settings) -> list[Middleware]:
    """Behind the proxies named in ``LINKZOOM_TRUSTED_PROXIES``, the client is the address they
    forward (uvicorn's middleware takes the nearest untrusted hop of ``X-Forwarded-For``), so
    the login throttle and the audit see people, not the proxy. Nobody else is believed."""
    if not settings.trusted_proxies:
        return []
    return [Middleware(ProxyHeadersMiddleware, trusted_hosts=list(settings.trusted_proxies))]


def _while_sandboxed(sandbox: ASGIApp) -> ASGIApp:
    """The sandbox answers only while it is the Zoom app in effect. Once an administrator
    configures a real Zoom app at run time, the whole mount (its unauthenticated control API
    included) is a 404 like any unknown path, without a restart; it answers again if the app is
    cleared. Before the lifespan has built the runtime, nothing is served either."""

    async def gate(scope: Scope, receive: Receive, send: Send) -> None:
        runtime: Runtime | None = getattr(scope["app"].state, "runtime", None)
        if runtime is None or not runtime.zoom_app.sandboxed:
            raise NotFound("No such resource.")
        await sandbox(scope, receive, send)

    return gate


def _route_labeller(routes: list[BaseRoute]) -> Callable[[Scope], str]:
    """Label metrics by route template, never by raw path (unbounded cardinality, secrets)."""
    by_endpoint = {route.endpoint: route.path for route in routes if isinstance(route, Route)}
    mounts = [route.path for route in routes if isinstance(route, Mount)]

    def label(scope: Scope) -> str:
        endpoint = scope.get("endpoint")
        if endpoint in by_endpoint:
            return by_endpoint[endpoint]
        path: str = scope.get("path", "")
        return next((m for m in mounts if path.startswith(m + "/")), "unmatched")

    return label
