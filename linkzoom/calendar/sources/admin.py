"""Administration of the mailbox watch, shared by the CLI and the console: configure the
Exchange Server and Microsoft Graph sources, enrol mailboxes, and read each mailbox's status."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.calendar.sources import exchange_config, graph_config, mailboxes
from linkzoom.calendar.sources.exchange_config import AUTH_TYPES, EXCHANGE, OAUTH2
from linkzoom.calendar.sources.graph_config import GRAPH, Credential, CredentialError
from linkzoom.problems import FieldError, ValidationFailed
from linkzoom.store.grant_tables import ZoomGrant
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import User
from linkzoom.vault.seal import Sealer

_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_TENANT = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}")  # id or domain
ENROLLED_SOURCES = (EXCHANGE, GRAPH)  # enrolled by e-mail address; CalDAV calendars one by one


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


def _https_or_empty(errors: list[tuple[str, str]], field: str, value: str, example: str) -> None:
    if value and (urlsplit(value).scheme != "https" or not urlsplit(value).hostname):
        errors.append((field, f"must be an https URL, e.g. {example}"))


async def configure_graph(
    session: AsyncSession,
    sealer: Sealer,
    *,
    tenant_id: str,
    client_id: str,
    secret: str | None,
    certificate: str | None,
    authority: str | None,
    api_url: str | None,
    actor: str,
    now: datetime,
) -> graph_config.GraphSettings:
    """Check and store the Microsoft Graph source: the Entra app's tenant and client ids, and
    its credential, a client secret or a PEM key with its certificate (neither: keep the
    stored one). ``authority`` and ``api_url`` are a national cloud's hosts, empty for the
    worldwide cloud."""
    tenant_id, client_id = tenant_id.strip(), client_id.strip()
    authority = (authority or "").strip().rstrip("/")
    api_url = (api_url or "").strip().rstrip("/")
    secret = secret or None
    certificate = (certificate or "").strip() or None
    errors: list[tuple[str, str]] = []
    if not _TENANT.fullmatch(tenant_id):
        errors.append(("tenant_id", "is required: the directory (tenant) id or domain"))
    if not _is_guid(client_id):
        errors.append(("client_id", "must be the app's application (client) id, a GUID"))
    _https_or_empty(errors, "authority", authority, "https://login.microsoftonline.us")
    _https_or_empty(errors, "api_url", api_url, "https://graph.microsoft.us")
    credential: Credential | None = None
    if secret is not None and certificate is not None:
        errors.append(("certificate", "give a client secret or a certificate, not both"))
    elif certificate is not None:
        try:
            credential = Credential.from_pem(certificate)
        except CredentialError as exc:
            errors.append(("certificate", str(exc)))
    elif secret is not None:
        credential = Credential.from_secret(secret)
    if errors:
        raise ValidationFailed([FieldError(field=f, message=m) for f, m in errors])
    stored = await graph_config.load(session, sealer)
    if credential is None and stored is None:
        raise ValidationFailed.one("secret", "is required the first time (or a certificate)")
    await graph_config.save(
        session,
        sealer,
        tenant_id=tenant_id,
        client_id=client_id,
        credential=credential,
        authority=authority or None,
        api_url=api_url or None,
        now=now,
    )
    kept = credential or (stored.credential if stored else None)
    assert kept is not None
    detail = {"source": GRAPH, "tenant_id": tenant_id, "client_id": client_id}
    detail |= {"credential": kept.kind} | ({"authority": authority} if authority else {})
    await audit.record(session, action="mailbox.source_changed", at=now, actor=actor, detail=detail)
    return graph_config.GraphSettings(  # what load() now reads back, without reading it
        tenant_id=tenant_id,
        client_id=client_id,
        credential=kept,
        authority=authority or exchange_config.ENTRA,
        api_url=api_url or graph_config.GRAPH_API,
    )


async def enrol(
    session: AsyncSession,
    *,
    usernames: list[str] | None,
    actor: str,
    now: datetime,
    source: str = EXCHANGE,
) -> list[str]:
    """Watch the mailbox (the user's e-mail address) of each named user, or, with ``None``, of
    every user who has connected Zoom, through ``source`` (Exchange Server or Microsoft
    Graph). Returns the addresses enrolled."""
    if source not in ENROLLED_SOURCES:
        raise ValidationFailed.one("source", f"must be one of {', '.join(ENROLLED_SOURCES)}")
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
        # A mailbox is read through one source: one moved from Exchange Server to Exchange
        # Online and enrolled for Graph stops being read over EWS (two watchers of one
        # calendar would each apply every change).
        await session.execute(
            delete(WatchedMailbox).where(
                WatchedMailbox.address == row.email,
                WatchedMailbox.source.in_(ENROLLED_SOURCES),
                WatchedMailbox.source != source,
            )
        )
        await mailboxes.enrol(session, user_id=row.id, source=source, address=row.email, now=now)
        enrolled.append(row.email)
    if enrolled:
        await audit.record(
            session,
            action="mailbox.enrolled",
            at=now,
            actor=actor,
            detail={"source": source, "mailboxes": len(enrolled)},
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
