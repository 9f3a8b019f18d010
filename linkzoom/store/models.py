"""The database schema, as typed SQLAlchemy 2 models.

Capabilities own their rows through their ``service`` modules; this module only says what is
stored. Secrets never appear here in plaintext: preference payloads are AES-GCM ciphertexts
(:mod:`linkzoom.vault`), device tokens and OAuth states are stored as SHA-256 digests.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from linkzoom.store.types import TZDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: TZDateTime, dict[str, Any]: JSON}


class User(Base):
    """A person who can sign in: from the local directory or from LDAP/Active Directory."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Case-folded so "Alice" and "alice" are one account, as directories treat them.
    username: Mapped[str] = mapped_column(String(256), unique=True)
    display_name: Mapped[str] = mapped_column(String(256))
    email: Mapped[str | None] = mapped_column(String(320))
    is_admin: Mapped[bool] = mapped_column(default=False)
    source: Mapped[str] = mapped_column(String(16))  # "local" | "ldap"
    password_hash: Mapped[str | None] = mapped_column(String(256))
    timezone: Mapped[str | None] = mapped_column(String(64))
    disabled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class DeviceSession(Base):
    """A signed-in add-in (or other API client); the bearer token is stored only as a digest."""

    __tablename__ = "device_sessions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    device_name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    created_address: Mapped[str | None] = mapped_column(String(64))


class LoginThrottle(Base):
    """Failed sign-in bookkeeping per key (``user:NAME`` or ``addr:IP``), shared by processes."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[datetime]
    blocked_until: Mapped[datetime | None]


class Preference(Base):
    """One sealed per-user preference, e.g. resource ``Zoom`` tag ``oauth`` (the Zoom grant).

    ``ciphertext`` is ``nonce || AES-256-GCM(payload)`` under key ``key_id``, with associated data
    binding it to (user, resource, tag). ``version`` increments on every write so writers can
    compare-and-swap and key rotation can resume without clobbering a concurrent refresh.
    """

    __tablename__ = "preferences"
    __table_args__ = (UniqueConstraint("user_id", "resource", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    resource: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(64), index=True)
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    version: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]


class ZoomDailyUsage(Base):
    """Meeting create/update calls made for a user on one UTC day (Zoom allows 100 per day)."""

    __tablename__ = "zoom_daily_usage"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    writes: Mapped[int] = mapped_column(default=0)
    # Zoom refused: no write until this instant (the Retry-After it named, else 00:00 UTC).
    blocked_until: Mapped[datetime | None]


class WebhookDelivery(Base):
    """Zoom webhook deliveries seen, to drop Zoom's retries of one we already handled."""

    __tablename__ = "webhook_deliveries"

    digest: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    event: Mapped[str] = mapped_column(String(100))
    received_at: Mapped[datetime] = mapped_column(index=True)


class AuditEvent(Base):
    """Security-relevant actions: grants, revokes, deauthorizations, admin actions, failed
    logins."""

    __tablename__ = "audit_events"
    # The console pages by (at, id), newest first, optionally for one action; pruning walks
    # the oldest (at, id) first. The actor search is a substring match: on PostgreSQL a
    # trigram index serves it (pg_trgm); SQLite gets a plain index and scans.
    __table_args__ = (
        Index("ix_audit_events_at_id", "at", "id"),
        Index("ix_audit_events_action_at_id", "action", "at", "id"),
        Index(
            "ix_audit_events_actor_trgm",
            "actor",
            postgresql_using="gin",
            postgresql_ops={"actor": "gin_trgm_ops"},
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime]
    action: Mapped[str] = mapped_column(String(64))
    actor_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    actor: Mapped[str] = mapped_column(String(256))
    subject_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    address: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class AppSetting(Base):
    """Deployment-wide switches an administrator changes at run time (e.g. ``zoom.enabled``)."""

    __tablename__ = "app_settings"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime]
