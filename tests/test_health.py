"""Readiness tells the truth about the database; liveness does not depend on it."""

from __future__ import annotations

from pathlib import Path

import httpx

from linkzoom.app import create_app
from linkzoom.config import Settings
from tests.support.keys import new_keyring


async def test_readiness_fails_cleanly_when_the_database_is_unreachable(tmp_path: Path) -> None:
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1:1/none",
        var_dir=tmp_path,
        keys=new_keyring(),
        zoom_client_id="id",
        zoom_client_secret="secret",
        public_url="http://linkzoom.test",
    )
    app = create_app(settings, with_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://linkzoom.test"
        ) as client:
            assert (await client.get("/healthz")).status_code == 200
            ready = await client.get("/readyz")
            me = await client.get("/api/v1/me", headers={"authorization": "Bearer lzd_x"})
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert ready.json()["type"] == "http://linkzoom.test/problems/service-unavailable"
    assert me.status_code == 503 and "Traceback" not in me.text
