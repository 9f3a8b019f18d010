"""Tables of the calendar capability: bindings between calendar events and Zoom meetings, and the
per-account pace of calls to Zoom shared by every worker process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from linkzoom.store.models import Base

__all__ = ["Base", "CalendarBinding", "CalendarPace"]


class CalendarBinding(Base):
    """One calendar event of one user and the Zoom meeting that follows it.

    ``desired`` is what the calendar wants (JSON of :class:`linkzoom.calendar.models.Desired`),
    bumped with ``desired_version`` on every change; ``confirmed`` is what Zoom last confirmed
    (:class:`linkzoom.calendar.models.Confirmed`). ``in_doubt`` records a create that may have
    reached Zoom without its answer reaching us. The reconciler works on rows whose ``due_at`` has
    come, under a lease (``lease_owner``/``lease_until``). ``zoom_deleted_meeting_id`` and
    ``zoom_changed_at`` are what Zoom's webhooks told us, for the reconciler to act on. The
    meeting's passcode is sealed (``sealed_passcode`` under ``passcode_key_id``), never stored
    in the clear.
    """

    __tablename__ = "calendar_bindings"
    __table_args__ = (
        UniqueConstraint("user_id", "event_key"),
        Index("ix_calendar_bindings_due_at", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    event_key: Mapped[str] = mapped_column(String(512))
    desired: Mapped[dict[str, Any]]
    desired_version: Mapped[int] = mapped_column(default=1)
    deleted: Mapped[bool] = mapped_column(default=False)
    # SQL NULL, not JSON null, for "none": so ``IS NULL`` means what it says.
    confirmed: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    zoom_meeting_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    passcode_key_id: Mapped[str | None] = mapped_column(String(64))
    sealed_passcode: Mapped[bytes | None] = mapped_column(LargeBinary)
    in_doubt: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    status: Mapped[str] = mapped_column(String(16))
    last_error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    due_at: Mapped[datetime | None]
    settle_from: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]
    lost_at: Mapped[datetime | None]
    link_changed: Mapped[bool] = mapped_column(default=False)
    zoom_deleted_meeting_id: Mapped[int | None] = mapped_column(BigInteger)
    zoom_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class CalendarPace(Base):
    """When the next call of a rate-limit label may go to one Zoom account, in microseconds
    since the epoch; every process reserves its calls here, so together they keep the account's
    per-second budget (see :mod:`linkzoom.calendar.pacing`)."""

    __tablename__ = "calendar_pace"

    zoom_account_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    label: Mapped[str] = mapped_column(String(16), primary_key=True)
    next_at_us: Mapped[int] = mapped_column(BigInteger)
