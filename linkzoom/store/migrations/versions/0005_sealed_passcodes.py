"""calendar: meeting passcodes sealed in their own columns, none left in the clear

Revision ID: 0005_sealed_passcodes
Revises: 0003_calendar
Create Date: 2026-12-04 20:10:00.000000

Passcodes used to sit in ``calendar_bindings.confirmed`` as plain JSON. A migration has no key
ring, so it cannot seal them: it removes them and marks each binding as changed at Zoom, so the
reconciler fetches the meeting again and stores its passcode sealed (one light call each).
A downgrade drops the sealed passcodes: older code then shows none until it fetches a meeting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from linkzoom.store.types import TZDateTime

revision = "0005_sealed_passcodes"
down_revision = "0003_calendar"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calendar_bindings") as batch:
        batch.add_column(sa.Column("passcode_key_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("sealed_passcode", sa.LargeBinary(), nullable=True))
    bindings = sa.table(
        "calendar_bindings",
        sa.column("id", sa.Integer()),
        sa.column("confirmed", sa.JSON()),
        sa.column("zoom_changed_at", TZDateTime(timezone=True)),
        sa.column("due_at", TZDateTime(timezone=True)),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(bindings.c.id, bindings.c.confirmed).where(bindings.c.confirmed.is_not(None))
    ).all()
    now = datetime.now(UTC)
    for binding_id, confirmed in rows:
        data = json.loads(confirmed) if isinstance(confirmed, str) else dict(confirmed)
        if "password" not in data:
            continue
        changes: dict[str, object] = {"confirmed": data}
        if data.pop("password"):  # a meeting without a passcode has nothing to fetch
            changes |= {"zoom_changed_at": now, "due_at": now}
        connection.execute(sa.update(bindings).where(bindings.c.id == binding_id).values(changes))


def downgrade() -> None:
    with op.batch_alter_table("calendar_bindings") as batch:
        batch.drop_column("sealed_passcode")
        batch.drop_column("passcode_key_id")
