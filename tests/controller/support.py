"""Helpers for controller tests: Zoom grants, device sessions, audit rows, a mocked Zoom."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import respx
from sqlalchemy import select

from linkzoom.grant import store as grant_store
from linkzoom.identity import device_sessions
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AuditEvent, User
from linkzoom.zoom.models import TokenSet, ZoomUser

OAUTH = "https://zoom.test"
API = "https://api.zoom.test/v2"


def revoke_ok(zoom: respx.MockRouter) -> respx.Route:
    return zoom.post(f"{OAUTH}/oauth/revoke").mock(
        return_value=httpx.Response(200, json={"status": "success"})
    )


async def link(
    runtime: Runtime,
    user_id: int,
    *,
    email: str,
    access: str = "access-1",
    refresh: str = "refresh-1",
    reauthorize_after: timedelta = timedelta(days=365),
) -> None:
    async with transaction(runtime.sessions) as session:
        await grant_store.store_new(
            session,
            runtime.sealer,
            user_id=user_id,
            tokens=TokenSet(
                access_token=access, refresh_token=refresh, expires_in=3599, scope="meeting:write"
            ),
            zoom_user=ZoomUser(id=f"zu{user_id}", account_id="acc1", email=email),
            now=runtime.clock(),
            reauthorize_after=reauthorize_after,
        )


async def device(runtime: Runtime, user_id: int, name: str) -> str:
    """A signed-in add-in for ``user_id``; returns its bearer token."""
    async with transaction(runtime.sessions) as session:
        user = await session.get(User, user_id)
        assert user is not None
        issued = await device_sessions.issue(
            session,
            user=user,
            device_name=name,
            lifetime=timedelta(days=30),
            now=runtime.clock(),
            address="192.0.2.7",
        )
    return issued.token


async def audit_rows(runtime: Runtime, action: str | None = None) -> list[dict[str, Any]]:
    async with transaction(runtime.sessions) as session:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        return [
            {
                "action": e.action,
                "actor": e.actor,
                "subject": e.subject_user_id,
                "address": e.address,
                "detail": e.detail,
            }
            for e in await session.scalars(query)
        ]
