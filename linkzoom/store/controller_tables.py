"""Tables of the controller capability: browser sessions and sealed deployment settings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from linkzoom.store.models import Base

__all__ = ["Base", "ControllerSession", "SealedSetting"]


class ControllerSession(Base):
    """A signed-in browser on the controller pages; the cookie is stored only as a digest.

    ``expires_at`` is the absolute deadline; the idle deadline is ``last_seen_at`` plus the idle
    timeout (:mod:`linkzoom.controller.sessions`), so both are enforced from one row.
    """

    __tablename__ = "controller_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None]
    address: Mapped[str | None] = mapped_column(String(64))


class SealedSetting(Base):
    """A deployment-wide secret an administrator set (e.g. the Zoom app's client secret).

    ``ciphertext`` is sealed by the vault with associated data naming the setting, so a value
    copied under another name does not open; ``version`` lets writers compare-and-swap.
    """

    __tablename__ = "sealed_settings"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    key_id: Mapped[str] = mapped_column(String(64))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime]
