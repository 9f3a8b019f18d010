"""Console use cases for people: the user list, revoking a user's Zoom grant, disabling a user,
and the audit log. Every change an administrator makes here is audited with their name."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, func, or_, select, tuple_
from sqlalchemy.orm import aliased

from linkzoom import audit
from linkzoom.controller import paging, sessions
from linkzoom.controller.forms import AuditFilter, UserQuery
from linkzoom.controller.models import AuditRow, AuditView, UserRow, UsersView, Viewer
from linkzoom.grant import service as grant_service
from linkzoom.identity import device_sessions
from linkzoom.problems import Forbidden, NotFound
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.grant_tables import ZoomGrant
from linkzoom.store.models import AuditEvent, User

USERS_PER_PAGE = 25
AUDIT_PER_PAGE = 50
# Past this many, the page says "more than" instead of counting a large table to the end.
AUDIT_COUNT_CAP = 1_000


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _user_row(user: User, grant: ZoomGrant | None, runtime: Runtime) -> UserRow:
    return UserRow(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        email=user.email,
        source=user.source,
        is_admin=user.is_admin,
        disabled=user.disabled_at is not None,
        last_login_at=user.last_login_at,
        zoom=grant_service.status_of(grant, runtime.clock()),
    )


async def users(runtime: Runtime, query: UserQuery) -> UsersView:
    conditions: list[ColumnElement[bool]] = []
    if query.text:
        pattern = _like(query.text)
        conditions.append(
            or_(
                User.username.ilike(pattern, escape="\\"),
                User.display_name.ilike(pattern, escape="\\"),
                User.email.ilike(pattern, escape="\\"),
            )
        )
    async with transaction(runtime.sessions) as session:
        total = await session.scalar(select(func.count()).select_from(User).where(*conditions))
        window = paging.page_window(int(total or 0), query.page, USERS_PER_PAGE)
        found = await session.execute(
            select(User, ZoomGrant)
            .outerjoin(ZoomGrant, ZoomGrant.user_id == User.id)
            .where(*conditions)
            .order_by(User.username)
            .offset(window.offset)
            .limit(window.per_page)
        )
        rows = [_user_row(user, grant, runtime) for user, grant in found.all()]
    return UsersView(query=query.text, window=window, users=rows)


async def user(runtime: Runtime, user_id: int) -> UserRow:
    async with transaction(runtime.sessions) as session:
        found = (
            await session.execute(
                select(User, ZoomGrant)
                .outerjoin(ZoomGrant, ZoomGrant.user_id == User.id)
                .where(User.id == user_id)
            )
        ).one_or_none()
        if found is None:
            raise NotFound("There is no such user.")
        return _user_row(found[0], found[1], runtime)


async def revoke_zoom(runtime: Runtime, admin: Viewer, user_id: int, *, address: str | None) -> str:
    await user(runtime, user_id)
    removed = await runtime.zoom_accounts.disconnect(
        user_id, actor=admin.username, actor_user_id=admin.user_id, address=address
    )
    return "user-zoom-revoked" if removed else "already-gone"


async def set_disabled(
    runtime: Runtime, admin: Viewer, user_id: int, *, disabled: bool, address: str | None
) -> str:
    """Disable (and sign out everywhere) or enable a user; an administrator cannot lock
    themselves out this way."""
    if disabled and user_id == admin.user_id:
        raise Forbidden("You cannot disable your own account.")
    now = runtime.clock()
    async with transaction(runtime.sessions) as session:
        target = await session.get(User, user_id, with_for_update=True)
        if target is None:
            raise NotFound("There is no such user.")
        detail: dict[str, Any] = {}
        if disabled:
            if target.disabled_at is None:
                target.disabled_at = now
            detail["devices"] = await device_sessions.revoke_all(session, user_id=user_id, now=now)
            detail["browsers"] = await sessions.revoke_all(session, user_id=user_id, now=now)
        else:
            target.disabled_at = None
        await audit.record(
            session,
            action="user.disabled" if disabled else "user.enabled",
            at=now,
            actor=admin.username,
            actor_user_id=admin.user_id,
            subject_user_id=user_id,
            address=address,
            detail=detail,
        )
    return "user-disabled" if disabled else "user-enabled"


async def audit_log(runtime: Runtime, wanted: AuditFilter) -> AuditView:
    """One page of the trail by its ``(at, id)`` key: the cost does not grow with the table
    (no OFFSET, and the count stops at :data:`AUDIT_COUNT_CAP`)."""
    subject = aliased(User)
    conditions: list[ColumnElement[bool]] = []
    if wanted.action:
        conditions.append(AuditEvent.action == wanted.action)
    if wanted.actor:
        conditions.append(AuditEvent.actor.ilike(_like(wanted.actor), escape="\\"))
    if (since := wanted.since_at) is not None:
        conditions.append(AuditEvent.at >= since)
    if (before := wanted.until_before) is not None:
        conditions.append(AuditEvent.at < before)
    key = tuple_(AuditEvent.at, AuditEvent.id)
    query = (
        select(AuditEvent, subject.username)
        .outerjoin(subject, subject.id == AuditEvent.subject_user_id)
        .where(*conditions)
        .limit(AUDIT_PER_PAGE + 1)
    )
    if wanted.after is not None:  # going back towards the newest
        query = query.where(key > tuple_(wanted.after.at, wanted.after.id)).order_by(
            AuditEvent.at, AuditEvent.id
        )
    else:
        if wanted.before is not None:
            query = query.where(key < tuple_(wanted.before.at, wanted.before.id))
        query = query.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    async with transaction(runtime.sessions) as session:
        matching = await session.scalar(
            select(func.count()).select_from(
                select(AuditEvent.id).where(*conditions).limit(AUDIT_COUNT_CAP + 1).subquery()
            )
        )
        found = list((await session.execute(query)).all())
    more = len(found) > AUDIT_PER_PAGE
    found = found[:AUDIT_PER_PAGE]
    if wanted.after is not None:
        found.reverse()
        has_newer, has_older = more, True
    else:
        has_newer, has_older = wanted.before is not None, more
    events = [
        AuditRow(
            id=event.id,
            at=event.at,
            action=event.action,
            actor=event.actor,
            subject=subject_name,
            address=event.address,
            detail=dict(event.detail or {}),
        )
        for event, subject_name in found
    ]
    return AuditView(
        filter=wanted,
        events=events,
        actions=sorted(audit.ACTIONS),
        matching=int(matching or 0),
        matching_cap=AUDIT_COUNT_CAP,
        newer=_cursor(events[0]) if events and has_newer else None,
        older=_cursor(events[-1]) if events and has_older else None,
    )


def _cursor(row: AuditRow) -> str:
    return audit.Cursor(at=row.at, id=row.id).encode()
