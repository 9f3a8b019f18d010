"""The ``watched_mailboxes`` and ``watched_items`` rows; functions take the caller's session
and never commit. Mailboxes are leased like calendar bindings: a conditional update takes the
due ones that no live lease holds (``SKIP LOCKED`` on PostgreSQL), so workers share them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, delete, func, literal, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.db import dialect_insert
from linkzoom.store.mailbox_tables import WatchedItem, WatchedMailbox

OK, BUSY, UNAVAILABLE, ERROR = "ok", "busy", "unavailable", "error"


@dataclass(frozen=True, kw_only=True)
class Mailbox:
    id: int
    user_id: int
    source: str
    address: str
    sync_state: str | None
    resync_from: datetime | None


async def enrol(
    session: AsyncSession, *, user_id: int, source: str, address: str, now: datetime
) -> int:
    """Watch ``address`` for ``user_id`` (again, if it was): due at once, from a full listing."""
    insert = dialect_insert(session)
    statement = insert(WatchedMailbox).values(
        user_id=user_id,
        source=source,
        address=address,
        status=OK,
        changes_applied=0,
        due_at=now,
        created_at=now,
    )
    statement = statement.on_conflict_do_update(
        index_elements=["source", "address"], set_={"user_id": user_id, "due_at": now}
    )
    await session.execute(statement)
    found = await session.scalar(
        select(WatchedMailbox.id).where(
            WatchedMailbox.source == source, WatchedMailbox.address == address
        )
    )
    assert found is not None
    return found


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, until: datetime, limit: int
) -> list[int]:
    free = (WatchedMailbox.lease_until.is_(None)) | (WatchedMailbox.lease_until < now)
    due = (
        select(WatchedMailbox.id)
        .where(WatchedMailbox.due_at <= now, free)
        .order_by(WatchedMailbox.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await session.execute(
        update(WatchedMailbox)
        .where(WatchedMailbox.id.in_(due.scalar_subquery()), free)
        # Due again when the lease ends (a crashed worker's mailboxes come back then); a
        # notification during the poll sets an earlier due time, which release keeps.
        .values(lease_owner=owner, lease_until=until, due_at=until)
        .returning(WatchedMailbox.id)
    )
    return list(result.scalars())


async def any_enrolled(session: AsyncSession, *, source: str) -> bool:
    found = await session.scalar(
        select(WatchedMailbox.id).where(WatchedMailbox.source == source).limit(1)
    )
    return found is not None


async def next_due(session: AsyncSession, *, now: datetime) -> datetime | None:
    """When a mailbox can next be claimed: the earliest due one, or for one that another
    worker holds, when its lease ends (by then it has a new due time or is free to take over).
    ``None`` with none enrolled."""
    leased = WatchedMailbox.lease_until > now
    when = case((leased, WatchedMailbox.lease_until), else_=WatchedMailbox.due_at)
    due: datetime | None = await session.scalar(select(func.min(when)))
    return due


async def load(session: AsyncSession, *, mailbox_id: int, owner: str) -> Mailbox | None:
    """The mailbox, if ``owner`` still holds its lease."""
    row = await session.scalar(
        select(WatchedMailbox).where(
            WatchedMailbox.id == mailbox_id, WatchedMailbox.lease_owner == owner
        )
    )
    if row is None:
        return None
    return Mailbox(
        id=row.id,
        user_id=row.user_id,
        source=row.source,
        address=row.address,
        sync_state=row.sync_state,
        resync_from=row.resync_from,
    )


async def save_state(
    session: AsyncSession,
    *,
    mailbox_id: int,
    owner: str,
    sync_state: str | None,
    resync_from: datetime | None,
    applied: int = 0,
) -> bool:
    """Store the sync state reached (after its changes were handed over); ``False`` if the
    lease was lost meanwhile (another worker took the mailbox: it replays, we stop)."""
    result = await session.execute(
        update(WatchedMailbox)
        .where(WatchedMailbox.id == mailbox_id, WatchedMailbox.lease_owner == owner)
        .values(
            sync_state=sync_state,
            resync_from=resync_from,
            changes_applied=WatchedMailbox.changes_applied + applied,
        )
    )
    return bool(getattr(result, "rowcount", 0))


async def release(
    session: AsyncSession,
    *,
    mailbox_id: int,
    owner: str,
    due_at: datetime,
    status: str,
    error: str | None,
    synced_at: datetime | None = None,
    keep_notified: bool = True,
) -> None:
    """End the lease; the mailbox is next due at ``due_at`` — unless a change notification
    arrived during the poll (its due time is earlier than the lease's end), which may name a
    change the poll missed: then it stays due at once. ``keep_notified=False`` (a server that
    asked us to wait) takes ``due_at`` regardless."""
    notified_meanwhile = WatchedMailbox.due_at < WatchedMailbox.lease_until
    values: dict[str, Any] = {
        "lease_owner": None,
        "lease_until": None,
        "due_at": case(
            (notified_meanwhile, WatchedMailbox.due_at),
            else_=literal(due_at, type_=WatchedMailbox.__table__.c.due_at.type),
        )
        if keep_notified
        else due_at,
        "status": status,
        "last_error": error,
    }
    if synced_at is not None:
        values["last_sync_at"] = synced_at
    await session.execute(
        update(WatchedMailbox)
        .where(WatchedMailbox.id == mailbox_id, WatchedMailbox.lease_owner == owner)
        .values(**values)
    )


async def remember(
    session: AsyncSession,
    *,
    mailbox_id: int,
    item_id: str,
    event_key: str,
    now: datetime,
    join_url: str | None = None,
) -> None:
    """The item carries Zoom for ``event_key`` (and shows ``join_url``, where known)."""
    statement = dialect_insert(session)(WatchedItem).values(
        mailbox_id=mailbox_id, item_id=item_id, event_key=event_key, seen_at=now, join_url=join_url
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["mailbox_id", "item_id"],
            set_={"event_key": event_key, "seen_at": now, "join_url": join_url},
        )
    )


@dataclass(frozen=True, kw_only=True)
class StaleLink:
    item_id: str
    event_key: str
    shown: str | None  # the link the item shows
    current: str  # the meeting's link now


async def stale_links(session: AsyncSession, *, mailbox_id: int, user_id: int) -> list[StaleLink]:
    """Items whose meeting's join link differs from the one they show (one query)."""
    current = CalendarBinding.confirmed["join_url"].as_string()
    rows = await session.execute(
        select(WatchedItem.item_id, WatchedItem.event_key, WatchedItem.join_url, current)
        .join(
            CalendarBinding,
            (CalendarBinding.user_id == user_id)
            & (CalendarBinding.event_key == WatchedItem.event_key),
        )
        .where(
            WatchedItem.mailbox_id == mailbox_id,
            CalendarBinding.confirmed.is_not(None),
            CalendarBinding.deleted.is_(False),
        )
    )
    return [
        StaleLink(item_id=item_id, event_key=key, shown=shown, current=link)
        for item_id, key, shown, link in rows
        if link and link != shown
    ]


async def wrote_link(
    session: AsyncSession, *, mailbox_id: int, item_id: str, join_url: str
) -> None:
    await session.execute(
        update(WatchedItem)
        .where(WatchedItem.mailbox_id == mailbox_id, WatchedItem.item_id == item_id)
        .values(join_url=join_url)
    )


async def event_key_of(session: AsyncSession, *, mailbox_id: int, item_id: str) -> str | None:
    found: str | None = await session.scalar(
        select(WatchedItem.event_key).where(
            WatchedItem.mailbox_id == mailbox_id, WatchedItem.item_id == item_id
        )
    )
    return found


async def forget(session: AsyncSession, *, mailbox_id: int, item_id: str) -> None:
    await session.execute(
        delete(WatchedItem).where(
            WatchedItem.mailbox_id == mailbox_id, WatchedItem.item_id == item_id
        )
    )


async def unseen_since(session: AsyncSession, *, mailbox_id: int, since: datetime) -> list[str]:
    """Items not seen by the full listing that began at ``since``: they are gone."""
    rows = await session.scalars(
        select(WatchedItem.item_id).where(
            WatchedItem.mailbox_id == mailbox_id, WatchedItem.seen_at < since
        )
    )
    return list(rows)
