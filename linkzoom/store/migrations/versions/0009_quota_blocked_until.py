"""quota: a refusal by Zoom blocks until the instant Zoom names, not a flag for the whole day

Revision ID: 0009_quota_blocked_until
Revises: 0008_audit_keyset
Create Date: 2026-12-06 05:00:00.000000

Rows flagged ``exhausted`` become blocked until the end of their UTC day, which is what the flag
meant.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0009_quota_blocked_until"
down_revision = "0008_audit_keyset"
branch_labels = None
depends_on = None

_usage = sa.table(
    "zoom_daily_usage",
    sa.column("user_id", sa.Integer()),
    sa.column("day", sa.Date()),
    sa.column("exhausted", sa.Boolean()),
    sa.column("blocked_until", linkzoom.store.types.TZDateTime(timezone=True)),
)


def upgrade() -> None:
    with op.batch_alter_table("zoom_daily_usage") as batch:
        batch.add_column(
            sa.Column(
                "blocked_until", linkzoom.store.types.TZDateTime(timezone=True), nullable=True
            )
        )
    connection = op.get_bind()
    flagged = connection.execute(
        sa.select(_usage.c.user_id, _usage.c.day).where(_usage.c.exhausted.is_(True))
    ).all()
    for user_id, day in flagged:
        day = day if isinstance(day, date) else date.fromisoformat(str(day))
        end = datetime.combine(day + timedelta(days=1), time(), UTC)
        connection.execute(
            sa.update(_usage)
            .where(_usage.c.user_id == user_id, _usage.c.day == day)
            .values(blocked_until=end)
        )
    with op.batch_alter_table("zoom_daily_usage") as batch:
        batch.drop_column("exhausted")


def downgrade() -> None:
    with op.batch_alter_table("zoom_daily_usage") as batch:
        batch.add_column(
            sa.Column("exhausted", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    connection = op.get_bind()
    connection.execute(
        sa.update(_usage).where(_usage.c.blocked_until.is_not(None)).values(exhausted=True)
    )
    with op.batch_alter_table("zoom_daily_usage") as batch:
        batch.drop_column("blocked_until")
