"""The audit trail: who did what to whom, when, from where. Never holds a secret.

Every action is named in :data:`ACTIONS` (the console's filter lists them without scanning the
table). The trail is kept ``LINKZOOM_AUDIT_RETENTION_DAYS`` and pruned in small batches, and it
is paged by its ``(at, id)`` key, so neither a page nor the pruning costs more with a
five-million-row table than with a small one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.models import AuditEvent

ACTIONS = frozenset(
    {
        "keys.unreadable_forgotten",
        "login.failed",
        "device.signed_out",
        "device.signed_out_everywhere",
        "preference.deleted",
        "user.disabled",
        "user.enabled",
        "zoom.granted",
        "zoom.revoked",
        "zoom.deauthorized",
        "zoom.revoke_abandoned",
        "zoom.feature_enabled",
        "zoom.feature_disabled",
        "zoom.app_changed",
        "zoom.app_cleared",
        "zoom.connection_tested",
        "zoom.meeting_defaults_changed",
        "zoom.reauthorization_period_changed",
        "mailbox.source_changed",
        "mailbox.enrolled",
    }
)
PRUNE_BATCH = 5_000
_CURSOR = re.compile(r"^(\d{1,17})\.(\d{1,19})$")


@dataclass(frozen=True, kw_only=True)
class Cursor:
    """A position in the trail, newest first: the ``(at, id)`` of an event."""

    at: datetime
    id: int

    def encode(self) -> str:
        return f"{int(self.at.timestamp() * 1_000_000)}.{self.id}"

    @classmethod
    def decode(cls, text: str | None) -> Cursor | None:
        """``None`` for anything that is not a cursor this module wrote."""
        found = _CURSOR.match(text or "")
        if found is None:
            return None
        micros, row_id = int(found.group(1)), int(found.group(2))
        try:
            at = datetime.fromtimestamp(micros / 1_000_000, UTC)
        except (OverflowError, ValueError, OSError):
            return None
        return cls(at=at, id=row_id)


async def prune(session: AsyncSession, *, before: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete up to ``batch`` events older than ``before``, oldest first; how many went. Small
    batches keep each transaction (and its locks) short while the worker catches up."""
    oldest = (
        select(AuditEvent.id)
        .where(AuditEvent.at < before)
        .order_by(AuditEvent.at, AuditEvent.id)
        .limit(batch)
        .scalar_subquery()
    )
    result = await session.execute(delete(AuditEvent).where(AuditEvent.id.in_(oldest)))
    return int(getattr(result, "rowcount", 0))


async def record(
    session: AsyncSession,
    *,
    action: str,
    at: datetime,
    actor: str,
    actor_user_id: int | None = None,
    subject_user_id: int | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unregistered audit action {action!r}: add it to audit.ACTIONS")
    session.add(
        AuditEvent(
            at=at,
            action=action,
            actor=actor,
            actor_user_id=actor_user_id,
            subject_user_id=subject_user_id,
            address=address,
            detail=detail or {},
        )
    )
