"""calendar: bindings between calendar events and Zoom meetings, and the account pace

Revision ID: 0003_calendar
Revises: 0001
Create Date: 2026-11-22 21:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0003_calendar"
down_revision = "0001"
branch_labels = None
depends_on = None


def _instant(name: str) -> sa.Column[object]:
    return sa.Column(name, linkzoom.store.types.TZDateTime(timezone=True), nullable=True)


def upgrade() -> None:
    op.create_table(
        "calendar_bindings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_key", sa.String(length=512), nullable=False),
        sa.Column("desired", sa.JSON(), nullable=False),
        sa.Column("desired_version", sa.Integer(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.Column("confirmed", sa.JSON(), nullable=True),
        sa.Column("zoom_meeting_id", sa.BigInteger(), nullable=True),
        sa.Column("in_doubt", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _instant("due_at"),
        _instant("settle_from"),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        _instant("lease_until"),
        _instant("lost_at"),
        sa.Column("link_changed", sa.Boolean(), nullable=False),
        sa.Column("zoom_deleted_meeting_id", sa.BigInteger(), nullable=True),
        _instant("zoom_changed_at"),
        sa.Column("created_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_calendar_bindings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_bindings")),
        sa.UniqueConstraint("user_id", "event_key", name=op.f("uq_calendar_bindings_user_id")),
    )
    op.create_index("ix_calendar_bindings_due_at", "calendar_bindings", ["due_at"], unique=False)
    op.create_index(
        op.f("ix_calendar_bindings_zoom_meeting_id"),
        "calendar_bindings",
        ["zoom_meeting_id"],
        unique=False,
    )
    op.create_table(
        "calendar_pace",
        sa.Column("zoom_account_id", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=16), nullable=False),
        sa.Column("next_at_us", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("zoom_account_id", "label", name=op.f("pk_calendar_pace")),
    )


def downgrade() -> None:
    op.drop_table("calendar_pace")
    op.drop_index(op.f("ix_calendar_bindings_zoom_meeting_id"), table_name="calendar_bindings")
    op.drop_index("ix_calendar_bindings_due_at", table_name="calendar_bindings")
    op.drop_table("calendar_bindings")
