"""Exchange Online through Microsoft Graph: calendarView delta queries, app-only.

Authentication is ``msal``'s client-credentials flow (a client secret or a certificate), with
the ``Calendars.Read`` application permission; msal keeps the token until it nears expiry. The
authority is the configured one as given (``instance_discovery=False``: national clouds and the
tests' stand-in are not on msal's list of known hosts).

A mailbox's sync state is a small JSON object: the delta (or next-page) link of the current
round over a window of time, the window, and the ids of the series that carry Zoom. Each call
of :meth:`GraphSource.changes` makes one page request::

    GET /users/{address}/calendarView/delta?startDateTime=…&endDateTime=…   (a new round)
    GET <@odata.nextLink>                                                   (the next page)
    GET <@odata.deltaLink>                                                  (later: what changed)

``calendarView`` holds single events and the occurrences and exceptions of series, never a
series' master. So: an entry whose location or body shows a Zoom join link is read again
with the add-in's custom property (``$expand=singleValueExtendedProperties``) — for an
occurrence, its master and the master's instances in the window; entries without a join link
cost nothing more. A removed entry names only its id: it is reported gone (the watcher knows
which ids carried Zoom), and the known Zoom series are read again, since the id may have been
one of their occurrences. An idle mailbox costs one request per poll.

The window is ``WINDOW_BACK`` to ``WINDOW_AHEAD`` around the round's start. A round older than
``ROLL_AFTER`` is replaced: the new round is listed first and the old one drained after it, so
nothing that changed in between is missed (changes seen twice are absorbed by the mirror).

Graph's answers: ``410 Gone`` (the delta token expired) → :class:`SyncStateInvalid`;
``429``/``503`` → :class:`SourceBusy` with the ``Retry-After`` Graph named, and when several
mailboxes are throttled within a minute the whole tenant waits (Graph's limits are per mailbox
and per app and tenant); ``403``/``404`` for the mailbox → :class:`MailboxUnavailable`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from linkzoom.calendar.sources.base import (
    Batch,
    Gone,
    MailboxUnavailable,
    Seen,
    SourceBusy,
    SourceError,
    Subscription,
    SubscriptionState,
    SyncStateInvalid,
    join_url_in,
    marks_of,
)
from linkzoom.calendar.sources.graph_config import GraphSettings
from linkzoom.calendar.sources.graph_items import SERIES_MASTER, event_of
from linkzoom.calendar.sources.patterns import NotMirrorable
from linkzoom.problems import ValidationFailed

log = logging.getLogger(__name__)

# [MS-OXPROPS]: PS_PUBLIC_STRINGS, where Office.js keeps an add-in's custom properties.
PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"
WINDOW_BACK, WINDOW_AHEAD = timedelta(days=7), timedelta(days=400)
ROLL_AFTER = timedelta(days=7)
# Graph's maximum for Outlook events is 4,230 minutes ("subscription resource type").
SUBSCRIPTION_LIFETIME = timedelta(minutes=4_200)
RENEW_BEFORE = timedelta(days=1)
TIMEOUT = 30.0
DEFAULT_RETRY_AFTER = 30.0  # seconds, when a 429/503 names none
TENANT_THROTTLE = 3  # throttled mailboxes within a minute that make the whole tenant wait
_EVENT_FIELDS = (
    "id,subject,start,end,isAllDay,type,recurrence,seriesMasterId,originalStart,"
    "originalStartTimeZone,isCancelled,location"
)
_INSTANCE_FIELDS = "id,type,start,end,originalStart,isCancelled"


@dataclass(kw_only=True)
class _State:
    link: str | None
    window: tuple[datetime, datetime]
    series: list[str] = field(default_factory=list)
    listed: bool = False  # this round reached its delta link
    old: str | None = None  # the previous round, drained once the new one is listed

    def dumps(self) -> str:
        return json.dumps(
            {
                "v": 1,
                "link": self.link,
                "window": [self.window[0].isoformat(), self.window[1].isoformat()],
                "series": self.series,
                "listed": self.listed,
                "old": self.old,
            }
        )

    @classmethod
    def loads(cls, text: str) -> _State:
        try:
            data = json.loads(text)
            window = (
                datetime.fromisoformat(data["window"][0]),
                datetime.fromisoformat(data["window"][1]),
            )
            return cls(
                link=data["link"],
                window=window,
                series=list(data["series"]),
                listed=bool(data["listed"]),
                old=data["old"],
            )
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            raise SyncStateInvalid("The stored Graph sync state is not one we wrote.") from exc


class GraphSource:
    """:class:`~linkzoom.calendar.sources.base.MailboxReader` for Exchange Online."""

    def __init__(
        self,
        settings: GraphSettings,
        *,
        addin_id: str,
        notification_url: str | None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._settings = settings
        self._property = f"String {PUBLIC_STRINGS} Name cecp-{addin_id}"
        self._notification_url = notification_url
        self._clock = clock or (lambda: datetime.now(UTC))
        self._http = httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)
        self._app: Any = None
        self._app_http: Any = None
        self._app_lock = threading.Lock()
        self._tenant_wait_until = 0.0  # time.monotonic()
        self._throttled: dict[str, float] = {}  # address -> monotonic time of its last 429/503

    # --- the MailboxReader interface -------------------------------------------------------

    async def changes(self, address: str, sync_state: str | None) -> Batch:
        now = self._clock()
        state = _State.loads(sync_state) if sync_state else None
        if state is None:
            state = _State(link=None, window=(now - WINDOW_BACK, now + WINDOW_AHEAD))
        elif (
            state.listed and state.old is None and now - state.window[0] > WINDOW_BACK + ROLL_AFTER
        ):
            # A new round over the window ahead of now; the old one is drained after it.
            state = _State(
                link=None,
                window=(now - WINDOW_BACK, now + WINDOW_AHEAD),
                series=state.series,
                old=state.link,
            )
        draining_old = state.listed and state.old is not None
        if draining_old:
            assert state.old is not None
            link = state.old
        elif state.link is None:
            link = self._url(
                f"/users/{quote(address)}/calendarView/delta",
                startDateTime=_iso(state.window[0]),
                endDateTime=_iso(state.window[1]),
            )
        else:
            link = state.link
        # An expired old round (or the current one) is a full resync: the watcher lists the
        # mailbox again and asks about what that listing did not show.
        page = await self._get(address, link, prefer_page=True)
        entries = list(page.get("value") or [])
        next_link = page.get("@odata.nextLink")
        delta_link = page.get("@odata.deltaLink")
        if not isinstance(next_link, str) and not isinstance(delta_link, str):
            raise SourceError("Microsoft Graph answered a delta page with no next or delta link.")
        changes = await self._read(address, entries, state)
        following = next_link if isinstance(next_link, str) else None
        if draining_old:
            state.old = following
        else:
            state.link = following or delta_link
            state.listed = following is None
        last = state.listed and state.old is None
        return Batch(changes=changes, sync_state=state.dumps(), last=last)

    async def exists(self, address: str, item_id: str) -> bool:
        """Whether the item is still in the mailbox (asked before a full listing's unseen items
        are taken for deleted: the listing covers only its window of time)."""
        try:
            await self._get(
                address,
                self._url(f"/users/{quote(address)}/events/{quote(item_id)}", **{"$select": "id"}),
                item=True,
            )
        except _NotFound:
            return False
        return True

    async def check(self, address: str) -> str | None:
        """Read ``address``'s calendar once (one event), as the watch would: ``None`` if that
        works, else what went wrong, fit for an administrator."""
        try:
            await self._get(address, self._url(f"/users/{quote(address)}/events", top="1"))
        except SourceError as exc:
            return str(exc)
        return None

    async def subscribe(
        self, address: str, current: SubscriptionState | None
    ) -> Subscription | None:
        """Keep one change-notification subscription on ``address``'s events: created when
        there is none, renewed when it ends within ``RENEW_BEFORE``; ``None`` when nothing had
        to be done. The validation handshake happens during the request: Graph posts a
        ``validationToken`` to the notification URL before it answers."""
        if self._notification_url is None:
            return None
        now = self._clock()
        expires = now + SUBSCRIPTION_LIFETIME
        if current is not None:
            if current.expires_at - now > RENEW_BEFORE:
                return None
            try:
                answer = await self._send(
                    address,
                    "PATCH",
                    self._url(f"/subscriptions/{quote(current.id)}"),
                    {"expirationDateTime": _iso(expires)},
                )
                return Subscription(
                    id=current.id, expires_at=_expiry(answer, expires), client_state=None
                )
            except MailboxUnavailable:
                pass  # the subscription is gone (removed, expired): make a new one
        client_state = secrets.token_urlsafe(32)
        answer = await self._send(
            address,
            "POST",
            self._url("/subscriptions"),
            {
                "changeType": "created,updated,deleted",
                "notificationUrl": self._notification_url,
                "lifecycleNotificationUrl": self._notification_url,
                "resource": f"/users/{address}/events",
                "expirationDateTime": _iso(expires),
                "clientState": client_state,
            },
        )
        return Subscription(
            id=str(answer["id"]), expires_at=_expiry(answer, expires), client_state=client_state
        )

    async def close(self) -> None:
        await self._http.aclose()
        with self._app_lock:
            self._close_app()

    def _close_app(self) -> None:
        if self._app_http is not None:
            self._app_http.close()
        self._app, self._app_http = None, None

    # --- reading entries --------------------------------------------------------------------

    async def _read(
        self, address: str, entries: list[dict[str, Any]], state: _State
    ) -> list[Seen | Gone]:
        changes: list[Seen | Gone] = []
        masters: list[str] = []
        removed = False
        for entry in entries:
            item_id = entry.get("id")
            if not isinstance(item_id, str):
                continue
            if "@removed" in entry:
                changes.append(Gone(item_id=item_id))
                removed = True
                continue
            if not _shows_join_link(entry):
                continue  # no Zoom link anywhere on it: not fetched again
            master = entry.get("seriesMasterId") if entry.get("type") != "singleInstance" else None
            target = master if isinstance(master, str) else item_id
            if target not in masters:
                masters.append(target)
        if removed:
            masters += [s for s in state.series if s not in masters]
        read: list[Seen | Gone] = []
        for item_id in masters:
            change = await self._item(address, item_id, state)
            if change is not None:
                read.append(change)
        # An event made a series leaves the view under its own id and comes back as its
        # occurrences: what was read whole after the page settles it.
        settled = {change.item_id for change in read}
        return [c for c in changes if c.item_id not in settled] + read

    async def _item(self, address: str, item_id: str, state: _State) -> Seen | Gone | None:
        url = self._url(
            f"/users/{quote(address)}/events/{quote(item_id)}",
            **{
                "$select": _EVENT_FIELDS,
                "$expand": f"singleValueExtendedProperties($filter=id eq '{self._property}')",
            },
        )
        try:
            event = await self._get(address, url, item=True)
        except _NotFound:
            if item_id in state.series:
                state.series.remove(item_id)
            return Gone(item_id=item_id)
        location = (event.get("location") or {}).get("displayName")
        marks = marks_of(self._cecp(event), location)
        if not marks.any:
            return None
        is_series = event.get("type") == SERIES_MASTER
        if is_series and item_id not in state.series:
            state.series.append(item_id)
        instances: list[dict[str, Any]] = []
        if is_series:
            page = await self._get(
                address,
                self._url(
                    f"/users/{quote(address)}/events/{quote(item_id)}/instances",
                    startDateTime=_iso(state.window[0]),
                    endDateTime=_iso(state.window[1]),
                    **{"$select": _INSTANCE_FIELDS, "$top": "1000"},
                ),
            )
            instances = list(page.get("value") or [])
            while isinstance(page.get("@odata.nextLink"), str):
                page = await self._get(address, page["@odata.nextLink"])
                instances += list(page.get("value") or [])
        try:
            mirrored = event_of(event, instances, window=state.window)
        except (ValidationFailed, NotMirrorable, ValueError, KeyError) as exc:
            detail = (
                "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
                if isinstance(exc, ValidationFailed)
                else str(exc)
            )
            return Seen(item_id=item_id, marks=marks, event=None, problem=detail)
        return Seen(item_id=item_id, marks=marks, event=mirrored, join_url=join_url_in(location))

    def _cecp(self, event: dict[str, Any]) -> str | None:
        for prop in event.get("singleValueExtendedProperties") or ():
            if str(prop.get("id", "")).lower() == self._property.lower():
                value = prop.get("value")
                return value if isinstance(value, str) else None
        return None

    # --- HTTP -------------------------------------------------------------------------------

    def _url(self, path: str, **query: str) -> str:
        base = f"{self._settings.api_url.rstrip('/')}/v1.0{path}"
        return str(httpx.URL(base, params=query)) if query else base

    async def _get(
        self, address: str, url: str, *, prefer_page: bool = False, item: bool = False
    ) -> dict[str, Any]:
        return await self._send(address, "GET", url, None, prefer_page=prefer_page, item=item)

    async def _send(
        self,
        address: str,
        method: str,
        url: str,
        body: dict[str, Any] | None,
        *,
        prefer_page: bool = False,
        item: bool = False,
    ) -> dict[str, Any]:
        wait = self._tenant_wait_until - time.monotonic()
        if wait > 0:
            raise SourceBusy("Microsoft Graph throttles this tenant.", retry_after=wait)
        prefer = ['IdType="ImmutableId"', 'outlook.timezone="UTC"']
        if prefer_page:
            prefer.append(f"odata.maxpagesize={self._settings.page_size}")
        for attempt in range(2):
            token = await self._token(fresh=attempt > 0)
            try:
                response = await self._http.request(
                    method,
                    url,
                    json=body,
                    headers={"Authorization": f"Bearer {token}", "Prefer": ", ".join(prefer)},
                )
            except httpx.HTTPError as exc:
                raise SourceError(f"Microsoft Graph is unreachable: {type(exc).__name__}.") from exc
            if response.status_code == 401 and attempt == 0:
                continue  # a token Graph no longer takes (revoked): one new grant, one retry
            return self._answer(address, response, item=item)
        raise AssertionError("unreachable")

    def _answer(self, address: str, response: httpx.Response, *, item: bool) -> dict[str, Any]:
        status = response.status_code
        if 200 <= status < 300:
            if status == 204 or not response.content:
                return {}
            try:
                answer = response.json()
            except ValueError as exc:
                raise SourceError("Microsoft Graph answered with something not JSON.") from exc
            if not isinstance(answer, dict):
                raise SourceError("Microsoft Graph answered with something not a JSON object.")
            return answer
        code = _error_code(response)
        if status == 410:
            raise SyncStateInvalid(f"Microsoft Graph no longer accepts the delta link ({code}).")
        if status in (429, 503):
            raise self._throttled_by(address, response, code)
        if status == 404 and item:
            raise _NotFound(code)
        if status in (403, 404):
            raise MailboxUnavailable(f"Microsoft Graph refused the mailbox: {status} {code}.")
        if status == 401:
            raise SourceError(f"Microsoft Graph refused the app's access token ({code}).")
        raise SourceError(f"Microsoft Graph could not be read: {status} {code}.")

    def _throttled_by(self, address: str, response: httpx.Response, code: str) -> SourceBusy:
        wait = _retry_after(response.headers.get("Retry-After"))
        now = time.monotonic()
        self._throttled = {a: t for a, t in self._throttled.items() if now - t < 60} | {
            address: now
        }
        if len(self._throttled) >= TENANT_THROTTLE:
            self._tenant_wait_until = max(self._tenant_wait_until, now + wait)
            log.warning("Microsoft Graph throttles the tenant", extra={"retry_after": wait})
        return SourceBusy(
            f"Microsoft Graph asked us to wait ({response.status_code} {code}).", retry_after=wait
        )

    async def _token(self, *, fresh: bool) -> str:
        return await asyncio.to_thread(self._acquire, fresh)

    def _acquire(self, fresh: bool) -> str:
        import msal  # on demand: msal and its requests stack cost at every process start
        import requests

        settings = self._settings
        with self._app_lock:
            if self._app is None or fresh:
                self._close_app()
                # Our own session, so close() can end its connections (msal never does).
                self._app_http = requests.Session()
                try:
                    self._app = msal.ConfidentialClientApplication(
                        settings.client_id,
                        client_credential=settings.credential.msal_credential(),
                        authority=settings.authority_url,
                        instance_discovery=False,
                        timeout=TIMEOUT,
                        http_client=self._app_http,
                    )
                except ValueError as exc:  # the authority's discovery failed (4xx)
                    raise SourceError(
                        "Microsoft Entra ID does not know the tenant "
                        f"{settings.tenant_id!r} at {settings.authority}."
                    ) from exc
                except OSError as exc:
                    raise SourceError(
                        f"Microsoft Entra ID is unreachable: {type(exc).__name__}."
                    ) from exc
            app = self._app
        try:
            result = app.acquire_token_for_client(scopes=[settings.scope])
        except OSError as exc:
            raise SourceError(f"Microsoft Entra ID is unreachable: {type(exc).__name__}.") from exc
        token = result.get("access_token") if isinstance(result, dict) else None
        if not isinstance(token, str):
            error = str(result.get("error", "unknown")) if isinstance(result, dict) else "unknown"
            codes = result.get("error_codes") if isinstance(result, dict) else None
            code = f" (AADSTS{codes[0]})" if isinstance(codes, list) and codes else ""
            raise SourceError(f"Microsoft Entra ID refused the app's token request: {error}{code}.")
        return token


class _NotFound(SourceError):
    """The item is not there (any more)."""


def _shows_join_link(entry: dict[str, Any]) -> bool:
    location = (entry.get("location") or {}).get("displayName") or ""
    body = (entry.get("body") or {}).get("content") or ""
    return marks_of(None, f"{location} {body}").zoom_meeting_id is not None


def _error_code(response: httpx.Response) -> str:
    try:
        error = response.json().get("error") or {}
        code = error.get("code")
    except (ValueError, AttributeError):
        return "no error code"
    return str(code)[:100] if code else "no error code"


def _retry_after(value: str | None) -> float:
    """``Retry-After``: delay-seconds or an HTTP-date (RFC 9110 §10.2.3)."""
    if not value:
        return DEFAULT_RETRY_AFTER
    try:
        return max(0.0, float(value.strip()))  # Graph sends fractions: "Retry-After: 2.128"
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return DEFAULT_RETRY_AFTER
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _expiry(answer: dict[str, Any], asked: datetime) -> datetime:
    text = answer.get("expirationDateTime")
    if isinstance(text, str):
        try:
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
        except ValueError:
            pass
    return asked
