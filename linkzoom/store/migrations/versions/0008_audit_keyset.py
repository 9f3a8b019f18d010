"""audit: indexes for keyset paging by (at, id), with and without an action; actor trigrams

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
    if op.get_bind().dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_index(
        "ix_audit_events_actor_trgm",
        "audit_events",
        ["actor"],
        postgresql_using="gin",
        postgresql_ops={"actor": "gin_trgm_ops"},
    )


def downgrade() -> None:
    op.drop_index("ix_audit_events_actor_trgm", table_name="audit_events")
    op.drop_index("ix_audit_events_action_at_id", table_name="audit_events")
    op.drop_index("ix_audit_events_at_id", table_name="audit_events")
    op.create_index("ix_audit_events_at_action", "audit_events", ["at", "action"])
