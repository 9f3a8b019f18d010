"""audit: indexes for keyset paging by (at, id), with and without an action

Revision ID: 0008_audit_keyset
Revises: 0007_compose_idempotency
Create Date: 2026-12-06 04:45:00.000000
"""

from __future__ import annotations

from alembic import op

revision = "0008_audit_keyset"
down_revision = "0007_compose_idempotency"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_audit_events_at_action", table_name="audit_events")
    op.create_index("ix_audit_events_at_id", "audit_events", ["at", "id"])
    op.create_index("ix_audit_events_action_at_id", "audit_events", ["action", "at", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_events_action_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_at_id", table_name="audit_events")
    op.create_index("ix_audit_events_at_action", "audit_events", ["at", "action"])
