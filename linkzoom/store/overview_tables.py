"""Tables of the admin overview: a compact daily roll-up of counts, and worker heartbeats."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String
from sqlalchemy.orm import Mapped, mapped_column

from linkzoom.store.models import Base

__all__ = ["Base", "DailyCount", "WorkerBeat"]


class DailyCount(Base):
    """How often something happened on one UTC day: ``name`` is what (``meeting_created``,
    ``zoom_error``), ``kind`` narrows it (a problem type; ``""`` when there is none).

    Each process counts in memory and adds its counts here once per worker pass
    (:mod:`linkzoom.overview.tally`), so the request path never writes to it; the worker
    prunes rows past :data:`linkzoom.overview.tally.RETENTION`.
    """

    __tablename__ = "daily_counts"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class WorkerBeat(Base):
    """A worker loop that is running (inside ``linkzoom run`` or alone as ``linkzoom worker``):
    ``seen_at`` is its last pass. Rows not seen for a day are pruned."""

    __tablename__ = "worker_beats"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    seen_at: Mapped[datetime] = mapped_column(index=True)
