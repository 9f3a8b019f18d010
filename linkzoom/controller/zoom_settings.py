"""Console use cases for the Zoom page: the feature switch, the Zoom app, meeting defaults, the
reauthorization period, and the connection test. Every change is audited; no secret is."""

from __future__ import annotations

import secrets
from dataclasses import asdict

import httpx
from sqlalchemy import func, select

from linkzoom import audit, features
from linkzoom.controller.forms import CredentialChange
from linkzoom.controller.models import Check, Viewer, ZoomSettingsView
from linkzoom.grant import reauthorization, revocations
from linkzoom.grant.consent import CALLBACK_PATH
from linkzoom.http import wire
from linkzoom.problems import (
    Problem,
    ZoomAccessTokenRejected,
    ZoomGrantInvalid,
    ZoomUnavailable,
)
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import WebhookDelivery
from linkzoom.zoom import app_credentials, meeting_defaults
from linkzoom.zoom.meeting_defaults import MeetingDefaults

WEBHOOK_PATH = "/webhooks/zoom"
PROBE_PREFIX = "linkzoom-connection-test-"


async def view(runtime: Runtime) -> ZoomSettingsView:
    app, public = runtime.zoom_app, runtime.settings.public_url
    async with transaction(runtime.sessions) as session:
        enabled = await features.zoom_enabled(session)
        defaults = await meeting_defaults.load(session)
        days = await reauthorization.stored_days(session)
        owed = await revocations.owed(session)
        unreadable = await revocations.unreadable(session)
    sources = runtime.zoom_apps.sources
    return ZoomSettingsView(
        enabled=enabled,
        sandboxed=app.sandboxed,
        client_id=None if app.sandboxed else app.client_id,
        sources=sources,
        has_stored_values="console" in (sources.client_id, sources.webhook_secret)
        or sources.client_secret == "console",
        redirect_url=public + CALLBACK_PATH,
        webhook_url=public + WEBHOOK_PATH,
        defaults=defaults,
        reauthorize_days=days,
        default_reauthorize_days=runtime.settings.reauthorize_days,
        revokes_owed=owed,
        revokes_unreadable=unreadable,
    )


async def _audit(
    runtime: Runtime, admin: Viewer, action: str, address: str | None, **detail: object
) -> None:
    async with transaction(runtime.sessions) as session:
        await audit.record(
            session,
            action=action,
            at=runtime.clock(),
            actor=admin.username,
            actor_user_id=admin.user_id,
            address=address,
            detail=dict(detail),
        )


async def set_feature(
    runtime: Runtime, admin: Viewer, *, enabled: bool, address: str | None
) -> str:
    """The same switch as ``linkzoom zoom enable|disable``."""
    async with transaction(runtime.sessions) as session:
        changed = await features.set_zoom_enabled(session, enabled, now=runtime.clock())
    if changed:
        action = "zoom.feature_enabled" if enabled else "zoom.feature_disabled"
        await _audit(runtime, admin, action, address)
    return "feature-enabled" if enabled else "feature-disabled"


async def save_credentials(
    runtime: Runtime, admin: Viewer, change: CredentialChange, *, address: str | None
) -> str:
    async with transaction(runtime.sessions) as session:
        await app_credentials.save_stored(
            session,
            runtime.sealer,
            client_id=change.client_id,
            client_secret=change.client_secret,
            webhook_secret=change.webhook_secret,
            now=runtime.clock(),
        )
    await runtime.zoom_apps.reload()  # this process at once; the others within seconds
    # Which fields changed, never their values.
    await _audit(runtime, admin, "zoom.app_changed", address, fields=change.changed)
    return "credentials-saved"


async def clear_credentials(runtime: Runtime, admin: Viewer, *, address: str | None) -> str:
    async with transaction(runtime.sessions) as session:
        await app_credentials.clear_stored(session)
    await runtime.zoom_apps.reload()
    await _audit(runtime, admin, "zoom.app_cleared", address)
    return "credentials-cleared"


async def save_defaults(
    runtime: Runtime, admin: Viewer, defaults: MeetingDefaults, *, address: str | None
) -> str:
    async with transaction(runtime.sessions) as session:
        await meeting_defaults.save(session, defaults, now=runtime.clock())
    await _audit(runtime, admin, "zoom.meeting_defaults_changed", address, **asdict(defaults))
    return "defaults-saved"


async def save_reauthorize_days(
    runtime: Runtime, admin: Viewer, days: int | None, *, address: str | None
) -> str:
    async with transaction(runtime.sessions) as session:
        await reauthorization.save_days(session, days, now=runtime.clock())
    await _audit(runtime, admin, "zoom.reauthorization_period_changed", address, days=days)
    return "reauthorization-saved"


async def test_connection(runtime: Runtime, admin: Viewer, *, address: str | None) -> list[Check]:
    """Three checks that need no user's grant and change nothing at Zoom.

    1. The client ID and secret: a refresh with a made-up refresh token. Zoom authenticates the
       client before it looks at the token, so a wrong ID or secret is refused as
       ``invalid_client`` while a right one gets as far as ``invalid_grant`` for the token.
    2. The REST API base: ``GET /users/me`` without a token must be Zoom's own 401 (code 124),
       which tells Zoom's API apart from a wrong URL, a proxy page or a firewall.
    3. Webhooks: whether a secret is set, and when a verified notification last arrived (Zoom
       validates the endpoint itself, with this secret, when the URL is saved at Zoom).
    """
    checks = [
        await check_client(runtime),
        await check_api(runtime),
        await _check_webhooks(runtime),
    ]
    await _audit(
        runtime,
        admin,
        "zoom.connection_tested",
        address,
        client_id=runtime.zoom_app.client_id,
        failed=[check.name for check in checks if not check.ok],
    )
    return checks


async def check_client(runtime: Runtime) -> Check:
    """The client ID and secret (see :func:`test_connection`); also ``linkzoom doctor``'s."""
    name, origin = "Client ID and secret", wire.origin(runtime.zoom_app.oauth_url)
    try:
        await runtime.oauth.refresh(PROBE_PREFIX + secrets.token_urlsafe(16))
    except ZoomGrantInvalid:
        return Check(
            name=name,
            ok=True,
            detail=f"{origin} accepted the client ID and secret; it refused only the made-up "
            "refresh token sent to test them.",
        )
    except ZoomUnavailable as exc:
        return Check(name=name, ok=False, detail=f"Could not reach {origin}: {exc.detail}")
    except Problem as exc:
        return Check(name=name, ok=False, detail=f"Zoom refused the client: {exc.detail}")
    return Check(name=name, ok=False, detail=f"{origin} issued tokens for a made-up token.")


async def check_api(runtime: Runtime) -> Check:
    """The REST API base (see :func:`test_connection`); also ``linkzoom doctor``'s."""
    name, base = "Zoom API", runtime.zoom_app.api_url
    try:
        await runtime.zoom.get_me(auth=httpx.Auth())  # deliberately no token
    except ZoomAccessTokenRejected:
        return Check(
            name=name,
            ok=True,
            detail=f"{base} answered as Zoom does: it wants a user's access token.",
        )
    except ZoomUnavailable as exc:
        return Check(name=name, ok=False, detail=f"Could not reach {base}: {exc.detail}")
    except Problem as exc:
        return Check(name=name, ok=False, detail=f"Unexpected answer from {base}: {exc.detail}")
    return Check(name=name, ok=False, detail=f"{base} answered without asking for a token.")


async def _check_webhooks(runtime: Runtime) -> Check:
    name = "Webhook secret"
    if not runtime.zoom_app.webhook_secret:
        return Check(
            name=name,
            ok=False,
            detail="No webhook secret is set, so Zoom's notifications (such as a user removing "
            "the app) cannot be verified and are refused.",
        )
    async with transaction(runtime.sessions) as session:
        last = await session.scalar(select(func.max(WebhookDelivery.received_at)))
    seen = (
        f"The last verified notification arrived {last:%Y-%m-%d %H:%M} UTC."
        if last is not None
        else "No verified notification has arrived yet."
    )
    return Check(
        name=name,
        ok=True,
        detail="A secret is set; Zoom validates the endpoint with it when you save the webhook "
        f"URL in the Marketplace. {seen}",
    )
