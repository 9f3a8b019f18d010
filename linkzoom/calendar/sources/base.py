"""What every mailbox source gives the watcher, and the errors it may raise.

A source answers one question for one mailbox: *what changed since this sync state?* — in
batches, each with the state to ask from next. Asked with no state, it lists everything (a full
resync). It reports only events that carry Zoom (the add-in's ``cecp-<add-in id>`` custom
property, else a Zoom join link in the location), and deletions by item id, because a deleted
item no longer says what it was; the watcher remembers which items it has seen.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

from linkzoom.calendar.event import CalendarEvent

EVENT_KEY, MEETING_ID = "linkzoom_event_key", "linkzoom_meeting_id"  # DESIGN.md, custom properties
# A Zoom join link: https://<host>/j/<meeting id>, the form Zoom's join_url has.
_JOIN_URL = re.compile(r"https?://[^\s/]+/j/(\d{9,12})\b")
_WHOLE_JOIN_URL = re.compile(r"https?://[^\s/]+/j/\d{9,12}(?:\?[^\s<>\"']*)?")


@dataclass(frozen=True, kw_only=True)
class Marks:
    """How an item says it has Zoom: the add-in's event key, the meeting id, or both."""

    event_key: str | None = None
    zoom_meeting_id: int | None = None

    @property
    def any(self) -> bool:
        return self.event_key is not None or self.zoom_meeting_id is not None


def marks_of(custom_properties: str | None, location: str | None) -> Marks:
    """Read the custom properties (Exchange keeps them as one JSON object in the named property
    ``cecp-<add-in id>``) and, failing those, a join link in the location."""
    event_key: str | None = None
    meeting_id: int | None = None
    if custom_properties:
        try:
            stored = json.loads(custom_properties)
        except ValueError:
            stored = None
        if isinstance(stored, dict):
            key = stored.get(EVENT_KEY)
            if isinstance(key, str) and 0 < len(key) <= 512:
                event_key = key
            number = stored.get(MEETING_ID)
            if isinstance(number, str) and number.isdigit():
                meeting_id = int(number)
    if meeting_id is None and location and (found := _JOIN_URL.search(location)):
        meeting_id = int(found.group(1))
    return Marks(event_key=event_key, zoom_meeting_id=meeting_id)


def join_url_in(text: str | None) -> str | None:
    """The first whole Zoom join link (with its ``?pwd=…``) in ``text``."""
    found = _WHOLE_JOIN_URL.search(text or "")
    return found.group(0) if found else None


@dataclass(frozen=True, kw_only=True)
class Seen:
    """An item that exists now and carries Zoom; ``event`` is ``None`` when the item cannot be
    mirrored as it stands (``problem`` says why: the watcher leaves its meeting as it was).
    ``join_url``: the link the item shows, where the source writes links back (CalDAV)."""

    item_id: str
    marks: Marks
    event: CalendarEvent | None
    problem: str | None = None
    join_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class Gone:
    """An item that was deleted (or moved out of the calendar)."""

    item_id: str


@dataclass(frozen=True, kw_only=True)
class Batch:
    changes: list[Seen | Gone]
    sync_state: str
    last: bool  # no more changes wait behind this batch


class SourceError(Exception):
    """Base of what a source raises; the message is safe to show an administrator."""


class SyncStateInvalid(SourceError):
    """The server no longer accepts the stored sync state: list everything again."""


class SourceBusy(SourceError):
    """The server asks us to wait (EWS ``ErrorServerBusy``, HTTP 429/503)."""

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class WriteConflict(SourceError):
    """An item kept changing under a write-back (a 412 at every try)."""


class WriteRefused(SourceError):
    """The server does not let us write the item (a read-only or shared calendar)."""


class MailboxUnavailable(SourceError):
    """The mailbox is gone, or the service account may not open it: not worth retrying soon."""


class MailboxReader(Protocol):
    async def changes(self, address: str, sync_state: str | None) -> Batch:
        """The next batch of changes of ``address``'s calendar after ``sync_state``."""
        ...


@runtime_checkable
class LinkWriter(Protocol):
    """A source that can put a changed Zoom link into the calendar item itself (CalDAV; on
    Exchange the add-in does it)."""

    async def write_back(
        self, address: str, item_id: str, *, old: str | None, new: str, event_key: str
    ) -> None: ...


@dataclass(frozen=True, kw_only=True)
class SubscriptionState:
    """The change-notification subscription a mailbox has now."""

    id: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class Subscription:
    """A subscription made or renewed; ``client_state`` only when made (the secret Graph sends
    back with every notification, kept only as its digest)."""

    id: str
    expires_at: datetime
    client_state: str | None


@runtime_checkable
class Subscriber(Protocol):
    """A source that can tell us of changes as they happen (Graph change notifications): a
    notification only makes the mailbox due; the sync stays the source of truth."""

    async def subscribe(
        self, address: str, current: SubscriptionState | None
    ) -> Subscription | None: ...


@runtime_checkable
class Confirms(Protocol):
    """A source whose full listing covers a window of time only (Graph's calendarView): an
    item a listing did not show may still exist, outside it."""

    async def exists(self, address: str, item_id: str) -> bool: ...
