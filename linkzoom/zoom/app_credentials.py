"""Which Zoom app we act as, at start-up and at run time.

Three sources, strongest first:

1. values an administrator saved on the console: the client id in ``app_settings``, the client
   secret and webhook secret sealed by the vault in ``sealed_settings``;
2. the environment (``LINKZOOM_ZOOM_CLIENT_ID`` / ``_CLIENT_SECRET`` / ``_WEBHOOK_SECRET``);
3. with neither, the built-in sandbox: ``linkzoom run`` mounts it under ``/zoom-sandbox`` and talks
   to it over real HTTP, as it would to Zoom. Its credentials are generated once into the var
   directory (mode 0600) so grants survive a restart.

:func:`resolve` picks between 2 and 3 once, at start-up (it decides whether the sandbox is
mounted; the mount answers only while the app in effect is the sandbox, see ``linkzoom.app``).
:class:`ZoomApps` lays 1 over that at run time: it reloads the stored values at start,
at once after an administrator saves them, and every :data:`RELOAD_SECONDS` in every process, so
the worker and other processes follow without a restart. :func:`effective` is the pure rule.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import httpx
from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.clock import Clock
from linkzoom.config import Settings
from linkzoom.grant.consent import CALLBACK_PATH
from linkzoom.metrics import Metrics
from linkzoom.problems import Problem
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.models import AppSetting
from linkzoom.vault import sealed_settings
from linkzoom.vault.seal import Sealer
from linkzoom.vault.sealed_settings import setting_context
from linkzoom.zoom.oauth import ZoomOAuth

log = logging.getLogger(__name__)

SANDBOX_PREFIX = "/zoom-sandbox"
RELOAD_SECONDS = 5.0
CLIENT_ID_KEY = "zoom.app.client_id"
CLIENT_SECRET_NAME = "zoom.app.client_secret"
WEBHOOK_SECRET_NAME = "zoom.app.webhook_secret"
Source = Literal["console", "environment", "sandbox"]


@dataclass(frozen=True, kw_only=True)
class ZoomApp:
    client_id: str
    client_secret: str = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    oauth_url: str
    api_url: str
    sandboxed: bool


@dataclass(frozen=True, kw_only=True)
class StoredApp:
    """What an administrator saved; ``None`` means "not set here, fall back"."""

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)


@dataclass(frozen=True, kw_only=True)
class Sources:
    """Where each effective value came from (``None``: nowhere, it is unset)."""

    client_id: Source
    client_secret: Source
    webhook_secret: Source | None


def resolve(settings: Settings) -> ZoomApp:
    if settings.zoom_client_id is not None:
        assert settings.zoom_client_secret is not None
        return ZoomApp(
            client_id=settings.zoom_client_id,
            client_secret=settings.zoom_client_secret,
            webhook_secret=settings.zoom_webhook_secret,
            oauth_url=settings.zoom_oauth_url,
            api_url=settings.zoom_api_url,
            sandboxed=False,
        )
    path = settings.var_dir / "sandbox-app.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "client_id": "sandbox-" + secrets.token_hex(6),
                    "client_secret": secrets.token_urlsafe(24),
                    "webhook_secret": secrets.token_urlsafe(24),
                },
                handle,
            )
    stored = json.loads(path.read_text())
    base = settings.public_url + SANDBOX_PREFIX
    return ZoomApp(
        client_id=stored["client_id"],
        client_secret=stored["client_secret"],
        webhook_secret=stored["webhook_secret"],
        oauth_url=base,
        api_url=base + "/v2",
        sandboxed=True,
    )


def effective(
    base: ZoomApp, stored: StoredApp, *, oauth_url: str, api_url: str
) -> tuple[ZoomApp, Sources]:
    """The app in effect: stored values over ``base`` (environment or sandbox).

    Over the sandbox, stored values count only as a complete app (id and secret): half an app
    would be neither the sandbox nor Zoom. The sandbox's webhook secret never carries over to a
    real app. A stored client id needs a stored secret (a secret belongs to its id); a stored
    secret alone rotates the environment's app secret.
    """
    fallback: Source = "sandbox" if base.sandboxed else "environment"
    pair = stored.client_id is not None and stored.client_secret is not None
    if base.sandboxed and not pair:
        return base, Sources(client_id="sandbox", client_secret="sandbox", webhook_secret="sandbox")
    client_id, id_source = base.client_id, fallback
    client_secret, secret_source = base.client_secret, fallback
    if pair:
        assert stored.client_id is not None and stored.client_secret is not None
        client_id, client_secret = stored.client_id, stored.client_secret
        id_source = secret_source = "console"
    elif stored.client_secret is not None and stored.client_id is None:
        client_secret, secret_source = stored.client_secret, "console"
    webhook_secret = None if base.sandboxed else base.webhook_secret
    webhook_source: Source | None = None if webhook_secret is None else fallback
    if stored.webhook_secret is not None:
        webhook_secret, webhook_source = stored.webhook_secret, "console"
    app = ZoomApp(
        client_id=client_id,
        client_secret=client_secret,
        webhook_secret=webhook_secret,
        oauth_url=oauth_url if base.sandboxed else base.oauth_url,
        api_url=api_url if base.sandboxed else base.api_url,
        sandboxed=False,
    )
    return app, Sources(
        client_id=id_source, client_secret=secret_source, webhook_secret=webhook_source
    )


async def load_stored(session: AsyncSession, sealer: Sealer) -> StoredApp:
    client_id = await session.scalar(
        select(AppSetting.value).where(AppSetting.key == CLIENT_ID_KEY)
    )
    opened: dict[str, str] = {}
    for row in await session.scalars(
        select(SealedSetting).where(
            SealedSetting.name.in_([CLIENT_SECRET_NAME, WEBHOOK_SECRET_NAME])
        )
    ):
        opened[row.name] = sealer.open(
            row.key_id, row.ciphertext, setting_context(row.name)
        ).decode()
    return StoredApp(
        client_id=client_id,
        client_secret=opened.get(CLIENT_SECRET_NAME),
        webhook_secret=opened.get(WEBHOOK_SECRET_NAME),
    )


async def save_stored(
    session: AsyncSession,
    sealer: Sealer,
    *,
    client_id: str | None,
    client_secret: str | None,
    webhook_secret: str | None,
    now: datetime,
) -> None:
    """Store the given values; ``None`` leaves a value as it is (secrets are write-only)."""
    if client_id is not None:
        await sealed_settings.save_plain(session, {CLIENT_ID_KEY: client_id}, now=now)
    for name, value in ((CLIENT_SECRET_NAME, client_secret), (WEBHOOK_SECRET_NAME, webhook_secret)):
        if value is not None:
            await sealed_settings.save_sealed(session, sealer, name, value, now=now)
    await session.flush()


async def clear_stored(session: AsyncSession) -> None:
    """Forget every stored value: the environment (or the sandbox) applies again."""
    await sealed_settings.remove(
        session, plain=[CLIENT_ID_KEY], sealed=[CLIENT_SECRET_NAME, WEBHOOK_SECRET_NAME]
    )


async def reseal(session: AsyncSession, sealer: Sealer) -> int:
    """Re-seal stored secrets under the primary key (compare-and-swap, like key rotation)."""
    count = 0
    rows = await session.scalars(
        select(SealedSetting).where(SealedSetting.key_id != sealer.primary_kid)
    )
    for row in list(rows):
        context = setting_context(row.name)
        kid, ciphertext = sealer.seal(sealer.open(row.key_id, row.ciphertext, context), context)
        result = await session.execute(
            update(SealedSetting)
            .where(SealedSetting.name == row.name, SealedSetting.version == row.version)
            .values(key_id=kid, ciphertext=ciphertext, version=row.version + 1)
        )
        count += int(getattr(result, "rowcount", 0))
    return count


class ZoomApps:
    """The Zoom app in effect now, and the OAuth client that acts as it."""

    def __init__(
        self,
        base: ZoomApp,
        *,
        settings: Settings,
        sessions: SessionFactory,
        sealer: Sealer,
        http: httpx.AsyncClient,
        metrics: Metrics,
        clock: Clock,
    ) -> None:
        self.base = base
        self._settings = settings
        self._sessions = sessions
        self._sealer = sealer
        self._http = http
        self._metrics = metrics
        self._clock = clock
        self.current, self.sources = effective(
            base, StoredApp(), oauth_url=settings.zoom_oauth_url, api_url=settings.zoom_api_url
        )
        self._oauth: tuple[ZoomApp, ZoomOAuth] | None = None

    def oauth(self) -> ZoomOAuth:
        """The OAuth client for the current app (rebuilt only when the app changed)."""
        app = self.current
        if self._oauth is None or self._oauth[0] != app:
            client = ZoomOAuth(
                self._http,
                oauth_url=app.oauth_url,
                client_id=app.client_id,
                client_secret=app.client_secret,
                redirect_uri=self._settings.public_url + CALLBACK_PATH,
                metrics=self._metrics,
                clock=self._clock,
            )
            self._oauth = (app, client)
        return self._oauth[1]

    def api_url(self) -> str:
        return self.current.api_url

    def webhook_secret(self) -> str | None:
        return self.current.webhook_secret

    async def reload(self) -> ZoomApp:
        """Read the stored values again; a database we cannot read keeps what we have."""
        try:
            async with transaction(self._sessions) as session:
                if await reseal(session, self._sealer):
                    log.info("re-sealed stored zoom app secrets under the primary key")
                stored = await load_stored(session, self._sealer)
        except (Problem, SQLAlchemyError) as exc:
            # The class name only: a database error's text can quote statement parameters.
            log.warning(
                "could not read stored zoom app settings", extra={"error": type(exc).__name__}
            )
            return self.current
        current, sources = effective(
            self.base,
            stored,
            oauth_url=self._settings.zoom_oauth_url,
            api_url=self._settings.zoom_api_url,
        )
        if current != self.current:
            log.info("zoom app changed", extra={"client_id": current.client_id})
        self.current, self.sources = current, sources
        return current

    async def keep_current(self, interval: float = RELOAD_SECONDS) -> None:
        """Reload forever (until cancelled), so other processes' changes reach this one."""
        while True:
            await asyncio.sleep(interval)
            await self.reload()
