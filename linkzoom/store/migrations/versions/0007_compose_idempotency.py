"""compose: an Idempotency-Key per create, with its first answer sealed for a day

Revision ID: 0007_compose_idempotency
Revises: 0006_claimed_consent
Create Date: 2026-12-06 04:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_compose_idempotency"
down_revision = "0006_claimed_consent"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("compose_meetings") as batch:
        batch.add_column(sa.Column("idempotency_key_hash", sa.LargeBinary(length=32)))
        batch.add_column(sa.Column("request_digest", sa.LargeBinary(length=32)))
        batch.add_column(sa.Column("answer_key_id", sa.String(length=64)))
        batch.add_column(sa.Column("sealed_answer", sa.LargeBinary()))
        batch.create_index(
            "uq_compose_meetings_user_id_idempotency_key_hash",
            ["user_id", "idempotency_key_hash"],
            unique=True,
        )


def downgrade() -> None:
    with op.batch_alter_table("compose_meetings") as batch:
        batch.drop_index("uq_compose_meetings_user_id_idempotency_key_hash")
        for column in ("sealed_answer", "answer_key_id", "request_digest", "idempotency_key_hash"):
            batch.drop_column(column)
