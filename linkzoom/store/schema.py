"""Every table of every capability, registered on one metadata (for Alembic and tests)."""

from linkzoom.store import (
    calendar_tables,
    compose_tables,
    controller_tables,
    grant_tables,
    mailbox_tables,
    models,
    overview_tables,
)
from linkzoom.store.models import Base

__all__ = [
    "Base",
    "calendar_tables",
    "compose_tables",
    "controller_tables",
    "grant_tables",
    "mailbox_tables",
    "models",
    "overview_tables",
]
