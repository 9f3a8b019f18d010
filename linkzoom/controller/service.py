"""My Account use cases: what a user sees of themselves, and what they can end.

Each function takes the runtime and the viewer, owns its transactions, and returns values from
:mod:`linkzoom.controller.models` (or a notice code for the page that follows an action).
"""

from __future__ import annotations

from sqlalchemy import select

from linkzoom import audit, features
from linkzoom.controller import notices, sessions
from linkzoom.controller.models import AccountView, DeviceRow, PreferenceRow, Viewer
from linkzoom.grant import service as grant_service
from linkzoom.grant import store as grant_store
from linkzoom.identity import device_sessions
from linkzoom.problems import InvalidCredentials, NotFound
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import Preference, User
from linkzoom.vault import preferences


async def sign_in(
    runtime: Runtime, *, username: str, password: str, address: str | None
) -> tuple[User, sessions.Issued]:
    """Check the credentials (throttled and audited by the authenticator) and open a session.

    Raises :class:`InvalidCredentials` or :class:`TooManyAttempts`; neither says whether the
    user exists.
    """
    user = await runtime.authenticator.login(username, password, address=address)
    if user.disabled_at is not None:  # the authenticator refuses these; belt and braces
        raise InvalidCredentials()
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        await sessions.prune(session, now=now)
        issued = await sessions.issue(
            session,
            user_id=user.id,
            now=now,
            address=address,
            policy=sessions.policy_for(runtime.settings),
        )
    return user, issued


async def sign_out(runtime: Runtime, viewer: Viewer) -> None:
    async with transaction(runtime.sessions) as session:
        await sessions.revoke(session, session_id=viewer.session_id, now=runtime.clock())


async def account(runtime: Runtime, viewer: Viewer) -> AccountView:
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        enabled = await features.zoom_enabled(session)
        zoom = await grant_service.status(session, user_id=viewer.user_id, now=now)
        stored = await preferences.list_for_user(session, user_id=viewer.user_id)
        devices = await device_sessions.for_user(session, user_id=viewer.user_id, now=now)
    return AccountView(
        zoom_enabled=enabled,
        zoom=zoom,
        notice=notices.reauthorization_notice(zoom.reauthorize_by, now),
        preferences=[_preference_row(row) for row in stored],
        devices=[
            DeviceRow(
                id=d.id,
                name=d.device_name,
                created_at=d.created_at,
                last_seen_at=d.last_seen_at,
                expires_at=d.expires_at,
                address=d.created_address,
            )
            for d in devices
        ],
    )


def _is_zoom_grant(row: Preference) -> bool:
    return (row.resource, row.tag) == (grant_store.RESOURCE, grant_store.TAG)


def _preference_row(row: Preference) -> PreferenceRow:
    return PreferenceRow(
        id=row.id,
        resource=row.resource,
        tag=row.tag,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        is_zoom_grant=_is_zoom_grant(row),
    )


async def preference(runtime: Runtime, viewer: Viewer, preference_id: int) -> PreferenceRow:
    """One of the viewer's own preferences; anyone else's is simply not found."""
    async with transaction(runtime.sessions) as session:
        row = await session.scalar(
            select(Preference).where(
                Preference.id == preference_id, Preference.user_id == viewer.user_id
            )
        )
        if row is None:
            raise NotFound("There is no such preference.")
        return _preference_row(row)


async def delete_preference(
    runtime: Runtime, viewer: Viewer, preference_id: int, *, address: str | None
) -> str:
    """Delete one of the viewer's preferences; deleting ``Zoom``/``oauth`` disconnects Zoom."""
    try:
        row = await preference(runtime, viewer, preference_id)
    except NotFound:
        return "already-gone"
    if row.is_zoom_grant:
        # Erases the tokens (every device sees "not linked" from the next call on), revokes at
        # Zoom or queues the revoke, and audits it.
        await runtime.zoom_accounts.disconnect(
            viewer.user_id, actor=viewer.username, actor_user_id=viewer.user_id, address=address
        )
        return "zoom-disconnected"
    async with transaction(runtime.sessions) as session:
        removed = await preferences.remove(
            session, user_id=viewer.user_id, resource=row.resource, tag=row.tag
        )
        if removed:
            await audit.record(
                session,
                action="preference.deleted",
                at=runtime.clock(),
                actor=viewer.username,
                actor_user_id=viewer.user_id,
                subject_user_id=viewer.user_id,
                address=address,
                detail={"resource": row.resource, "tag": row.tag},
            )
    return "preference-deleted" if removed else "already-gone"


async def sign_out_device(
    runtime: Runtime, viewer: Viewer, device_id: str, *, address: str | None
) -> str:
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        ended = await device_sessions.revoke(
            session, session_id=device_id, user_id=viewer.user_id, now=now
        )
        if ended:
            await audit.record(
                session,
                action="device.signed_out",
                at=now,
                actor=viewer.username,
                actor_user_id=viewer.user_id,
                subject_user_id=viewer.user_id,
                address=address,
                detail={"device_session": device_id},
            )
    return "device-signed-out" if ended else "already-gone"


async def sign_out_everywhere(runtime: Runtime, viewer: Viewer, *, address: str | None) -> str:
    """Every add-in device and every other browser of the viewer; this browser stays."""
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        devices = await device_sessions.revoke_all(session, user_id=viewer.user_id, now=now)
        browsers = await sessions.revoke_all(
            session, user_id=viewer.user_id, now=now, keep=viewer.session_id
        )
        await audit.record(
            session,
            action="device.signed_out_everywhere",
            at=now,
            actor=viewer.username,
            actor_user_id=viewer.user_id,
            subject_user_id=viewer.user_id,
            address=address,
            detail={"devices": devices, "browsers": browsers},
        )
    return "signed-out-everywhere"


async def connect_zoom(runtime: Runtime, viewer: Viewer) -> str:
    """The one-time URL that walks this user through Zoom consent; the callback links the
    account only when it comes back to this browser session."""
    async with transaction(runtime.sessions) as session:
        await features.require_zoom_enabled(session)
    url: str = await runtime.authorizations.mint_for(
        viewer.user_id, controller_session_id=viewer.session_id
    )
    return url
