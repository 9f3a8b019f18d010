"""Which Zoom app is in effect: the pure rule, the sealed store, and run-time reloads."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from linkzoom.config import Settings
from linkzoom.runtime import Runtime
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.db import transaction
from linkzoom.vault.keyring import KeyRing, generate_key
from linkzoom.zoom import app_credentials
from linkzoom.zoom.app_credentials import Sources, StoredApp, ZoomApp, effective

ENV = ZoomApp(
    client_id="env-id",
    client_secret="env-secret",
    webhook_secret="env-hook",
    oauth_url="https://zoom.example",
    api_url="https://api.zoom.example/v2",
    sandboxed=False,
)
SANDBOX = ZoomApp(
    client_id="sandbox-1",
    client_secret="sandbox-secret",
    webhook_secret="sandbox-hook",
    oauth_url="http://127.0.0.1:8000/zoom-sandbox",
    api_url="http://127.0.0.1:8000/zoom-sandbox/v2",
    sandboxed=True,
)
REAL = {"oauth_url": "https://zoom.us", "api_url": "https://api.zoom.us/v2"}


@pytest.mark.parametrize(
    ("base", "stored", "expected", "sources"),
    [
        (ENV, StoredApp(), ("env-id", "env-secret", "env-hook"), ("environment",) * 3),
        (
            ENV,
            StoredApp(client_id="new", client_secret="new-secret"),
            ("new", "new-secret", "env-hook"),
            ("console", "console", "environment"),
        ),
        (
            ENV,
            StoredApp(client_secret="rotated"),
            ("env-id", "rotated", "env-hook"),
            ("environment", "console", "environment"),
        ),
        # An id without its secret is ignored: a secret belongs to its id.
        (
            ENV,
            StoredApp(client_id="half"),
            ("env-id", "env-secret", "env-hook"),
            ("environment",) * 3,
        ),
        (
            ENV,
            StoredApp(webhook_secret="hook"),
            ("env-id", "env-secret", "hook"),
            ("environment", "environment", "console"),
        ),
        (SANDBOX, StoredApp(), ("sandbox-1", "sandbox-secret", "sandbox-hook"), ("sandbox",) * 3),
        (
            SANDBOX,
            StoredApp(client_id="half", webhook_secret="hook"),
            ("sandbox-1", "sandbox-secret", "sandbox-hook"),
            ("sandbox",) * 3,
        ),
        (
            SANDBOX,
            StoredApp(client_id="real", client_secret="real-secret"),
            ("real", "real-secret", None),  # the sandbox's webhook secret never carries over
            ("console", "console", None),
        ),
        (
            SANDBOX,
            StoredApp(client_id="real", client_secret="real-secret", webhook_secret="hook"),
            ("real", "real-secret", "hook"),
            ("console",) * 3,
        ),
    ],
)
def test_effective_app(
    base: ZoomApp,
    stored: StoredApp,
    expected: tuple[str, str, str | None],
    sources: tuple[str | None, ...],
) -> None:
    app, where = effective(base, stored, **REAL)
    assert (app.client_id, app.client_secret, app.webhook_secret) == expected
    assert (where.client_id, where.client_secret, where.webhook_secret) == sources
    if base.sandboxed and where.client_id == "console":
        # A real app over the sandbox talks to the configured Zoom, not to the simulation.
        assert (app.oauth_url, app.api_url, app.sandboxed) == (*REAL.values(), False)
    else:
        assert (app.oauth_url, app.api_url, app.sandboxed) == (
            base.oauth_url,
            base.api_url,
            base.sandboxed,
        )


def test_secrets_stay_out_of_reprs() -> None:
    text = repr(StoredApp(client_id="i", client_secret="s3cret", webhook_secret="h00k")) + repr(ENV)
    assert "s3cret" not in text and "h00k" not in text and "env-secret" not in text
    assert Sources(client_id="console", client_secret="console", webhook_secret=None)


async def test_saved_values_are_sealed_and_take_effect_on_reload(runtime: Runtime) -> None:
    apps = runtime.zoom_apps
    first_oauth = runtime.oauth
    assert runtime.oauth is first_oauth  # cached while the app does not change
    async with transaction(runtime.sessions) as session:
        await app_credentials.save_stored(
            session,
            runtime.sealer,
            client_id="console-id",
            client_secret="console-secret",
            webhook_secret=None,
            now=runtime.clock(),
        )
        rows = list(await session.scalars(select(SealedSetting)))
    assert [r.name for r in rows] == ["zoom.app.client_secret"]
    assert b"console-secret" not in rows[0].ciphertext
    assert runtime.zoom_app.client_id == "test-client-id"  # not before a reload
    await apps.reload()
    assert runtime.zoom_app.client_id == "console-id"
    assert runtime.oauth is not first_oauth and "console-id" in repr(runtime.oauth)
    assert runtime.webhooks is not None and apps.webhook_secret() == "test-webhook-secret"
    assert runtime.zoom_app.api_url == "https://api.zoom.test/v2"


async def test_another_process_picks_up_the_change(runtime: Runtime, settings: Settings) -> None:
    apps = runtime.zoom_apps
    reloader = asyncio.create_task(apps.keep_current(interval=0.01))
    try:
        async with transaction(runtime.sessions) as session:
            await app_credentials.save_stored(
                session,
                runtime.sealer,
                client_id=None,
                client_secret=None,
                webhook_secret="rotated-hook",
                now=runtime.clock(),
            )
        for _ in range(200):
            if apps.webhook_secret() == "rotated-hook":
                break
            await asyncio.sleep(0.01)
        assert apps.webhook_secret() == "rotated-hook"
    finally:
        reloader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reloader


async def test_stored_secrets_follow_key_rotation(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await app_credentials.save_stored(
            session,
            runtime.sealer,
            client_id="id",
            client_secret="secret",
            webhook_secret="hook",
            now=runtime.clock(),
        )
    old_kid = runtime.sealer.primary_kid
    runtime.keys.ring = KeyRing((generate_key(), *runtime.keys.ring.keys))
    await runtime.zoom_apps.reload()
    async with transaction(runtime.sessions) as session:
        kids = set(await session.scalars(select(SealedSetting.key_id)))
    assert kids == {runtime.sealer.primary_kid} and old_kid not in kids
    assert runtime.zoom_app.client_secret == "secret"


async def test_an_unreadable_store_keeps_the_app_in_effect(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        session.add(
            SealedSetting(
                name="zoom.app.client_secret",
                key_id="gone",
                ciphertext=b"x" * 40,
                updated_at=runtime.clock(),
            )
        )
    before = runtime.zoom_app
    assert await runtime.zoom_apps.reload() == before


async def test_clearing_returns_to_the_environment(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await app_credentials.save_stored(
            session,
            runtime.sealer,
            client_id="id",
            client_secret="secret",
            webhook_secret="hook",
            now=runtime.clock(),
        )
    await runtime.zoom_apps.reload()
    async with transaction(runtime.sessions) as session:
        await app_credentials.clear_stored(session)
    await runtime.zoom_apps.reload()
    assert runtime.zoom_app.client_id == "test-client-id"
    assert runtime.zoom_apps.sources.client_secret == "environment"
