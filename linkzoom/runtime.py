"""Every long-lived resource of a process, built once at start-up and passed down."""

from __future__ import annotations

import asyncio
import contextlib
import urllib.request
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.client import HTTPResponse
from http.cookiejar import Cookie, CookieJar
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.templating import Jinja2Templates

from linkzoom.clock import Clock, utcnow
from linkzoom.config import Settings
from linkzoom.grant.consent import Authorizations
from linkzoom.grant.refresh import TokenRefresher, lease_for
from linkzoom.grant.service import ZoomAccounts
from linkzoom.identity.ldap import LdapDirectory
from linkzoom.identity.login import Authenticator
from linkzoom.metrics import Metrics
from linkzoom.store.db import SessionFactory, create_engine, session_factory
from linkzoom.store.runners import ProgramRunner, open_runner
from linkzoom.vault.keyring import KeySource
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.app_credentials import ZoomApp, ZoomApps
from linkzoom.zoom.client import ZoomClient
from linkzoom.zoom.connection_pool import pooled_transport
from linkzoom.zoom.meetings import ZoomMeetings
from linkzoom.zoom.oauth import ZoomOAuth
from linkzoom.zoom.retry import RetryPolicy
from linkzoom.zoom.webhooks import WebhookIntake

if TYPE_CHECKING:
    from linkzoom.calendar.service import Mirror


@dataclass(kw_only=True)
class Runtime:
    settings: Settings
    zoom_apps: ZoomApps
    clock: Clock
    engine: AsyncEngine
    sessions: SessionFactory
    # The request path's transactions, on the lean drivers (linkzoom.store.runners).
    programs: ProgramRunner
    keys: KeySource
    sealer: Sealer
    http: httpx.AsyncClient
    metrics: Metrics
    zoom: ZoomClient
    tokens: TokenRefresher
    meetings: ZoomMeetings
    authorizations: Authorizations
    zoom_accounts: ZoomAccounts
    authenticator: Authenticator
    webhooks: WebhookIntake
    templates: Jinja2Templates
    # The calendar mirror (pacer, Zoom calls, runner) of this process, made on first use by
    # linkzoom.calendar.service.mirror_of: it needs the runtime to be built first.
    calendar_mirror: Mirror | None = field(default=None, repr=False)

    @property
    def zoom_app(self) -> ZoomApp:
        """The Zoom app in effect now (an administrator can change it at run time)."""
        return self.zoom_apps.current

    @property
    def oauth(self) -> ZoomOAuth:
        return self.zoom_apps.oauth()


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing. One client calls Zoom for every user, so a cookie set in
    an answer to one user's call would otherwise ride on the next user's (Zoom's API is
    authorised by the bearer token alone; its answers may still set cookies). Skipping the
    jar's parsing also spares each call the work of reading ``Set-Cookie``."""

    def extract_cookies(self, response: HTTPResponse, request: urllib.request.Request) -> None:
        return None

    def set_cookie(self, cookie: Cookie) -> None:
        return None


def http_client(settings: Settings) -> httpx.AsyncClient:
    timeout = httpx.Timeout(
        settings.zoom_timeout_seconds, connect=min(5.0, settings.zoom_timeout_seconds)
    )
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50, keepalive_expiry=30)
    return httpx.AsyncClient(
        transport=pooled_transport(limits),
        cookies=_NoCookies(),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )


@asynccontextmanager
async def open_runtime(
    settings: Settings, zoom_app: ZoomApp, *, metrics: Metrics, clock: Clock = utcnow
) -> AsyncIterator[Runtime]:
    engine = create_engine(settings.database_url)
    sessions = session_factory(engine)
    programs = open_runner(settings.database_url, sessions)
    keys = KeySource(settings)
    sealer = Sealer(keys)
    async with http_client(settings) as http:
        # Every user of the Zoom app asks zoom_apps each time, so a change made on the console
        # (or by another process) takes effect without a restart.
        zoom_apps = ZoomApps(
            zoom_app,
            settings=settings,
            sessions=sessions,
            sealer=sealer,
            http=http,
            metrics=metrics,
            clock=clock,
        )
        await zoom_apps.reload()
        oauth = zoom_apps.oauth
        zoom = ZoomClient(http, api_url=zoom_apps.api_url, metrics=metrics, clock=clock)
        zoom_accounts = ZoomAccounts(sessions, sealer, oauth=oauth, clock=clock)
        tokens = TokenRefresher(
            sessions,
            sealer,
            oauth=oauth,
            clock=clock,
            metrics=metrics,
            lease=lease_for(settings.zoom_timeout_seconds, RetryPolicy()),
            revoke_owed=zoom_accounts.revoke_owed,
        )
        runtime = Runtime(
            settings=settings,
            zoom_apps=zoom_apps,
            clock=clock,
            engine=engine,
            sessions=sessions,
            programs=programs,
            keys=keys,
            sealer=sealer,
            http=http,
            metrics=metrics,
            zoom=zoom,
            tokens=tokens,
            meetings=ZoomMeetings(
                sessions,
                programs,
                zoom,
                tokens,
                clock=clock,
                metrics=metrics,
                daily_write_limit=settings.zoom_daily_write_limit,
            ),
            authorizations=Authorizations(
                sessions,
                sealer,
                oauth=oauth,
                zoom=zoom,
                clock=clock,
                public_url=settings.public_url,
                reauthorize_after=timedelta(days=settings.reauthorize_days),
                revoke_owed=zoom_accounts.revoke_owed,
            ),
            zoom_accounts=zoom_accounts,
            authenticator=Authenticator(
                sessions,
                directory=LdapDirectory(settings.ldap) if settings.ldap else None,
                clock=clock,
            ),
            webhooks=WebhookIntake(
                sessions, secret=zoom_apps.webhook_secret, clock=clock, metrics=metrics
            ),
            templates=Jinja2Templates(directory=str(Path(__file__).parent / "zoom" / "templates")),
        )
        reloader = asyncio.create_task(zoom_apps.keep_current())
        try:
            yield runtime
        finally:
            reloader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reloader
            await programs.close()
            await engine.dispose()
