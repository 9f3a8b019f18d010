"""Worker heartbeats: each worker loop says it is alive once per pass, so the Overview can
tell an administrator whether anything is doing the background work (calendar sync, token
keep-alive, draft sweeps) — the thing that fails silently when it stops."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.db import dialect_insert
from linkzoom.store.overview_tables import WorkerBeat

FORGET_AFTER = timedelta(days=1)  # a worker not seen this long is dropped from the list


@dataclass(frozen=True, kw_only=True)
class WorkerIdentity:
    id: str
    host: str
    pid: int
    started_at: datetime

    @classmethod
    def this_process(cls, now: datetime) -> WorkerIdentity:
        host, pid = socket.gethostname()[:255], os.getpid()
        return cls(
            id=f"{host[:40]}:{pid}:{secrets.token_hex(4)}", host=host, pid=pid, started_at=now
        )


async def beat(session: AsyncSession, me: WorkerIdentity, *, now: datetime) -> None:
    statement = dialect_insert(session)(WorkerBeat).values(
        id=me.id, host=me.host, pid=me.pid, started_at=me.started_at, seen_at=now
    )
    await session.execute(
        statement.on_conflict_do_update(index_elements=["id"], set_={"seen_at": now})
    )


async def prune(session: AsyncSession, *, now: datetime) -> None:
    await session.execute(delete(WorkerBeat).where(WorkerBeat.seen_at < now - FORGET_AFTER))
