"""consent is claimed by the party that asked: who started each pass, its pending grant

Revision ID: 0006_claimed_consent
Revises: 0002_compose, 0004_controller, 0005_sealed_passcodes
Create Date: 2026-12-06 04:00:00.000000

Also joins the three branches that grew from 0001 into one head. Passes already in flight when
this runs have neither session column set; they can no longer be claimed and simply expire (ten
minutes), which is the safe side: the user presses Connect again.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import linkzoom.store.types

revision = "0006_claimed_consent"
down_revision = ("0002_compose", "0004_controller", "0005_sealed_passcodes")
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("zoom_authorizations") as batch:
        batch.add_column(sa.Column("device_session_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("controller_session_id", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("claim_hash", sa.LargeBinary(length=32), nullable=True))
        batch.add_column(sa.Column("grant_key_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sealed_grant", sa.LargeBinary(), nullable=True))
        batch.add_column(
            sa.Column("claimed_at", linkzoom.store.types.TZDateTime(timezone=True), nullable=True)
        )
        batch.create_index(
            batch.f("ix_zoom_authorizations_device_session_id"), ["device_session_id"]
        )
        batch.create_index(
            batch.f("ix_zoom_authorizations_controller_session_id"), ["controller_session_id"]
        )
        batch.create_unique_constraint(batch.f("uq_zoom_authorizations_claim_hash"), ["claim_hash"])
        batch.create_foreign_key(
            batch.f("fk_zoom_authorizations_device_session_id_device_sessions"),
            "device_sessions",
            ["device_session_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_foreign_key(
            batch.f("fk_zoom_authorizations_controller_session_id_controller_sessions"),
            "controller_sessions",
            ["controller_session_id"],
            ["id"],
            ondelete="CASCADE",
        )


def downgrade() -> None:
    with op.batch_alter_table("zoom_authorizations") as batch:
        batch.drop_constraint(
            batch.f("fk_zoom_authorizations_controller_session_id_controller_sessions"),
            type_="foreignkey",
        )
        batch.drop_constraint(
            batch.f("fk_zoom_authorizations_device_session_id_device_sessions"),
            type_="foreignkey",
        )
        batch.drop_constraint(batch.f("uq_zoom_authorizations_claim_hash"), type_="unique")
        batch.drop_index(batch.f("ix_zoom_authorizations_controller_session_id"))
        batch.drop_index(batch.f("ix_zoom_authorizations_device_session_id"))
        for column in (
            "claimed_at",
            "sealed_grant",
            "grant_key_id",
            "claim_hash",
            "controller_session_id",
            "device_session_id",
        ):
            batch.drop_column(column)
