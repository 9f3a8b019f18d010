"""compose: meetings made for e-mails being written

Revision ID: 0002_compose
Revises: 0001
Create Date: 2026-11-22 21:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0002_compose"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "compose_meetings",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("zoom_meeting_id", sa.BigInteger(), nullable=True),
        sa.Column("join_url", sa.Text(), nullable=True),
        sa.Column("topic", sa.String(length=200), nullable=False),
        sa.Column("start_time", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("duration_minutes", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("attempted_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=False),
        sa.Column("created_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=True),
        sa.Column("sent_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_compose_meetings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_compose_meetings")),
        sa.UniqueConstraint("zoom_meeting_id", name=op.f("uq_compose_meetings_zoom_meeting_id")),
    )
    op.create_index(
        "ix_compose_meetings_state_attempted_at",
        "compose_meetings",
        ["state", "attempted_at"],
        unique=False,
    )
    op.create_index(
        op.f("ix_compose_meetings_user_id"), "compose_meetings", ["user_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_compose_meetings_user_id"), table_name="compose_meetings")
    op.drop_index("ix_compose_meetings_state_attempted_at", table_name="compose_meetings")
    op.drop_table("compose_meetings")
