"""The floor for ``bench/compose.py``: a bare forwarder that receives a compose request, makes the
same single Zoom create call (same body, same HTTP client library) and answers.

No database, no device sessions, no quota, no recovery: whatever linkzoom does beyond this is
its overhead. Device tokens map to Zoom access tokens through a JSON file the benchmark writes.

    .venv/bin/python bench/forwarder.py --port 8950 --api-url http://127.0.0.1:8900/v2 \
        --tokens tokens.json
"""

from __future__ import annotations

import argparse
import json
import secrets
import string
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from linkzoom.zoom.connection_pool import pooled_transport

ALPHABET = string.ascii_letters + string.digits


def create_body(data: dict[str, Any]) -> dict[str, Any]:
    """The create body linkzoom sends for a compose meeting with default policy."""
    return {
        "topic": data.get("topic") or "Zoom meeting — bench",
        "type": 2,
        "start_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration": data.get("duration_minutes") or 30,
        "timezone": data.get("timezone") or "UTC",
        "password": "".join(secrets.choice(ALPHABET) for _ in range(10)),
        "settings": {
            "join_before_host": True,
            "jbh_time": 0,
            "waiting_room": False,
            "mute_upon_entry": False,
        },
    }


def create_forwarder(api_url: str, tokens: dict[str, str], *, pool: str = "stock") -> Starlette:
    """``pool``: ``stock`` is httpx's own connection pool (a bare forwarder as anyone would
    write it); ``zoom`` is the pool linkzoom's Zoom client uses
    (``linkzoom/zoom/connection_pool.py``), for the floor with the same HTTP stack."""
    state: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        transport = pooled_transport(limits) if pool == "zoom" else None
        async with httpx.AsyncClient(
            timeout=10, limits=limits, trust_env=False, transport=transport
        ) as http:
            state["http"] = http
            yield

    async def compose(request: Request) -> Response:
        _, _, device_token = request.headers.get("authorization", "").partition(" ")
        zoom_token = tokens.get(device_token)
        if zoom_token is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        raw = await request.body()
        data = json.loads(raw) if raw.strip() else {}
        answer = await state["http"].post(
            f"{api_url}/users/me/meetings",
            json=create_body(data),
            headers={"authorization": f"Bearer {zoom_token}"},
        )
        if answer.status_code != 201:
            return JSONResponse({"error": f"Zoom answered {answer.status_code}"}, status_code=502)
        meeting = answer.json()
        return JSONResponse(
            {
                "id": str(meeting["id"]),
                "zoom_meeting_id": meeting["id"],
                "join_url": meeting["join_url"],
                "passcode": meeting.get("password"),
                "start_time": meeting["start_time"],
                "duration_minutes": meeting["duration"],
                "timezone": meeting["timezone"],
            },
            status_code=201,
        )

    return Starlette(
        routes=[Route("/api/v1/compose/meetings", compose, methods=["POST"])], lifespan=lifespan
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--api-url", required=True)
    parser.add_argument("--tokens", type=Path, required=True)
    parser.add_argument("--pool", choices=("stock", "zoom"), default="stock")
    args = parser.parse_args()
    tokens = json.loads(args.tokens.read_text())
    app = create_forwarder(args.api_url.rstrip("/"), tokens, pool=args.pool)
    uvicorn.run(app, host="127.0.0.1", port=args.port, access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
