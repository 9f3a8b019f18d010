"""Reading and writing ``calendar_bindings``: the caller owns the session and the transaction.

Concurrency rules, the same on SQLite and PostgreSQL:

* ``desired_version`` counts every input the reconciler must look at (a calendar change or a
  Zoom webhook). Writers of the desired state compare-and-swap on it; the reconciler releases a
  binding as "done" only if it is unchanged, so no change is ever acknowledged unseen.
* Only the lease holder writes Zoom's side (``confirmed``, ``in_doubt``, …): every such write is
  ``WHERE lease_owner = :me``, so a worker whose lease lapsed cannot clobber its successor.
* Claims take due, unleased rows in one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP
  LOCKED)``: on PostgreSQL concurrent workers skip each other's rows instead of queueing; SQLite
  has one writer at a time anyway.
"""

from __future__ import annotations

import enum
from collections import namedtuple
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, case, delete, or_, select, update
from sqlalchemy import insert as sql_insert
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.calendar import codec
from linkzoom.calendar.models import Confirmed, Desired, InDoubt
from linkzoom.calendar.passcodes import Sealed
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.grant_tables import ZoomGrant
from linkzoom.store.programs import Program, Statement, run_in_session
from linkzoom.store.types import TZDateTime

_NO_SYNC = {"synchronize_session": False}

# The add-in's PUT and GET read and write a binding as table rows, not ORM objects: no identity
# map, no instance state, and the find statement is built once (about a third of a PUT's CPU
# went to the ORM's loading and statement building).
_TABLE = cast(Table, CalendarBinding.__table__)
_FIND = select(_TABLE).where(
    _TABLE.c.user_id == bindparam("find_user"), _TABLE.c.event_key == bindparam("find_key")
)
# The add-in's path as programs (linkzoom.store.programs): compiled once per dialect.
_Row = namedtuple("_Row", [c.key for c in _TABLE.c])  # type: ignore[misc]
_FIND_BY_KEY = Statement(_FIND)
_LOAD = Statement(select(_TABLE).where(_TABLE.c.id == bindparam("binding_id")))
_INSERTED = (
    "user_id",
    "event_key",
    "desired",
    "desired_version",
    "deleted",
    "status",
    "attempts",
    "due_at",
    "settle_from",
    "lease_owner",
    "lease_until",
    "link_changed",
    "created_at",
    "updated_at",
)
_INSERT = Statement(
    sql_insert(_TABLE).values({c: bindparam(c) for c in _INSERTED}).returning(_TABLE.c.id)
)


def _record_statement(*, link_seen: bool) -> Statement:
    """The compare-and-swap of a new desired state, returning the row as stored; with
    ``link_seen`` it also clears ``link_changed`` (the answer tells the add-in)."""
    values: dict[str, Any] = {
        "desired": bindparam("new_desired", type_=_TABLE.c.desired.type),
        "desired_version": bindparam("new_version"),
        "deleted": bindparam("new_deleted", type_=_TABLE.c.deleted.type),
        "status": bindparam("new_status"),
        "due_at": bindparam("new_due_at", type_=TZDateTime),
        "settle_from": bindparam("new_settle_from", type_=TZDateTime),
        "updated_at": bindparam("new_updated_at", type_=TZDateTime),
    }
    if link_seen:
        values["link_changed"] = False
    return Statement(
        update(_TABLE)
        .where(
            _TABLE.c.id == bindparam("row_id"),
            _TABLE.c.desired_version == bindparam("read_version"),
        )
        .values(values)
        .returning(*_TABLE.c)
    )


_RECORD = _record_statement(link_seen=False)
_RECORD_SEEN = _record_statement(link_seen=True)


class Keep(enum.Enum):
    AS_STORED = "as stored"


@dataclass(frozen=True, kw_only=True)
class Binding:
    """A snapshot of one row, decoded."""

    id: int
    user_id: int
    event_key: str
    desired: Desired
    version: int
    confirmed: Confirmed | None
    in_doubt: InDoubt | None
    status: str
    last_error: str | None
    attempts: int
    due_at: datetime | None
    settle_from: datetime | None
    lease_owner: str | None
    lease_until: datetime | None
    lost_at: datetime | None
    link_changed: bool
    zoom_deleted_meeting_id: int | None
    zoom_changed_at: datetime | None
    sealed_passcode: Sealed | None = None


def _decode(row: Any) -> Binding:  # an ORM object, a Row, or a _Row: columns by name
    return Binding(
        id=row.id,
        user_id=row.user_id,
        event_key=row.event_key,
        desired=codec.desired_from_json(row.desired),
        version=row.desired_version,
        confirmed=None if row.confirmed is None else codec.confirmed_from_json(row.confirmed),
        in_doubt=None if row.in_doubt is None else codec.in_doubt_from_json(row.in_doubt),
        status=row.status,
        last_error=row.last_error,
        attempts=row.attempts,
        due_at=row.due_at,
        settle_from=row.settle_from,
        lease_owner=row.lease_owner,
        lease_until=row.lease_until,
        lost_at=row.lost_at,
        link_changed=row.link_changed,
        zoom_deleted_meeting_id=row.zoom_deleted_meeting_id,
        zoom_changed_at=row.zoom_changed_at,
        sealed_passcode=None
        if row.passcode_key_id is None or row.sealed_passcode is None
        else (row.passcode_key_id, row.sealed_passcode),
    )


def finding(*, user_id: int, event_key: str) -> Program[Binding | None]:
    row = (yield _FIND_BY_KEY(find_user=user_id, find_key=event_key)).first()
    return None if row is None else _decode(_Row(*row))


async def find(session: AsyncSession, *, user_id: int, event_key: str) -> Binding | None:
    return await run_in_session(session, finding(user_id=user_id, event_key=event_key))


def loading(*, binding_id: int) -> Program[Binding | None]:
    row = (yield _LOAD(binding_id=binding_id)).first()
    return None if row is None else _decode(_Row(*row))


async def load(session: AsyncSession, *, binding_id: int) -> Binding | None:
    row = await session.get(CalendarBinding, binding_id, populate_existing=True)
    return None if row is None else _decode(row)


def inserting(
    *,
    user_id: int,
    event_key: str,
    desired: Desired,
    status: str,
    due_at: datetime | None,
    settle_from: datetime | None,
    now: datetime,
    lease_owner: str | None = None,
    lease_until: datetime | None = None,
) -> Program[int]:
    """A new binding (raises ``IntegrityError`` if the event already has one), leased to
    ``lease_owner`` from the start when one is given."""
    rows = yield _INSERT(
        user_id=user_id,
        event_key=event_key,
        desired=codec.desired_to_json(desired),
        desired_version=1,
        deleted=desired.deleted,
        status=status,
        attempts=0,
        due_at=due_at,
        settle_from=settle_from,
        lease_owner=lease_owner,
        lease_until=lease_until,
        link_changed=False,
        created_at=now,
        updated_at=now,
    )
    return int(rows.scalar())


async def insert(session: AsyncSession, **values: Any) -> int:
    return await run_in_session(session, inserting(**values))


def recording_desired(
    *,
    binding: Binding,
    desired: Desired,
    status: str,
    due_at: datetime | None,
    settle_from: datetime | None,
    link_seen: bool,
    now: datetime,
) -> Program[Binding | None]:
    """Store a new desired state if nobody changed the row since ``binding`` was read: the row
    as stored (read back by the same statement), or ``None`` if it had changed."""
    rows = yield (_RECORD_SEEN if link_seen else _RECORD)(
        row_id=binding.id,
        read_version=binding.version,
        new_desired=codec.desired_to_json(desired),
        new_version=binding.version + 1,
        new_deleted=desired.deleted,
        new_status=status,
        new_due_at=due_at,
        new_settle_from=settle_from,
        new_updated_at=now,
    )
    row = rows.first()
    return None if row is None else _decode(_Row(*row))


async def record_desired(session: AsyncSession, **values: Any) -> Binding | None:
    return await run_in_session(session, recording_desired(**values))


async def signal(session: AsyncSession, *, binding_id: int, now: datetime, **values: Any) -> None:
    """A webhook told us something: note it and make the binding due at once."""
    await session.execute(
        update(CalendarBinding)
        .where(CalendarBinding.id == binding_id)
        .values(
            desired_version=CalendarBinding.desired_version + 1,
            due_at=now,
            updated_at=now,
            **values,
        )
        .execution_options(**_NO_SYNC)
    )


async def refetch(session: AsyncSession, *, binding_id: int, now: datetime) -> None:
    """Have the reconciler fetch the meeting again (as if Zoom had reported a change), unless
    that is owed already: a reader that keeps asking must not defeat the back-off."""
    await session.execute(
        update(CalendarBinding)
        .where(CalendarBinding.id == binding_id, CalendarBinding.zoom_changed_at.is_(None))
        .values(
            desired_version=CalendarBinding.desired_version + 1,
            due_at=now,
            updated_at=now,
            zoom_changed_at=now,
        )
        .execution_options(**_NO_SYNC)
    )


async def take_lease(
    session: AsyncSession, *, binding_id: int, owner: str, now: datetime, until: datetime
) -> bool:
    result = await session.execute(
        update(CalendarBinding)
        .where(
            CalendarBinding.id == binding_id,
            or_(
                CalendarBinding.lease_until.is_(None),
                CalendarBinding.lease_until < now,
                CalendarBinding.lease_owner == owner,
            ),
        )
        .values(lease_owner=owner, lease_until=until)
        .execution_options(**_NO_SYNC)
    )
    return _count(result) == 1


async def claim_due(
    session: AsyncSession, *, owner: str, now: datetime, until: datetime, limit: int
) -> list[int]:
    """Lease up to ``limit`` bindings that are due and not leased; their ids, oldest first."""
    free = or_(CalendarBinding.lease_until.is_(None), CalendarBinding.lease_until < now)
    due = (
        select(CalendarBinding.id)
        .where(CalendarBinding.due_at <= now, free)
        .order_by(CalendarBinding.due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    result = await session.execute(
        update(CalendarBinding)
        .where(CalendarBinding.id.in_(due.scalar_subquery()), free)
        .values(lease_owner=owner, lease_until=until)
        .returning(CalendarBinding.id)
        .execution_options(**_NO_SYNC)
    )
    return list(result.scalars())


async def extend_leases(
    session: AsyncSession, *, owner: str, ids: list[int], until: datetime
) -> None:
    if ids:
        await session.execute(
            update(CalendarBinding)
            .where(CalendarBinding.lease_owner == owner, CalendarBinding.id.in_(ids))
            .values(lease_until=until)
            .execution_options(**_NO_SYNC)
        )


async def release_all(session: AsyncSession, *, owner: str) -> None:
    """Give up every lease of ``owner`` (a worker shutting down): others may continue at once."""
    await session.execute(
        update(CalendarBinding)
        .where(CalendarBinding.lease_owner == owner)
        .values(lease_owner=None, lease_until=None)
        .execution_options(**_NO_SYNC)
    )


async def save(
    session: AsyncSession,
    *,
    binding_id: int,
    owner: str,
    now: datetime,
    confirmed: Confirmed | None,
    in_doubt: InDoubt | None,
    lost_at: datetime | None,
    sealed_passcode: Sealed | Keep | None = Keep.AS_STORED,
    link_changed: bool | None = None,
) -> bool:
    """Zoom's side of the binding, written only while ``owner`` holds the lease. The passcode
    goes with its meeting; it is written only when given (a pass that merely read it must not
    write back a copy that ``linkzoom keys rotate`` may have re-sealed meanwhile)."""
    values: dict[str, Any] = {
        "confirmed": None if confirmed is None else codec.confirmed_to_json(confirmed),
        "zoom_meeting_id": None if confirmed is None else confirmed.meeting_id,
        "in_doubt": None if in_doubt is None else codec.in_doubt_to_json(in_doubt),
        "lost_at": lost_at,
        "updated_at": now,
    }
    if link_changed is not None:
        values["link_changed"] = link_changed
    if confirmed is None:
        values |= {"passcode_key_id": None, "sealed_passcode": None}
    elif sealed_passcode is not Keep.AS_STORED:
        kid, ciphertext = (None, None) if sealed_passcode is None else sealed_passcode
        values |= {"passcode_key_id": kid, "sealed_passcode": ciphertext}
    result = await session.execute(
        update(CalendarBinding)
        .where(CalendarBinding.id == binding_id, CalendarBinding.lease_owner == owner)
        .values(**values)
        .execution_options(**_NO_SYNC)
    )
    return _count(result) == 1


async def clear_signals(
    session: AsyncSession,
    *,
    binding_id: int,
    deleted_meeting_id: int | None,
    changed_at: datetime | None,
) -> None:
    """Forget the webhook notes we acted on, unless newer ones arrived meanwhile."""
    if deleted_meeting_id is not None:
        await session.execute(
            update(CalendarBinding)
            .where(
                CalendarBinding.id == binding_id,
                CalendarBinding.zoom_deleted_meeting_id == deleted_meeting_id,
            )
            .values(zoom_deleted_meeting_id=None)
            .execution_options(**_NO_SYNC)
        )
    if changed_at is not None:
        await session.execute(
            update(CalendarBinding)
            .where(CalendarBinding.id == binding_id, CalendarBinding.zoom_changed_at == changed_at)
            .values(zoom_changed_at=None)
            .execution_options(**_NO_SYNC)
        )


async def release(
    session: AsyncSession,
    *,
    binding_id: int,
    owner: str,
    version: int,
    status: str,
    due_at: datetime | None,
    last_error: str | None,
    attempts: int,
    now: datetime,
) -> None:
    """Hand the binding back. If its inputs changed since ``version`` was read, the outcome
    only describes the old inputs: keep the due time the change set (never none)."""
    mine = (CalendarBinding.id == binding_id, CalendarBinding.lease_owner == owner)
    common = {
        "lease_owner": None,
        "lease_until": None,
        "last_error": last_error,
        "attempts": attempts,
        "updated_at": now,
    }
    result = await session.execute(
        update(CalendarBinding)
        .where(*mine, CalendarBinding.desired_version == version)
        .values(status=status, due_at=due_at, settle_from=None, **common)
        .execution_options(**_NO_SYNC)
    )
    if _count(result) == 0:
        later = case(
            (CalendarBinding.due_at.is_(None), bindparam("now", now, type_=TZDateTime())),
            else_=CalendarBinding.due_at,
        )
        await session.execute(
            update(CalendarBinding)
            .where(*mine)
            .values(due_at=later, **common)
            .execution_options(**_NO_SYNC)
        )


async def forget(session: AsyncSession, *, binding_id: int, owner: str, version: int) -> bool:
    """Remove a binding the calendar no longer wants and Zoom no longer has."""
    result = await session.execute(
        delete(CalendarBinding)
        .where(
            CalendarBinding.id == binding_id,
            CalendarBinding.lease_owner == owner,
            CalendarBinding.desired_version == version,
        )
        .execution_options(**_NO_SYNC)
    )
    return _count(result) == 1


async def remove(session: AsyncSession, *, binding_id: int) -> None:
    await session.execute(delete(CalendarBinding).where(CalendarBinding.id == binding_id))


async def zoom_account_of(session: AsyncSession, *, user_id: int) -> str | None:
    result: str | None = await session.scalar(
        select(ZoomGrant.zoom_account_id).where(ZoomGrant.user_id == user_id)
    )
    return result


async def by_meeting(
    session: AsyncSession, *, zoom_meeting_id: int, zoom_user_id: str | None
) -> list[Binding]:
    """Bindings mirrored by a Zoom meeting (of that Zoom user, when the webhook names one)."""
    query = select(CalendarBinding).where(CalendarBinding.zoom_meeting_id == zoom_meeting_id)
    if zoom_user_id:
        query = query.join(ZoomGrant, ZoomGrant.user_id == CalendarBinding.user_id).where(
            ZoomGrant.zoom_user_id == zoom_user_id
        )
    return [_decode(row) for row in (await session.scalars(query)).all()]


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)
