"""overview: the daily roll-up of counts and the worker heartbeats behind the admin Overview

Revision ID: 0010_overview
Revises: 0009_quota_blocked_until
Create Date: 2026-12-06 19:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0010_overview"
down_revision = "0009_quota_blocked_until"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "daily_counts",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("day", "name", "kind", name=op.f("pk_daily_counts")),
    )
    op.create_table(
        "worker_beats",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("seen_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_beats")),
    )
    op.create_index(op.f("ix_worker_beats_seen_at"), "worker_beats", ["seen_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_worker_beats_seen_at"), table_name="worker_beats")
    op.drop_table("worker_beats")
    op.drop_table("daily_counts")
