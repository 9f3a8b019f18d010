"""CalDAV mailboxes: each watched calendar's own login and sealed password; the join link a
calendar object shows, so a changed link is written back

Revision ID: 0012_caldav_mailboxes
Revises: 0011_mailbox_watch
Create Date: 2026-12-07 02:15:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012_caldav_mailboxes"
down_revision = "0011_mailbox_watch"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("watched_mailboxes", sa.Column("login", sa.String(length=320), nullable=True))
    op.add_column(
        "watched_mailboxes", sa.Column("secret_key_id", sa.String(length=64), nullable=True)
    )
    op.add_column("watched_mailboxes", sa.Column("secret", sa.LargeBinary(), nullable=True))
    op.add_column("watched_items", sa.Column("join_url", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("watched_items") as batch:
        batch.drop_column("join_url")
    with op.batch_alter_table("watched_mailboxes") as batch:
        batch.drop_column("secret")
        batch.drop_column("secret_key_id")
        batch.drop_column("login")
