"""Readiness tells the truth about the database; liveness does not depend on it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx

from linkzoom.app import create_app
from linkzoom.config import Settings
from linkzoom.identity.users import add_local
from linkzoom.store.db import create_engine, session_factory, transaction
from linkzoom.vault import preferences
from linkzoom.vault.keyring import KeyRing, KeySource
from linkzoom.vault.seal import Sealer
from tests.support.keys import new_keyring

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


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


async def ready_answer(settings: Settings) -> httpx.Response:
    app = create_app(settings, with_worker=False)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=settings.public_url) as client:
            return await client.get("/readyz")


async def test_readiness_fails_while_a_stored_secret_names_a_key_this_ring_lacks(
    settings: Settings,
) -> None:
    """A process started with another LINKZOOM_KEYS must not take traffic it cannot serve."""
    engine = create_engine(settings.database_url)
    async with transaction(session_factory(engine)) as session:
        user = await add_local(session, username="kim", password="kim-password-1", now=NOW)
        user_id = user.id
        await preferences.put(
            session,
            Sealer(KeySource(settings)),
            user_id=user_id,
            resource="Zoom",
            tag="oauth",
            payload={"access_token": "a", "refresh_token": "r"},
            now=NOW,
        )
    await engine.dispose()
    assert (await ready_answer(settings)).status_code == 200
    stranger = await ready_answer(settings.replace(keys=new_keyring()))
    assert stranger.status_code == 503
    assert stranger.json()["type"].endswith("/problems/service-unavailable")
    kid = KeyRing.parse(settings.keys or "").primary.kid
    assert kid in stranger.json()["detail"] and "LINKZOOM_KEYS" in stranger.json()["detail"]
    # A ring without that key id at all is refused the same way.
    elsewhere = await ready_answer(settings.replace(keys=new_keyring("k2")))
    assert elsewhere.status_code == 503 and kid in elsewhere.json()["detail"]
