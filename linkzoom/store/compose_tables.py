"""Tables of the compose capability."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linkzoom.store.models import Base

__all__ = ["Base", "ComposeMeeting"]


class ComposeMeeting(Base):
    """A Zoom meeting made for an e-mail being written, from the first attempt to its end.

    ``state`` is ``creating`` from just before the create call until Zoom's answer is recorded,
    then ``active``; ``deleted`` once the user discarded the draft, ``gone`` when Zoom no longer
    had it. An attempt whose answer was lost stays ``creating`` until it is settled: ``orphaned``
    while the meeting Zoom made anyway is being deleted, ``abandoned`` when none is left (see
    :mod:`linkzoom.compose.recovery`). ``topic`` and ``start_time`` are what was sent, the key
    that finds such a meeting again. ``start_url`` and the passcode are never stored: one logs in
    as the host, the other was shown once, in the invitation.
    """

    __tablename__ = "compose_meetings"
    __table_args__ = (
        Index("ix_compose_meetings_state_attempted_at", "state", "attempted_at"),
        # One meeting per press of the button: the add-in's Idempotency-Key, per user.
        Index(
            "uq_compose_meetings_user_id_idempotency_key_hash",
            "user_id",
            "idempotency_key_hash",
            unique=True,
        ),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    origin: Mapped[str] = mapped_column(String(16), default="compose")
    state: Mapped[str] = mapped_column(String(16))
    zoom_meeting_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    join_url: Mapped[str | None] = mapped_column(Text)
    topic: Mapped[str] = mapped_column(String(200))
    start_time: Mapped[datetime]
    duration_minutes: Mapped[int]
    timezone: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime]
    created_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    # An ``Idempotency-Key``'s SHA-256, the digest of the request it came with, and the first
    # answer sealed by the vault (it holds the passcode), kept a day for a retry to repeat.
    idempotency_key_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    request_digest: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    answer_key_id: Mapped[str | None] = mapped_column(String(64))
    sealed_answer: Mapped[bytes | None] = mapped_column(LargeBinary)
