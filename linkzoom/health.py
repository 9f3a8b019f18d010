"""Liveness, readiness and metrics endpoints."""

from __future__ import annotations

import time

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from linkzoom.metrics import CONTENT_TYPE_LATEST
from linkzoom.problems import ServiceUnavailable
from linkzoom.store.db import transaction
from linkzoom.vault.key_check import missing_key_ids


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


# The sealed-key check reads every sealed column's distinct key ids; once per this many
# seconds per process is plenty for a probe that runs every few seconds.
KEY_CHECK_SECONDS = 15.0


async def readyz(request: Request) -> Response:
    """Ready: the database answers and every stored secret's key is in this process's ring."""
    runtime = request.app.state.runtime
    try:
        async with runtime.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        missing = await _missing_keys(request)
    except (SQLAlchemyError, OSError) as exc:
        raise ServiceUnavailable("The database is not reachable.") from exc
    if missing:
        raise ServiceUnavailable(
            "Stored secrets are sealed under keys this process's key ring lacks or holds with "
            "other bytes: "
            + ", ".join(sorted(missing))
            + ". Start every process with the same LINKZOOM_KEYS (old keys after the primary)."
        )
    return JSONResponse({"status": "ready", "zoom_sandboxed": runtime.zoom_app.sandboxed})


async def _missing_keys(request: Request) -> set[str]:
    state = request.app.state
    checked = getattr(state, "key_check", None)
    if checked is not None and time.monotonic() - checked[0] < KEY_CHECK_SECONDS and not checked[1]:
        return set()
    runtime = state.runtime
    async with transaction(runtime.sessions) as session:
        missing = await missing_key_ids(
            session, known=lambda kid: runtime.keys.find(kid) is not None, sealer=runtime.sealer
        )
    state.key_check = (time.monotonic(), missing)
    return missing


async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
