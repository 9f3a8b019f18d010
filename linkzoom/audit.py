"""The audit trail: who did what to whom, when, from where. Never holds a secret."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.models import AuditEvent


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
