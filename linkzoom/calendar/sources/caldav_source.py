"""CalDAV calendars (Nextcloud, SOGo, Fastmail, iCloud, Radicale) through the ``caldav`` client.

A watched "mailbox" here is one calendar collection, named by its URL and read with its own
login (:mod:`linkzoom.calendar.sources.caldav_accounts`). A poll is one ``sync-collection``
REPORT (RFC 6578) from the stored sync token: the hrefs changed or removed since, with their
ETags. An idle calendar therefore costs one request. CalDAV cannot say which objects carry Zoom
without their data, so the changed ones are fetched in one ``calendar-multiget`` (RFC 4791
§7.9) and read by the project's iCalendar reader (master, RECURRENCE-ID overrides, VTIMEZONE);
an object carries Zoom by the ``X-LINKZOOM-EVENT`` property the mirror writes (its event key),
else a Zoom join link in LOCATION or DESCRIPTION. A token the server no longer knows is the
``DAV:valid-sync-token`` precondition (RFC 6578 §3.2): the watcher lists everything again.

Write-back (:meth:`CaldavSource.write_back`): when the meeting's link changes (a recreated
meeting, a new passcode) the object's LOCATION and DESCRIPTION get the new link, with
``If-Match`` on the ETag just read. A 412 means someone else edited it meanwhile: the object is
read again and the link edit made on top of their version, never over it.

``caldav`` is synchronous; each call runs in a worker thread, one client per calendar.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

from caldav.calendarobjectresource import Event
from caldav.davclient import DAVClient
from caldav.lib import error as dav_error

from linkzoom.calendar.ical import event_from_ical
from linkzoom.calendar.sources.base import (
    Batch,
    Gone,
    MailboxUnavailable,
    Marks,
    Seen,
    SourceBusy,
    SourceError,
    SyncStateInvalid,
    WriteConflict,
    WriteRefused,
    join_url_in,
    marks_of,
)
from linkzoom.calendar.sources.caldav_accounts import Login
from linkzoom.problems import ValidationFailed

EVENT_PROPERTY = "X-LINKZOOM-EVENT"
VALID_SYNC_TOKEN = "{DAV:}valid-sync-token"
TIMEOUT = 30  # seconds
WRITE_TRIES = 3  # a calendar edited this often while we write: give up until the next poll
DEFAULT_RETRY = 60.0


# How the source learns a calendar's login: the watcher's process reads it from the database.
LoginLookup = Callable[[str], Awaitable[Login]]


class CaldavSource:
    """:class:`~linkzoom.calendar.sources.base.MailboxReader` for CalDAV calendars."""

    def __init__(self, logins: LoginLookup) -> None:
        self._logins = logins
        self._clients: dict[str, tuple[Login, Any]] = {}
        self._lock = threading.Lock()

    async def changes(self, address: str, sync_state: str | None) -> Batch:
        login = await self._logins(address)
        return await asyncio.to_thread(self._changes, address, login, sync_state)

    async def check(self, address: str) -> str | None:
        """Read the calendar's properties as the watch would: ``None`` if that works."""
        try:
            login = await self._logins(address)
            await asyncio.to_thread(self._check, address, login)
        except SourceError as exc:
            return str(exc)
        return None

    async def write_back(
        self, address: str, item_id: str, *, old: str | None, new: str, event_key: str
    ) -> None:
        """Put ``new`` where the object shows ``old`` (or into an empty LOCATION), and the event
        key into ``X-LINKZOOM-EVENT``; retried on top of a concurrent edit (If-Match)."""
        login = await self._logins(address)
        await asyncio.to_thread(self._write_back, address, login, item_id, old, new, event_key)

    def close(self) -> None:
        with self._lock:
            clients, self._clients = [c for _, c in self._clients.values()], {}
        for client in clients:
            client.close()

    # -- in the worker thread ------------------------------------------------------------------

    def _calendar(self, address: str, login: Login) -> Any:
        with self._lock:
            known = self._clients.get(address)
            if known is None or known[0] != login:
                if known is not None:
                    known[1].close()
                client = DAVClient(
                    url=address, username=login.username, password=login.password, timeout=TIMEOUT
                )
                known = self._clients[address] = (login, client)
        return known[1].calendar(url=address)

    def _check(self, address: str, login: Login) -> None:
        with self._translated(address):
            self._calendar(address, login).get_properties()

    def _changes(self, address: str, login: Login, sync_state: str | None) -> Batch:
        with self._translated(address):
            calendar = self._calendar(address, login)
            found = calendar.get_objects_by_sync_token(
                sync_token=sync_state, load_objects=False, disable_fallback=True
            )
            deleted = {_item_id(url) for url in found.deleted_urls}
            changes: list[Seen | Gone] = [Gone(item_id=item) for item in sorted(deleted)]
            changed = [o.url for o in found.objects if _item_id(o.url) not in deleted]
            if changed:
                for obj in calendar.multiget(changed):
                    seen = _seen(_item_id(obj.url), obj.data)
                    if seen is not None:
                        changes.append(seen)
            return Batch(
                changes=changes, sync_state=str(found.sync_token), last=not found.truncated
            )
        raise AssertionError("unreachable")  # mypy: the context manager may swallow

    def _write_back(
        self, address: str, login: Login, item_id: str, old: str | None, new: str, event_key: str
    ) -> None:
        with self._translated(address):
            calendar = self._calendar(address, login)
            url = calendar.url.join(item_id)
            for _ in range(WRITE_TRIES):
                obj: Any = Event(client=calendar.client, url=url, parent=calendar).load()
                if not _relink(obj.icalendar_instance, old=old, new=new, event_key=event_key):
                    return  # it shows the link already (perhaps another worker wrote it)
                try:
                    # If-Match on the ETag just read; SEQUENCE kept: the event did not change.
                    obj.save(precondition="etag", increase_seqno=False)
                    return
                except dav_error.ETagMismatchError:
                    continue  # edited meanwhile: read their version and edit that
                except (dav_error.AuthorizationError, dav_error.PutError) as exc:
                    raise WriteRefused("The CalDAV server does not let us edit the event.") from exc
            raise WriteConflict("The event kept changing while its Zoom link was written.")

    @contextmanager
    def _translated(self, address: str) -> Iterator[None]:
        """caldav's errors as the source's own, once, at the edge."""
        try:
            yield
        except dav_error.AuthorizationError as exc:
            if VALID_SYNC_TOKEN in (getattr(exc, "preconditions", None) or ()):
                raise SyncStateInvalid("The server no longer knows the sync token.") from exc
            self._forget(address)
            reason = getattr(exc, "reason", "") or ""
            if "unauthorized" in reason.lower():
                raise SourceError("The CalDAV server refused the calendar's login.") from exc
            raise MailboxUnavailable("The CalDAV server denies access to the calendar.") from exc
        except dav_error.NotFoundError as exc:
            self._forget(address)
            raise MailboxUnavailable("The calendar is not on the CalDAV server.") from exc
        except dav_error.RateLimitError as exc:
            wait = getattr(exc, "retry_after_seconds", None) or DEFAULT_RETRY
            raise SourceBusy("The CalDAV server asks us to wait.", retry_after=float(wait)) from exc
        except dav_error.DAVError as exc:
            self._forget(address)
            raise SourceError(
                f"The CalDAV server could not be read: {type(exc).__name__}."
            ) from exc
        except OSError as exc:  # connection errors of the HTTP client derive from OSError
            self._forget(address)
            raise SourceError(f"The CalDAV server is unreachable: {type(exc).__name__}.") from exc

    def _forget(self, address: str) -> None:
        with self._lock:
            known = self._clients.pop(address, None)
        if known is not None:
            known[1].close()


def _item_id(url: Any) -> str:
    """An object's href path, the same however the server spelled its escapes."""
    return unquote(str(url.canonical().path))


def marks_in(data: bytes | str) -> tuple[Marks, str | None]:
    """How a calendar object says it has Zoom, and the join link it shows (first found)."""
    import icalendar

    try:
        calendar = icalendar.Calendar.from_ical(data)
    except ValueError:
        return Marks(), None
    events = list(calendar.walk("VEVENT"))
    master = next((e for e in events if "RECURRENCE-ID" not in e), events[0] if events else None)
    if master is None:
        return Marks(), None
    key = str(master.get(EVENT_PROPERTY, "")).strip() or None
    text = " ".join(str(e.get(name, "")) for e in events for name in ("LOCATION", "DESCRIPTION"))
    link = join_url_in(text)
    marks = marks_of(None, text)
    if key is not None and 0 < len(key) <= 512:
        marks = Marks(event_key=key, zoom_meeting_id=marks.zoom_meeting_id)
    return marks, link


def _seen(item_id: str, data: bytes | str | None) -> Seen | None:
    if not data:
        return None  # removed between the sync and the multiget: the next sync says so
    marks, link = marks_in(data)
    if not marks.any:
        return None  # an event without Zoom
    raw = data.encode() if isinstance(data, str) else data
    try:
        event = event_from_ical(raw)
    except ValidationFailed as exc:
        detail = "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
        return Seen(item_id=item_id, marks=marks, event=None, problem=detail, join_url=link)
    return Seen(item_id=item_id, marks=marks, event=event, join_url=link)


def _relink(calendar: Any, *, old: str | None, new: str, event_key: str) -> bool:
    """Edit the parsed object in place; ``True`` if anything changed."""
    changed = False
    for event in calendar.walk("VEVENT"):
        for name in ("LOCATION", "DESCRIPTION"):
            value = str(event.get(name, ""))
            if old and old in value:
                event[name] = value.replace(old, new)
                changed = True
        if not str(event.get("LOCATION", "")).strip() and "RECURRENCE-ID" not in event:
            event["LOCATION"] = new
            changed = True
        if "RECURRENCE-ID" not in event and str(event.get(EVENT_PROPERTY, "")) != event_key:
            event[EVENT_PROPERTY] = event_key
            changed = True
    return changed
