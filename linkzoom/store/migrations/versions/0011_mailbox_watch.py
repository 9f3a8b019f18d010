"""mailbox watch: the mailboxes linkzoom reads and the items it has seen carry Zoom

Revision ID: 0011_mailbox_watch
Revises: 0010_overview
Create Date: 2026-12-06 19:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0011_mailbox_watch"
down_revision = "0010_overview"
branch_labels = None
depends_on = None

_TIME = linkzoom.store.types.TZDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "watched_mailboxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("sync_state", sa.Text(), nullable=True),
        sa.Column("resync_from", _TIME, nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_sync_at", _TIME, nullable=True),
        sa.Column("changes_applied", sa.Integer(), nullable=False),
        sa.Column("due_at", _TIME, nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", _TIME, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_watched_mailboxes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watched_mailboxes")),
        sa.UniqueConstraint("source", "address", name=op.f("uq_watched_mailboxes_source")),
    )
    op.create_index("ix_watched_mailboxes_due_at", "watched_mailboxes", ["due_at"])
    op.create_index(op.f("ix_watched_mailboxes_user_id"), "watched_mailboxes", ["user_id"])
    op.create_table(
        "watched_items",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=512), nullable=False),
        sa.Column("event_key", sa.String(length=512), nullable=False),
        sa.Column("seen_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["watched_mailboxes.id"],
            name=op.f("fk_watched_items_mailbox_id_watched_mailboxes"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("mailbox_id", "item_id", name=op.f("pk_watched_items")),
    )


def downgrade() -> None:
    op.drop_table("watched_items")
    op.drop_index(op.f("ix_watched_mailboxes_user_id"), table_name="watched_mailboxes")
    op.drop_index("ix_watched_mailboxes_due_at", table_name="watched_mailboxes")
    op.drop_table("watched_mailboxes")
