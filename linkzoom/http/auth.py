"""API authentication: ``Authorization: Bearer <device token>``."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from linkzoom import features
from linkzoom.identity import device_sessions
from linkzoom.problems import NotAuthenticated
from linkzoom.store.models import DeviceSession, User


@dataclass(frozen=True, kw_only=True)
class Caller:
    user: User
    device: DeviceSession
    zoom_enabled: bool  # the feature switch, read by the authenticating statement


def bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated("Send a device token as 'Authorization: Bearer <token>'.")
    return token.strip()


async def api_caller(request: Request, *, zoom_feature: bool = False) -> Caller:
    """The signed-in device's user and the feature switch (read by the same statement, sparing
    a round trip); with ``zoom_feature`` refuses unless an administrator has enabled Zoom (403
    ``feature-disabled``)."""
    runtime = request.app.state.runtime
    token = bearer_token(request)
    # Not atomic: one read, and at most a touch of last_seen_at that stands alone (on PostgreSQL
    # no BEGIN/COMMIT round trips; on SQLite no write lock for a read).
    user, device, switch = await runtime.programs.run(
        device_sessions.authenticating(token, now=runtime.clock(), also=features.ZOOM_SWITCH),
        atomic=False,
    )
    if zoom_feature:
        features.check_zoom_enabled(switch)
    # A 409 answered later in this request carries a consent link only this device can claim.
    request.state.device_session_id = device.id
    return Caller(user=user, device=device, zoom_enabled=switch == features.ON)


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None
