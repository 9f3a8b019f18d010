"""controller: browser sessions, sealed settings, pending Zoom revocations

Revision ID: 0004_controller
Revises: 0001
Create Date: 2026-11-22 21:03:35.216157
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0004_controller"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sealed_settings",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_sealed_settings")),
    )
    op.create_table(
        "controller_sessions",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_controller_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_controller_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_controller_sessions_token_hash")),
    )
    with op.batch_alter_table("controller_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_controller_sessions_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_controller_sessions_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "zoom_pending_revokes",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.Column(
            "access_expires_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False
        ),
        sa.Column("created_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column(
            "next_attempt_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False
        ),
        sa.Column("last_error", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_zoom_pending_revokes_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_zoom_pending_revokes")),
    )
    with op.batch_alter_table("zoom_pending_revokes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_zoom_pending_revokes_next_attempt_at"), ["next_attempt_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("zoom_pending_revokes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_zoom_pending_revokes_next_attempt_at"))

    op.drop_table("zoom_pending_revokes")
    with op.batch_alter_table("controller_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_controller_sessions_user_id"))
        batch_op.drop_index(batch_op.f("ix_controller_sessions_expires_at"))

    op.drop_table("controller_sessions")
    op.drop_table("sealed_settings")
