"""Change-notification subscriptions of watched mailboxes (Microsoft Graph): the subscription's
id and end, and a digest of the client state every notification must carry

Revision ID: 0013_mailbox_subscriptions
Revises: 0012_caldav_mailboxes
Create Date: 2026-12-07 06:50:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0013_mailbox_subscriptions"
down_revision = "0012_caldav_mailboxes"
branch_labels = None
depends_on = None

_TIME = linkzoom.store.types.TZDateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "watched_mailboxes", sa.Column("subscription_id", sa.String(length=128), nullable=True)
    )
    op.add_column("watched_mailboxes", sa.Column("subscription_expires_at", _TIME, nullable=True))
    op.add_column(
        "watched_mailboxes", sa.Column("client_state_digest", sa.String(length=64), nullable=True)
    )
    op.create_index(
        "ix_watched_mailboxes_subscription_id", "watched_mailboxes", ["subscription_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_watched_mailboxes_subscription_id", table_name="watched_mailboxes")
    with op.batch_alter_table("watched_mailboxes") as batch:
        batch.drop_column("client_state_digest")
        batch.drop_column("subscription_expires_at")
        batch.drop_column("subscription_id")
