"""Administration of the mailbox watch, shared by the CLI and the console: configure the
Exchange source, enrol mailboxes, and read each mailbox's status."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.calendar.sources import exchange_config, mailboxes
from linkzoom.calendar.sources.exchange_config import AUTH_TYPES, EXCHANGE, OAUTH2
from linkzoom.problems import FieldError, ValidationFailed
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import User, ZoomGrant
from linkzoom.vault.seal import Sealer

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}")  # id or domain


@dataclass(frozen=True, kw_only=True)
class MailboxStatus:
    address: str
    username: str
    source: str
    status: str
    last_sync_at: datetime | None
    changes_applied: int
    last_error: str | None
    due_at: datetime


def check_source(
    *,
    endpoint: str,
    username: str,
    auth_type: str,
    password: str | None,
    tenant_id: str | None = None,
    authority: str | None = None,
) -> None:
    errors = []
    oauth = auth_type == OAUTH2
    parts = urlsplit(endpoint)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        errors.append(
            ("endpoint", "must be the EWS URL, e.g. https://mail.example.org/EWS/Exchange.asmx")
        )
    elif parts.scheme == "http" and (oauth or parts.hostname not in _LOOPBACK):
        what = "the access token" if oauth else "the service account's password"
        errors.append(("endpoint", f"must be https: {what} travels with every request"))
    if auth_type not in AUTH_TYPES:
        errors.append(("auth_type", f"must be one of {', '.join(AUTH_TYPES)}"))
    if oauth:
        if not _is_guid(username.strip()):
            errors.append(("username", "must be the app's application (client) id, a GUID"))
        if not tenant_id or not _TENANT.fullmatch(tenant_id):
            errors.append(("tenant_id", "is required: the directory (tenant) id or domain"))
        if authority and urlsplit(authority).scheme != "https":
            errors.append(("authority", "must be https, e.g. https://login.microsoftonline.us"))
    elif not username.strip():
        errors.append(("username", "is required (DOMAIN\\user or user@domain)"))
    if password is not None and not password:
        errors.append(("password", "must not be empty"))
    if errors:
        raise ValidationFailed([FieldError(field=f, message=m) for f, m in errors])


def _is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) == 36


async def configure_exchange(
    session: AsyncSession,
    sealer: Sealer,
    *,
    endpoint: str,
    username: str,
    auth_type: str,
    password: str | None,
    actor: str,
    now: datetime,
    tenant_id: str | None = None,
    authority: str | None = None,
) -> None:
    """Check and store the source. ``tenant_id`` and ``authority`` (a national cloud's sign-in
    host; empty for the worldwide one) belong to OAuth2 only and are dropped otherwise."""
    oauth = auth_type == OAUTH2
    tenant_id = ((tenant_id or "").strip() or None) if oauth else None
    authority = ((authority or "").strip().rstrip("/") or None) if oauth else None
    check_source(
        endpoint=endpoint,
        username=username,
        auth_type=auth_type,
        password=password,
        tenant_id=tenant_id,
        authority=authority,
    )
    if password is None:  # keep the stored secret, if it is of the kind this source needs
        stored = await exchange_config.load(session, sealer)
        if stored is None:
            raise ValidationFailed.one("password", "is required the first time")
        if stored.oauth != oauth:
            raise ValidationFailed.one(
                "password", "is required when switching between a password and OAuth2"
            )
    await exchange_config.save(
        session,
        sealer,
        endpoint=endpoint,
        username=username.strip(),
        auth_type=auth_type,
        password=password,
        tenant_id=tenant_id,
        authority=authority,
        now=now,
    )
    detail = {"source": EXCHANGE, "endpoint": endpoint, "username": username.strip()}
    detail |= {"auth_type": auth_type} | ({"tenant_id": tenant_id} if tenant_id else {})
    await audit.record(session, action="mailbox.source_changed", at=now, actor=actor, detail=detail)


async def enrol(
    session: AsyncSession,
    *,
    usernames: list[str] | None,
    actor: str,
    now: datetime,
) -> list[str]:
    """Watch the mailbox (the user's e-mail address) of each named user, or, with ``None``, of
    every user who has connected Zoom. Returns the addresses enrolled."""
    query = select(User.id, User.username, User.email).where(User.disabled_at.is_(None))
    if usernames is None:
        query = query.join(ZoomGrant, ZoomGrant.user_id == User.id)
    else:
        query = query.where(User.username.in_(usernames))
    rows = (await session.execute(query.order_by(User.username))).all()
    if usernames is not None:
        missing = sorted(set(usernames) - {row.username for row in rows})
        if missing:
            raise ValidationFailed.one("users", f"no such user: {', '.join(missing)}")
    without = [row.username for row in rows if not row.email]
    if without:
        raise ValidationFailed.one("users", f"no e-mail address for: {', '.join(without)}")
    enrolled = []
    for row in rows:
        assert row.email is not None
        await mailboxes.enrol(session, user_id=row.id, source=EXCHANGE, address=row.email, now=now)
        enrolled.append(row.email)
    if enrolled:
        await audit.record(
            session,
            action="mailbox.enrolled",
            at=now,
            actor=actor,
            detail={"source": EXCHANGE, "mailboxes": len(enrolled)},
        )
    return enrolled


async def statuses(session: AsyncSession) -> list[MailboxStatus]:
    rows = await session.execute(
        select(WatchedMailbox, User.username)
        .join(User, User.id == WatchedMailbox.user_id)
        .order_by(WatchedMailbox.address)
    )
    return [
        MailboxStatus(
            address=box.address,
            username=username,
            source=box.source,
            status=box.status,
            last_sync_at=box.last_sync_at,
            changes_applied=box.changes_applied,
            last_error=box.last_error,
            due_at=box.due_at,
        )
        for box, username in rows
    ]
