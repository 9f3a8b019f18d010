"""The data behind the EWS stand-in (:mod:`tests.support.ews`): one user's calendar folder.

Pure Python, no XML and no sockets; the server renders these values as SOAP.

Theory of operation
-------------------
Every mutation (add, update, move or cancel an occurrence, delete) takes the next *change number*
of the mailbox, as the Exchange store numbers changes. An item's change number is its
``version``; its ChangeKey is derived from it, so every change bumps the ChangeKey.

A sync state names *what the client has been told*: a snapshot ``item id -> version``. It is
stored here and handed out as an opaque token (``SyncState`` is opaque base64 data,
[MS-OXWSSYNC] 3.1.4.2.3.6). ``sync`` compares the snapshot with the folder:

==============================  ===================  =====================================
folder now                      snapshot             change reported
==============================  ===================  =====================================
item present                    absent               Create (with the item's properties)
item present, newer version     older version        Update (once, however many edits)
item deleted                    present              Delete (ItemId only)
item deleted                    absent               nothing: the client never saw it
==============================  ===================  =====================================

The last row follows the definition of Delete, "an item that has been deleted on the server
and has to be deleted on the client" ([MS-OXWSSYNC] 3.1.4.2.3.2): the client never had it.
Changes are ordered by change number. ``MaxChangesReturned`` cuts that list; the token minted
for a page records exactly what that page delivered, so the next page continues from there
whatever happens in between, and ``IncludesLastItemInRange`` is false until the list is
exhausted ([MS-OXWSSYNC] 3.1.4.2.3.2 ``SyncFolderItemsChangesType``, 3.1.4.2.3.6).

Times are aware datetimes throughout; naive ones are refused.
"""

from __future__ import annotations

import base64
import binascii
import enum
import threading
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # RRULE names, Monday first (date.weekday())
ChangeKind = Literal["Create", "Update", "Delete"]


class InvalidSyncState(ValueError):
    """The token is not one this mailbox issued, or it was invalidated."""


class _Keep(enum.Enum):
    KEEP = "keep"


KEEP = _Keep.KEEP  # "leave this field as it is" in EwsMailbox.update()


@dataclass(frozen=True, kw_only=True)
class Weekly:
    """Every ``interval`` weeks on ``days`` (``("MO", "WE")``); ends by ``until`` or ``count``."""

    days: tuple[str, ...]
    interval: int = 1
    until: date | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if not self.days or not set(self.days) <= set(WEEKDAYS):
            raise ValueError(f"days must be a non-empty subset of {WEEKDAYS}, not {self.days}")
        if not 1 <= self.interval <= 99:  # WeeklyRecurrencePatternType's Interval range
            raise ValueError("a weekly interval is 1..99")
        _check_end(self.until, self.count)


@dataclass(frozen=True, kw_only=True)
class Daily:
    """Every ``interval`` days; ends by ``until`` or ``count``."""

    interval: int = 1
    until: date | None = None
    count: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.interval <= 999:
            raise ValueError("a daily interval is 1..999")
        _check_end(self.until, self.count)


Recurrence = Weekly | Daily


def _check_end(until: date | None, count: int | None) -> None:
    if until is not None and count is not None:
        raise ValueError("a series ends by date or by count, not both")
    if count is not None and not 1 <= count <= 999:  # NumberOfOccurrences' range
        raise ValueError("count is 1..999")


@dataclass(frozen=True, kw_only=True)
class MovedOccurrence:
    """An exception of a series: it has an ItemId of its own ([MS-OXWSMTGS] 2.2.4.22)."""

    item_id: str
    original_start: datetime
    start: datetime
    end: datetime


@dataclass(frozen=True, kw_only=True)
class CalendarItem:
    """A single appointment or the master of a series, as the store holds it."""

    item_id: str
    version: int  # the mailbox change number of the item's last change
    uid: str
    subject: str
    start: datetime
    end: datetime
    timezone: str  # IANA name; served as a Windows zone id
    location: str
    body: str
    cecp: Mapping[str, str] | None = field(default=None, hash=False)
    recurrence: Recurrence | None = None
    all_day: bool = False
    moved: tuple[MovedOccurrence, ...] = ()
    cancelled: tuple[datetime, ...] = ()  # original starts of deleted occurrences

    @property
    def changekey(self) -> str:
        return base64.b64encode(f"ck:{self.version}".encode()).decode()

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def occurrence_starts(self) -> Iterator[datetime]:
        """The series' original starts in order (wall-clock time in the item's zone)."""
        if self.recurrence is None:
            yield self.start
            return
        rule, first = self.recurrence, self.start.astimezone(self.zone)
        day, produced = first.date(), 0
        while rule.until is None or day <= rule.until:
            if _matches(rule, first.date(), day):
                yield datetime.combine(day, first.timetz())
                produced += 1
                if rule.count is not None and produced >= rule.count:
                    return
            day += timedelta(days=1)

    def is_occurrence(self, original_start: datetime) -> bool:
        for start in self.occurrence_starts():
            if start >= original_start:
                return start == original_start
        return False


def _matches(rule: Recurrence, first: date, day: date) -> bool:
    if isinstance(rule, Daily):
        return (day - first).days % rule.interval == 0
    weeks = (day - timedelta(days=day.weekday()) - (first - timedelta(days=first.weekday()))).days
    return WEEKDAYS[day.weekday()] in rule.days and (weeks // 7) % rule.interval == 0


@dataclass(frozen=True, kw_only=True)
class Change:
    kind: ChangeKind
    item_id: str
    item: CalendarItem | None  # None for a Delete: only the ItemId travels


@dataclass(frozen=True, kw_only=True)
class SyncPage:
    changes: tuple[Change, ...]
    state: str
    includes_last_item_in_range: bool


class EwsMailbox:
    """One user's calendar folder. Safe to mutate from the test while the server reads it."""

    def __init__(self, address: str, *, lock: threading.RLock, realm: str) -> None:
        self.address = address
        self._lock = lock
        self._realm = f"{realm}:{address}"  # sync states are valid for this mailbox only
        self._items: dict[str, CalendarItem] = {}
        self._tombstones: dict[str, int] = {}  # deleted item id -> change number of the delete
        self._change_number = 0
        self._serial = 0
        self._epoch = 0
        self._states: list[Mapping[str, int]] = []

    # -- the tests' side ----------------------------------------------------------------------

    @property
    def items(self) -> dict[str, CalendarItem]:
        with self._lock:
            return dict(self._items)

    def add(
        self,
        *,
        subject: str,
        start: datetime,
        end: datetime,
        timezone: str = "UTC",
        location: str = "",
        body: str = "",
        cecp: Mapping[str, str] | None = None,
        recurrence: Recurrence | None = None,
        all_day: bool = False,
    ) -> str:
        """Create an appointment (or the master of a series); returns its ItemId."""
        with self._lock:
            self._serial += 1
            item_id = self._mint_id(str(self._serial))
            item = CalendarItem(
                item_id=item_id,
                version=self._next_change(),
                uid=_new_uid(),
                subject=subject,
                start=start,
                end=end,
                timezone=timezone,
                location=location,
                body=body,
                cecp=dict(cecp) if cecp is not None else None,
                recurrence=recurrence,
                all_day=all_day,
            )
            self._items[item_id] = _validated(item)
            return item_id

    def update(
        self,
        item_id: str,
        *,
        subject: str | _Keep = KEEP,
        start: datetime | _Keep = KEEP,
        end: datetime | _Keep = KEEP,
        timezone: str | _Keep = KEEP,
        location: str | _Keep = KEEP,
        body: str | _Keep = KEEP,
        cecp: Mapping[str, str] | _Keep | None = KEEP,
        recurrence: Recurrence | _Keep | None = KEEP,
        all_day: bool | _Keep = KEEP,
    ) -> None:
        """Change the given fields: one Update change and a new ChangeKey."""
        given = {
            "subject": subject, "start": start, "end": end, "timezone": timezone,
            "location": location, "body": body, "recurrence": recurrence, "all_day": all_day,
            "cecp": dict(cecp) if isinstance(cecp, Mapping) else cecp,
        }  # fmt: skip
        changes = {name: value for name, value in given.items() if value is not KEEP}
        with self._lock:
            item = replace(self._item(item_id), **changes)  # type: ignore[arg-type]
            self._store(_validated(item))

    def move_occurrence(
        self, item_id: str, original_start: datetime, start: datetime, end: datetime
    ) -> None:
        """Make one occurrence an exception (ModifiedOccurrences): an Update of the master."""
        with self._lock:
            master = self._series_occurrence(item_id, original_start)
            others = tuple(m for m in master.moved if m.original_start != original_start)
            moved = MovedOccurrence(
                item_id=self._mint_id(f"{item_id}:{_utc_key(original_start)}"),
                original_start=original_start,
                start=_aware(start, "start"),
                end=_aware(end, "end"),
            )
            ordered = tuple(sorted((*others, moved), key=lambda m: m.original_start))
            self._store(replace(master, moved=ordered))

    def cancel_occurrence(self, item_id: str, original_start: datetime) -> None:
        """Delete one occurrence (DeletedOccurrences): an Update of the master."""
        with self._lock:
            master = self._series_occurrence(item_id, original_start)
            moved = tuple(m for m in master.moved if m.original_start != original_start)
            cancelled = tuple(sorted({*master.cancelled, original_start}))
            self._store(replace(master, moved=moved, cancelled=cancelled))

    def delete(self, item_id: str) -> None:
        """Remove the item: one Delete change."""
        with self._lock:
            self._item(item_id)
            del self._items[item_id]
            self._tombstones[item_id] = self._next_change()

    # -- the server's side --------------------------------------------------------------------

    def get(self, item_id: str) -> CalendarItem | None:
        with self._lock:
            return self._items.get(item_id)

    def sync(self, state: str | None, max_changes: int) -> SyncPage:
        """The changes since ``state`` (None: since the beginning, all items are Creates)."""
        with self._lock:
            known = {} if state is None else self._knowledge(state)
            pending: list[tuple[int, Change]] = []
            for item in self._items.values():
                seen = known.get(item.item_id)
                if seen != item.version:
                    kind: ChangeKind = "Create" if seen is None else "Update"
                    pending.append(
                        (item.version, Change(kind=kind, item_id=item.item_id, item=item))
                    )
            for item_id, number in self._tombstones.items():
                if item_id in known:
                    pending.append((number, Change(kind="Delete", item_id=item_id, item=None)))
            pending.sort(key=lambda entry: entry[0])
            page = tuple(change for _, change in pending[:max_changes])
            if page or state is None:
                told = dict(known)
                for change in page:
                    if change.item is None:
                        del told[change.item_id]
                    else:
                        told[change.item_id] = change.item.version
                state = self._mint_state(told)
            return SyncPage(
                changes=page, state=state, includes_last_item_in_range=len(pending) <= max_changes
            )

    def forget_sync_states(self) -> None:
        with self._lock:
            self._epoch += 1
            self._states.clear()

    # -- internals ----------------------------------------------------------------------------

    def _item(self, item_id: str) -> CalendarItem:
        try:
            return self._items[item_id]
        except KeyError:
            raise KeyError(f"no item {item_id!r} in {self.address}") from None

    def _series_occurrence(self, item_id: str, original_start: datetime) -> CalendarItem:
        master = self._item(item_id)
        if master.recurrence is None:
            raise ValueError(f"{item_id!r} is not a recurring series")
        if not master.is_occurrence(_aware(original_start, "original_start")):
            raise ValueError(f"{original_start.isoformat()} is not an occurrence of {item_id!r}")
        if original_start in master.cancelled:
            raise ValueError(f"the occurrence at {original_start.isoformat()} is cancelled")
        return master

    def _store(self, item: CalendarItem) -> None:
        self._items[item.item_id] = replace(item, version=self._next_change())

    def _next_change(self) -> int:
        self._change_number += 1
        return self._change_number

    def _mint_id(self, local: str) -> str:
        return base64.b64encode(f"{self._realm}:item:{local}".encode()).decode()

    def _mint_state(self, told: Mapping[str, int]) -> str:
        self._states.append(told)
        token = f"{self._realm}:{self._epoch}:{len(self._states) - 1}"
        return base64.b64encode(token.encode()).decode()

    def _knowledge(self, state: str) -> Mapping[str, int]:
        try:
            realm, epoch, index = base64.b64decode(state, validate=True).decode().rsplit(":", 2)
            if realm == self._realm and int(epoch) == self._epoch and int(index) >= 0:
                return self._states[int(index)]
        except (binascii.Error, UnicodeDecodeError, ValueError, IndexError):
            pass
        raise InvalidSyncState(state)


def _validated(item: CalendarItem) -> CalendarItem:
    start, end = _aware(item.start, "start"), _aware(item.end, "end")
    if end < start:
        raise ValueError("end is before start")
    if item.all_day:
        # All-day events run from midnight to midnight in their zone, end exclusive.
        for value in (start, end):
            if value.astimezone(item.zone).timetz().replace(tzinfo=None) != time(0):
                raise ValueError(f"an all-day event starts and ends at midnight {item.timezone}")
    if item.recurrence is not None and not item.is_occurrence(start):
        raise ValueError("a series starts on one of its occurrences")
    return item


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got {value!r}")
    return value


def _utc_key(value: datetime) -> str:
    return value.astimezone(ZoneInfo("UTC")).strftime("%Y%m%dT%H%M%SZ")


def _new_uid() -> str:
    # The shape of an Exchange-made UID: the hex of a GlobalObjectId, whose first 16 bytes are
    # the fixed class id 04000000 8200E000 74C5B710 1A82E008 ([MS-OXOCAL] PidLidGlobalObjectId).
    return "040000008200E00074C5B7101A82E008" + "0" * 40 + uuid.uuid4().hex.upper()
