"""Tables of the mailbox watch: the mailboxes linkzoom reads, the items seen carrying Zoom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linkzoom.store.models import Base

__all__ = ["Base", "WatchedItem", "WatchedMailbox"]


class WatchedMailbox(Base):
    """One enrolled mailbox of one user, read by one source (``exchange``, ``caldav``).

    ``address`` is the mailbox's e-mail address for Exchange, the calendar collection's URL for
    CalDAV. A CalDAV calendar is read with its own ``login`` and ``secret`` (the password or app
    password, sealed by the vault, bound to this row's id; re-sealed by key rotation).

    A Graph mailbox has a change-notification ``subscription_id`` (ending at
    ``subscription_expires_at``); each notification must carry the client state whose SHA-256
    is ``client_state_digest`` (the secret itself is not kept).

    ``sync_state`` is the source's opaque "changes since" token, written only after the changes
    it covers were handed to the reconciler (so a crash replays, never skips). ``resync_from``
    is set while a full listing runs: items not seen since then are gone once it completes.
    Leased like calendar bindings (``lease_owner``/``lease_until``), so several workers share
    the mailboxes; ``due_at`` is the next poll. ``status``: ``ok``, ``busy`` (the server asked
    us to wait), ``unavailable`` (gone or denied: polled again only after an hour), ``error``.
    """

    __tablename__ = "watched_mailboxes"
    __table_args__ = (
        UniqueConstraint("source", "address"),
        Index("ix_watched_mailboxes_due_at", "due_at"),
        Index("ix_watched_mailboxes_subscription_id", "subscription_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    sync_state: Mapped[str | None] = mapped_column(Text)
    resync_from: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16), default="ok")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_sync_at: Mapped[datetime | None]
    changes_applied: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    login: Mapped[str | None] = mapped_column(String(320))
    secret_key_id: Mapped[str | None] = mapped_column(String(64))
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    subscription_id: Mapped[str | None] = mapped_column(String(128))
    subscription_expires_at: Mapped[datetime | None]
    client_state_digest: Mapped[str | None] = mapped_column(String(64))


class WatchedItem(Base):
    """An item of a watched mailbox that carried Zoom: which event key it stands for, so its
    deletion (which names only the item id) can turn the meeting off. ``join_url``: the Zoom
    link the item showed when last seen or written back (CalDAV), to notice a changed link."""

    __tablename__ = "watched_items"

    mailbox_id: Mapped[int] = mapped_column(
        ForeignKey("watched_mailboxes.id", ondelete="CASCADE"), primary_key=True
    )
    item_id: Mapped[str] = mapped_column(String(512), primary_key=True)
    event_key: Mapped[str] = mapped_column(String(512))
    seen_at: Mapped[datetime]
    join_url: Mapped[str | None] = mapped_column(Text)
