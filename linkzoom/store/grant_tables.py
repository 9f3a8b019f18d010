"""Tables of the Zoom grant (:mod:`linkzoom.grant`): what is not secret about each user's grant,
the consent passes in flight, and the outbox of revocations still owed to Zoom."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linkzoom.store.models import Base

__all__ = ["ZoomAuthorization", "ZoomGrant", "ZoomPendingRevoke"]


class ZoomGrant(Base):
    """What is not secret about a user's Zoom grant, kept in the clear so it can be searched.

    The tokens themselves live in the ``Zoom``/``oauth`` :class:`Preference`; deleting that row
    deletes this one (``ON DELETE CASCADE``). ``lease_owner``/``lease_until`` are the cross-process
    refresh lock (see :mod:`linkzoom.grant.refresh`).
    """

    __tablename__ = "zoom_grants"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    preference_id: Mapped[int] = mapped_column(
        ForeignKey("preferences.id", ondelete="CASCADE"), unique=True
    )
    zoom_user_id: Mapped[str] = mapped_column(String(64), index=True)
    zoom_account_id: Mapped[str] = mapped_column(String(64), index=True)
    account_email: Mapped[str | None] = mapped_column(String(320))
    scope: Mapped[str] = mapped_column(Text, default="")
    authorized_at: Mapped[datetime]
    reauthorize_by: Mapped[datetime]
    access_expires_at: Mapped[datetime]
    refreshed_at: Mapped[datetime]
    broken_at: Mapped[datetime | None]
    broken_reason: Mapped[str | None] = mapped_column(String(200))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None]


class ZoomAuthorization(Base):
    """One pass through Zoom consent: a one-time ticket, then a state bound to its PKCE verifier,
    then the consented grant waiting (sealed) for the party that started the pass to claim it.

    ``ticket_hash``, ``state_hash`` and ``claim_hash`` are SHA-256 digests; the verifier and the
    pending grant are sealed by the vault. Exactly one of ``device_session_id`` (the add-in that
    asked) and ``controller_session_id`` (the My Account browser that asked) is set: only that
    party can claim the grant, so a start link sent to someone else links nothing.
    """

    __tablename__ = "zoom_authorizations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    ticket_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    state_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    sealed_verifier: Mapped[bytes | None] = mapped_column(LargeBinary)
    verifier_key_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    device_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("device_sessions.id", ondelete="CASCADE"), index=True
    )
    controller_session_id: Mapped[str | None] = mapped_column(
        ForeignKey("controller_sessions.id", ondelete="CASCADE"), index=True
    )
    claim_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32), unique=True)
    grant_key_id: Mapped[str | None] = mapped_column(String(64))
    sealed_grant: Mapped[bytes | None] = mapped_column(LargeBinary)
    claimed_at: Mapped[datetime | None]


class ZoomPendingRevoke(Base):
    """A Zoom grant whose local tokens are gone but whose revocation Zoom has not confirmed.

    Written in the same transaction that erases the tokens (an outbox), so a crash or an
    unreachable Zoom never leaves a live grant at Zoom that we have forgotten. The tokens are
    sealed with the row's random ``id`` as associated data.
    """

    __tablename__ = "zoom_pending_revokes"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    key_id: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    access_expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(String(200))
