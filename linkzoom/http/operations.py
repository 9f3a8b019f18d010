"""The route table of the HTTP API, as the OpenAPI document (:mod:`.openapi`) describes it.

One entry per route and method: its bodies (the typed models of each capability's
``bodies.py``), its success answers, and every problem the code behind it can raise, read from
the handlers and the services they call. Each capability keeps its entries beside its routes
(``operations.py``); the service's own routes are here. ``tests/http/test_openapi.py`` fails
when a route of the app is missing. The controller's HTML pages, the add-in's files
(``/addin/…``) and the sandbox mount are not API and are left out.
"""

from __future__ import annotations

from linkzoom.calendar import operations as calendar
from linkzoom.compose import operations as compose
from linkzoom.http.operation import DATABASE, Operation, Reply
from linkzoom.http.service_bodies import AllowedOrigins, Health, Index, Readiness
from linkzoom.identity import operations as identity
from linkzoom.problems import NotFound
from linkzoom.zoom import operations as zoom

SERVICE: tuple[Operation, ...] = (
    Operation(
        method="GET",
        path="/healthz",
        operation_id="healthz",
        summary="Liveness.",
        tag="service",
        replies=(Reply(status=200, description="Alive.", model=Health),),
    ),
    Operation(
        method="GET",
        path="/readyz",
        operation_id="readyz",
        summary="Readiness: the database answers and every stored secret's key is in the ring.",
        tag="service",
        replies=(Reply(status=200, description="Ready.", model=Readiness),),
        problems=DATABASE,
    ),
    Operation(
        method="GET",
        path="/metrics",
        operation_id="metrics",
        summary="Prometheus metrics.",
        tag="service",
        replies=(
            Reply(status=200, description="Prometheus text format.", media_type="text/plain"),
        ),
    ),
    Operation(
        method="GET",
        path="/",
        operation_id="index",
        summary="Links to the API, health, console and docs (browsers are sent to sign in).",
        tag="service",
        replies=(
            Reply(status=200, description="The index.", model=Index),
            Reply(status=303, description="A browser: to the console.", headers=("Location",)),
        ),
    ),
    Operation(
        method="GET",
        path="/docs",
        operation_id="docs",
        summary="The README: quick start, add-in, configuration, commands (links here).",
        tag="service",
        replies=(Reply(status=200, description="Markdown.", media_type="text/markdown"),),
        problems=(NotFound,),
    ),
    Operation(
        method="GET",
        path="/openapi.json",
        operation_id="openapi",
        summary="This document.",
        tag="service",
        replies=(Reply(status=200, description="OpenAPI 3.1.", media_type="application/json"),),
    ),
    Operation(
        method="GET",
        path="/.well-known/microsoft-officeaddins-allowed.json",
        operation_id="officeAddinsAllowed",
        summary="Origins whose add-in event handlers may call this origin.",
        tag="addin",
        replies=(Reply(status=200, description="The origins.", model=AllowedOrigins),),
    ),
)

OPERATIONS: tuple[Operation, ...] = (
    *identity.OPERATIONS,
    *zoom.OPERATIONS,
    *compose.OPERATIONS,
    *calendar.OPERATIONS,
    *SERVICE,
)
