"""A Microsoft Graph stand-in (calendar reads, delta queries, subscriptions), for tests.

HTTPS on 127.0.0.1 (a ``trustme`` test CA in :attr:`GraphServer.ca_file`, for
``REQUESTS_CA_BUNDLE`` and ``SSL_CERT_FILE``). The same server is the Microsoft identity
platform for the app (:mod:`tests.support.entra`: OpenID configuration and the
client-credentials token endpoint, authority :attr:`GraphServer.url`), so the real ``msal``
gets its tokens here. What it answers, and the Microsoft Graph v1.0 document that says so:

* Every ``/v1.0`` request needs ``Authorization: Bearer`` with a token issued here; else
  ``401`` ``InvalidAuthenticationToken`` ("Microsoft Graph error responses and resource types":
  the ``{"error": {"code", "message"}}`` body of every error below).
* ``GET /v1.0/users/{id}/calendarView/delta?startDateTime&endDateTime`` ("event: delta";
  "Get incremental changes to events in a calendar view"): the first round lists the events,
  occurrences and exceptions in the window — never series masters — in pages of
  ``Prefer: odata.maxpagesize``, each page but the last with ``@odata.nextLink`` (a
  ``$skiptoken``), the last with ``@odata.deltaLink`` (a ``$deltatoken``). Following a delta
  link gives what changed since: changed or new instances whole, removed ones as ``{"id",
  "@removed": {"reason": "deleted"}}``. A token :meth:`GraphServer.expire_delta_tokens` made
  stale answers ``410 Gone`` (``SyncStateNotFound``), after which the client must start over
  ("Use delta query to track changes in Microsoft Graph data": "Synchronization reset").
* ``GET /v1.0/users/{id}/events/{id}`` with ``$select`` and ``$expand=
  singleValueExtendedProperties($filter=id eq '…')`` ("Get singleValueLegacyExtendedProperty":
  "Get resource instances expanded with a matching extended property"); the property comes
  back as ``[{"id", "value"}]``. A missing item is ``404`` ``ErrorItemNotFound``.
* ``GET /v1.0/users/{id}/events/{id}/instances?startDateTime&endDateTime`` ("List instances"):
  the occurrences and exceptions of a series in the window, with ``originalStart``; deleted
  occurrences are not listed.
* Times are UTC when asked with ``Prefer: outlook.timezone="UTC"`` (the default too), as
  ``dateTimeTimeZone`` values ("Get event": "Support various time zones").
* ``429`` with ``Retry-After`` when :meth:`GraphServer.throttle` is set ("Microsoft Graph
  throttling guidance"); an unknown mailbox ``404`` ``ErrorInvalidUser``; one the app may not
  read (an application access policy, :meth:`GraphServer.deny`) ``403`` ``ErrorAccessDenied``
  ("Limiting application permissions to specific Exchange Online mailboxes").
* ``POST /v1.0/subscriptions`` ("Create subscription"): ``changeType``, ``notificationUrl``,
  ``resource`` ``/users/{id}/events``, ``expirationDateTime`` (at most 4,230 minutes ahead
  for Outlook resources: "subscription resource type", "Maximum length of subscription per
  resource type"), ``clientState`` (at most 128 characters), ``lifecycleNotificationUrl``. Before
  answering, each URL is validated: a ``POST`` with ``?validationToken=…`` that must answer
  ``200`` with the token as ``text/plain`` within 10 seconds, else ``400`` ("Receive change
  notifications through webhooks": "Notification endpoint validation"). ``PATCH
  /v1.0/subscriptions/{id}`` renews, ``DELETE`` removes; an unknown id is ``404``.
* Notifications: each change of a subscribed mailbox's events is posted to its
  ``notificationUrl`` as ``{"value": [{subscriptionId, subscriptionExpirationDateTime,
  changeType, resource, resourceData, clientState, tenantId}]}`` ("change notification
  resource type"), lifecycle events (:meth:`GraphServer.lifecycle`) to the
  ``lifecycleNotificationUrl`` with ``lifecycleEvent`` ("Reduce missing subscriptions and
  change notifications for Outlook resources").

Ids are opaque strings; an occurrence's id is its master's plus its original start.
"""

from __future__ import annotations

import json
import secrets
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

import httpx
from dateutil import rrule as du

from tests.support.entra import DISCOVERY_SUFFIX, TOKEN_PATH_SUFFIX, TokenEndpoint
from tests.support.ews import serve_tls

TENANT_ID = "8f0b6e0c-5f43-4c7e-9d36-0d3a5f2b7c11"
CLIENT_ID = "2b7c9a54-3c1d-4f0e-8a6b-95d1e4c3a7f2"
CLIENT_SECRET = "graph-client-secret-for-tests"
ADDIN_ID = "6f3b2a1e-9c4d-4b8a-a7e5-2d1c0f9e8b7a"
PUBLIC_STRINGS = "{00020329-0000-0000-C000-000000000046}"
MAX_SUBSCRIPTION = timedelta(minutes=4_230)
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_INDEX = {"first": 1, "second": 2, "third": 3, "fourth": 4, "last": -1}


@dataclass
class Event:
    """A single event or a series master; times UTC. ``recurrence`` is Graph's JSON."""

    id: str
    subject: str
    start: datetime
    end: datetime
    zone: str = "UTC"
    location: str = ""
    body: str = ""
    cecp: str | None = None
    all_day: bool = False
    recurrence: dict[str, Any] | None = None
    moved: dict[datetime, tuple[datetime, datetime]] = field(default_factory=dict)
    deleted: set[datetime] = field(default_factory=set)
    version: int = 1

    def occurrences(self, low: datetime, high: datetime) -> list[tuple[datetime, datetime]]:
        """(original start, start) of each instance overlapping [low, high)."""
        if self.recurrence is None:
            return []
        length = self.end - self.start
        found = []
        for original in _expand(self.recurrence, self.start, self.zone, high + length):
            if original in self.deleted:
                continue
            start, end = self.moved.get(original, (original, original + length))
            if start < high and end > low:
                found.append((original, start))
        return found


def _expand(
    recurrence: dict[str, Any], start: datetime, zone: str, until: datetime
) -> list[datetime]:
    """Expand a ``patternedRecurrence`` ("patternedRecurrence resource type",
    "recurrencePattern", "recurrenceRange") on the wall clock of ``zone``, as Outlook keeps a
    series' local time."""
    from zoneinfo import ZoneInfo

    from linkzoom.calendar.zones import named_zone

    tz = named_zone(zone) or ZoneInfo("UTC")
    pattern, span = recurrence["pattern"], recurrence["range"]
    kind = pattern["type"]
    days = [du.weekdays[_DAYS.index(d)] for d in pattern.get("daysOfWeek") or []]
    index = _INDEX.get(pattern.get("index", "first"), 1)
    local = start.astimezone(tz).replace(tzinfo=None)
    options: dict[str, Any] = {"dtstart": local, "interval": int(pattern.get("interval", 1))}
    freq: Literal[0, 1, 2, 3]
    if kind == "daily":
        freq = du.DAILY
    elif kind == "weekly":
        freq, options["byweekday"] = du.WEEKLY, days
        options["wkst"] = _DAYS.index(pattern.get("firstDayOfWeek", "sunday"))
    elif kind == "absoluteMonthly":
        freq, options["bymonthday"] = du.MONTHLY, pattern["dayOfMonth"]
    elif kind == "relativeMonthly":
        freq, options["byweekday"], options["bysetpos"] = du.MONTHLY, days, index
    elif kind == "absoluteYearly":
        freq, options["interval"] = du.YEARLY, 1
        options["bymonth"], options["bymonthday"] = pattern["month"], pattern["dayOfMonth"]
    else:
        raise ValueError(f"the stand-in does not expand {kind}")
    if span["type"] == "endDate":
        last = date.fromisoformat(span["endDate"])
        options["until"] = datetime(last.year, last.month, last.day, 23, 59, 59)
    elif span["type"] == "numbered":
        options["count"] = int(span["numberOfOccurrences"])
    horizon = until.astimezone(tz).replace(tzinfo=None)
    found = []
    for wall in du.rrule(freq, **options):
        if wall > horizon:
            break
        found.append(wall.replace(tzinfo=tz).astimezone(UTC))
    return found


def _time(moment: datetime) -> dict[str, str]:
    return {
        "dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.0000000"),
        "timeZone": "UTC",
    }


def _offset(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Mailbox:
    def __init__(self, server: GraphServer, address: str) -> None:
        self.server, self.address = server, address
        self.user_id = str(uuid.uuid4())
        self.events: dict[str, Event] = {}

    # -- what a user does in Outlook ----------------------------------------------------------

    def add(self, **fields: Any) -> str:
        with self.server.lock:
            event = Event(id="AAMk" + secrets.token_urlsafe(24), **fields)
            self.events[event.id] = event
        self.server.changed(self, "created", event.id)
        return event.id

    def update(self, event_id: str, **fields: Any) -> None:
        with self.server.lock:
            event = self.events[event_id]
            for name, value in fields.items():
                setattr(event, name, value)
            event.version += 1
        self.server.changed(self, "updated", event_id)

    def move_occurrence(
        self, event_id: str, original: datetime, start: datetime, end: datetime
    ) -> None:
        with self.server.lock:
            event = self.events[event_id]
            event.moved[original] = (start, end)
            event.version += 1
        self.server.changed(self, "updated", event_id)

    def cancel_occurrence(self, event_id: str, original: datetime) -> None:
        with self.server.lock:
            event = self.events[event_id]
            event.deleted.add(original)
            event.version += 1
        self.server.changed(self, "deleted", f"{event_id}.{_offset(original)}")

    def delete(self, event_id: str) -> None:
        with self.server.lock:
            del self.events[event_id]
        self.server.changed(self, "deleted", event_id)

    # -- what Graph shows ---------------------------------------------------------------------

    def view(self, low: datetime, high: datetime) -> dict[str, tuple[int, dict[str, Any]]]:
        """calendarView: instance id -> (version, JSON)."""
        shown: dict[str, tuple[int, dict[str, Any]]] = {}
        for event in self.events.values():
            if event.recurrence is None:
                if event.start < high and event.end > low:
                    shown[event.id] = (event.version, self.json(event, "singleInstance"))
                continue
            for original, _ in event.occurrences(low, high):
                instance = self.instance(event, original)
                shown[instance["id"]] = (event.version, instance)
        return shown

    def instance(self, event: Event, original: datetime) -> dict[str, Any]:
        length = event.end - event.start
        start, end = event.moved.get(original, (original, original + length))
        kind = "exception" if original in event.moved else "occurrence"
        data = self.json(event, kind)
        data |= {
            "id": f"{event.id}.{_offset(original)}",
            "seriesMasterId": event.id,
            "originalStart": _offset(original),
            "start": _time(start),
            "end": _time(end),
        }
        data.pop("recurrence", None)
        return data

    def json(self, event: Event, kind: str) -> dict[str, Any]:
        return {
            "@odata.type": "#microsoft.graph.event",
            "@odata.etag": f'W/"{event.version}"',
            "id": event.id,
            "subject": event.subject,
            "type": kind,
            "isAllDay": event.all_day,
            "isCancelled": False,
            "start": _time(event.start),
            "end": _time(event.end),
            "originalStartTimeZone": event.zone,
            "originalEndTimeZone": event.zone,
            "location": {"displayName": event.location},
            "body": {"contentType": "html", "content": event.body},
            "recurrence": event.recurrence,
            "seriesMasterId": None,
        }


@dataclass
class _Subscription:
    id: str
    mailbox: Mailbox
    change_types: set[str]
    notification_url: str
    lifecycle_url: str | None
    client_state: str | None
    expires: datetime

    def json(self) -> dict[str, Any]:
        return {
            "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#subscriptions/$entity",
            "id": self.id,
            "resource": f"/users/{self.mailbox.address}/events",
            "applicationId": CLIENT_ID,
            "changeType": ",".join(sorted(self.change_types)),
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": self.expires.strftime("%Y-%m-%dT%H:%M:%S.0000000Z"),
            "creatorId": str(uuid.uuid4()),
        }


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


def _json(status: int, data: Any, *more: tuple[str, str]) -> _Reply:
    headers = (("Content-Type", "application/json; charset=utf-8"), *more)
    return _Reply(status, json.dumps(data).encode(), headers)


def _error(status: int, code: str, message: str, *more: tuple[str, str]) -> _Reply:
    inner = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"),
        "request-id": str(uuid.uuid4()),
        "client-request-id": str(uuid.uuid4()),
    }
    return _json(status, {"error": {"code": code, "message": message, "innerError": inner}}, *more)


class GraphServer:
    """The stand-in; tests change ``mailbox(address)`` while the source reads it."""

    def __init__(self, addin_id: str = ADDIN_ID) -> None:
        self.addin_id = addin_id  # the add-in whose custom properties the events carry
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)  # tests set theirs
        self.lock = threading.RLock()
        self.mailboxes: dict[str, Mailbox] = {}
        self.requests: list[tuple[str, str]] = []  # (method, path without query)
        self.subscriptions: dict[str, _Subscription] = {}
        self.deliveries: list[tuple[str, int]] = []  # (notification URL, status answered)
        self.deliver = True  # False: change notifications are lost (lifecycle ones still sent)
        self._denied: set[str] = set()
        self._throttle: list[int] = []  # Retry-After seconds for each of the next requests
        self._deltas: dict[str, tuple[str, tuple[datetime, datetime], dict[str, int]]] = {}
        self._pages: dict[str, tuple[list[dict[str, Any]], str]] = {}
        self._httpd = _HttpServer(self)
        self.ca_file = serve_tls(self._httpd)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}"
        self.entra = TokenEndpoint(resource=self.url, authority=self.url)
        self.entra.register(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, tenant_id=TENANT_ID)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="graph"
        )
        self._thread.start()
        self._notifier = httpx.Client(timeout=10.0)

    def mailbox(self, address: str) -> Mailbox:
        with self.lock:
            key = address.lower()
            if key not in self.mailboxes:
                self.mailboxes[key] = Mailbox(self, key)
            return self.mailboxes[key]

    def deny(self, address: str) -> None:
        with self.lock:
            self._denied.add(address.lower())

    def throttle(self, times: int = 1, retry_after: int = 2) -> None:
        with self.lock:
            self._throttle.extend([retry_after] * times)

    def expire_delta_tokens(self) -> None:
        with self.lock:
            self._deltas.clear()
            self._pages.clear()

    def count(self, method: str, needle: str) -> int:
        with self.lock:
            return sum(1 for m, path in self.requests if m == method and needle in path)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        self._notifier.close()

    # -- notifications ------------------------------------------------------------------------

    def changed(self, mailbox: Mailbox, change: str, item_id: str) -> None:
        with self.lock:
            targets = [
                s
                for s in self.subscriptions.values()
                if s.mailbox is mailbox and change in s.change_types and self.deliver
            ]
        for subscription in targets:
            resource = f"Users/{mailbox.user_id}/Events/{item_id}"
            note = {
                "subscriptionId": subscription.id,
                "subscriptionExpirationDateTime": _offset(subscription.expires),
                "changeType": change,
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "id": item_id,
                },
                "clientState": subscription.client_state,
                "tenantId": TENANT_ID,
            }
            self._post(subscription.notification_url, {"value": [note]})

    def lifecycle(self, subscription_id: str, event: str) -> None:
        with self.lock:
            subscription = self.subscriptions[subscription_id]
            if event == "subscriptionRemoved":
                del self.subscriptions[subscription_id]
        note = {
            "subscriptionId": subscription.id,
            "subscriptionExpirationDateTime": _offset(subscription.expires),
            "tenantId": TENANT_ID,
            "clientState": subscription.client_state,
            "lifecycleEvent": event,
        }
        self._post(subscription.lifecycle_url or subscription.notification_url, {"value": [note]})

    def _post(self, url: str, data: dict[str, Any]) -> None:
        try:
            status = self._notifier.post(url, json=data).status_code
        except httpx.HTTPError:
            status = 0
        with self.lock:
            self.deliveries.append((url, status))

    # -- one request --------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Any, body: bytes) -> _Reply:
        parts = urlsplit(target)
        path, query = parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()}
        if path.endswith(DISCOVERY_SUFFIX) and method == "GET":
            reply = self.entra.discovery(path)
            return _json(reply.status, json.loads(reply.body))
        if path.endswith(TOKEN_PATH_SUFFIX) and method == "POST":
            reply = self.entra.handle(path, body)
            return _json(reply.status, json.loads(reply.body))
        if not path.startswith("/v1.0/"):
            return _error(404, "BadRequest", "Invalid version.")
        scheme, _, token = (headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not self.entra.valid(token):
            return _error(401, "InvalidAuthenticationToken", "Access token is empty or invalid.")
        with self.lock:
            self.requests.append((method, unquote(path)))
            if self._throttle:
                wait = self._throttle.pop(0)
                return _error(
                    429,
                    "TooManyRequests",
                    "Please retry again later.",
                    ("Retry-After", str(wait)),
                )
        segments = [unquote(s) for s in path.split("/") if s][1:]
        if segments[:1] == ["subscriptions"]:
            return self._subscriptions(method, segments[1:], body)
        if len(segments) < 3 or segments[0] != "users" or method != "GET":
            return _error(400, "BadRequest", f"Unsupported request {method} {path}.")
        address = segments[1].lower()
        with self.lock:
            if address in self._denied:
                return _error(403, "ErrorAccessDenied", "Access to OData is disabled.")
            mailbox = self.mailboxes.get(address)
        if mailbox is None:
            return _error(404, "ErrorInvalidUser", f"The requested user '{address}' is invalid.")
        prefer = headers.get("Prefer") or ""
        rest = segments[2:]
        if rest == ["calendarView", "delta"]:
            return self._delta(mailbox, query, prefer)
        if rest == ["events"]:
            with self.lock:
                first = [mailbox.json(e, "singleInstance") for e in mailbox.events.values()][:1]
            return _json(200, {"value": first})
        if len(rest) == 2 and rest[0] == "events":
            return self._event(mailbox, rest[1], query)
        if len(rest) == 3 and rest[0] == "events" and rest[2] == "instances":
            return self._instances(mailbox, rest[1], query)
        return _error(400, "BadRequest", f"Unsupported request {method} {path}.")

    def _delta(self, mailbox: Mailbox, query: dict[str, str], prefer: str) -> _Reply:
        size = 100
        for part in prefer.split(","):
            name, _, value = part.strip().partition("=")
            if name == "odata.maxpagesize" and value.isdigit():
                size = max(1, int(value))
        with self.lock:
            if "$skiptoken" in query:
                page = self._pages.pop(query["$skiptoken"], None)
                if page is None:
                    return _error(410, "SyncStateNotFound", "The sync state has expired.")
                pending, delta_token = page
            else:
                if "$deltatoken" in query:
                    known = self._deltas.get(query["$deltatoken"])
                    if known is None or known[0] != mailbox.address:
                        return _error(410, "SyncStateNotFound", "The sync state has expired.")
                    _, window, before = known
                else:
                    try:
                        window = (
                            datetime.fromisoformat(query["startDateTime"].replace("Z", "+00:00")),
                            datetime.fromisoformat(query["endDateTime"].replace("Z", "+00:00")),
                        )
                    except (KeyError, ValueError):
                        return _error(
                            400, "ErrorInvalidParameter", "startDateTime and endDateTime needed."
                        )
                    before = {}
                now = mailbox.view(*window)
                pending = [data for key, (v, data) in now.items() if before.get(key) != v]
                pending += [
                    {
                        "@odata.type": "#microsoft.graph.event",
                        "id": key,
                        "@removed": {"reason": "deleted"},
                    }
                    for key in before
                    if key not in now
                ]
                delta_token = secrets.token_urlsafe(16)
                self._deltas[delta_token] = (
                    mailbox.address,
                    window,
                    {key: v for key, (v, _) in now.items()},
                )
            base = f"{self.url}/v1.0/users/{quote(mailbox.address)}/calendarView/delta"
            answer: dict[str, Any] = {
                "@odata.context": "https://graph.microsoft.com/v1.0/$metadata#Collection(event)",
                "value": pending[:size],
            }
            if len(pending) > size:
                skip = secrets.token_urlsafe(16)
                self._pages[skip] = (pending[size:], delta_token)
                answer["@odata.nextLink"] = f"{base}?$skiptoken={skip}"
            else:
                answer["@odata.deltaLink"] = f"{base}?$deltatoken={delta_token}"
        return _json(200, answer)

    def _event(self, mailbox: Mailbox, event_id: str, query: dict[str, str]) -> _Reply:
        with self.lock:
            event = mailbox.events.get(event_id)
            if event is None:
                return _error(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
            data = mailbox.json(event, "seriesMaster" if event.recurrence else "singleInstance")
        expand = query.get("$expand", "")
        if expand.startswith("singleValueExtendedProperties"):
            wanted = expand.partition("id eq '")[2].partition("'")[0]
            name = f"String {PUBLIC_STRINGS} Name cecp-{self.addin_id}"
            if event.cecp is not None and wanted.lower() == name.lower():
                # Graph names the property with the GUID in lower case.
                shown = f"String {PUBLIC_STRINGS.lower()} Name cecp-{self.addin_id}"
                data["singleValueExtendedProperties"] = [{"id": shown, "value": event.cecp}]
        selected = query.get("$select")
        if selected:
            keep = set(selected.split(",")) | {"id", "@odata.etag", "singleValueExtendedProperties"}
            data = {k: v for k, v in data.items() if k in keep or k.startswith("@odata")}
        return _json(200, data)

    def _instances(self, mailbox: Mailbox, event_id: str, query: dict[str, str]) -> _Reply:
        try:
            low = datetime.fromisoformat(query["startDateTime"].replace("Z", "+00:00"))
            high = datetime.fromisoformat(query["endDateTime"].replace("Z", "+00:00"))
        except (KeyError, ValueError):
            return _error(400, "ErrorInvalidParameter", "startDateTime and endDateTime needed.")
        with self.lock:
            event = mailbox.events.get(event_id)
            if event is None or event.recurrence is None:
                return _error(404, "ErrorItemNotFound", "The specified object was not found.")
            value = [mailbox.instance(event, o) for o, _ in event.occurrences(low, high)]
        return _json(200, {"value": value})

    def _subscriptions(self, method: str, rest: list[str], body: bytes) -> _Reply:
        if method == "POST" and not rest:
            return self._subscribe(body)
        if len(rest) != 1:
            return _error(400, "BadRequest", "Unsupported subscription request.")
        with self.lock:
            subscription = self.subscriptions.get(rest[0])
        if subscription is None:
            return _error(404, "ResourceNotFound", "The object was not found.")
        if method == "DELETE":
            with self.lock:
                self.subscriptions.pop(rest[0], None)
            return _Reply(204)
        if method == "PATCH":
            try:
                expires = _when(json.loads(body)["expirationDateTime"])
            except (ValueError, KeyError, TypeError):
                return _error(400, "ExtensionError", "expirationDateTime is required.")
            if expires - self.clock() > MAX_SUBSCRIPTION:
                return _error(
                    400,
                    "ExtensionError",
                    "Subscription expiration can only be 10070 minutes in the future.",
                )
            with self.lock:
                subscription.expires = expires
            return _json(200, subscription.json())
        return _error(405, "BadRequest", "Method not allowed.")

    def _subscribe(self, body: bytes) -> _Reply:
        try:
            data = json.loads(body)
            resource, url = str(data["resource"]), str(data["notificationUrl"])
            expires = _when(data["expirationDateTime"])
            changes = {c.strip() for c in str(data["changeType"]).split(",")}
        except (ValueError, KeyError, TypeError):
            return _error(400, "InvalidRequest", "The subscription is missing a required field.")
        client_state = data.get("clientState")
        if client_state is not None and len(str(client_state)) > 128:
            return _error(400, "InvalidRequest", "clientState is longer than 128 characters.")
        if not changes <= {"created", "updated", "deleted"}:
            return _error(400, "InvalidRequest", "changeType is not valid.")
        if expires - self.clock() > MAX_SUBSCRIPTION or expires < self.clock():
            return _error(400, "InvalidRequest", "expirationDateTime is out of range.")
        parts = resource.strip("/").split("/")
        if len(parts) != 3 or parts[0].lower() != "users" or parts[2].lower() != "events":
            return _error(400, "InvalidRequest", f"Resource '{resource}' is not supported.")
        with self.lock:
            mailbox = self.mailboxes.get(parts[1].lower())
        if mailbox is None:
            return _error(404, "ErrorInvalidUser", f"The requested user '{parts[1]}' is invalid.")
        lifecycle = data.get("lifecycleNotificationUrl")
        for target in filter(None, (url, lifecycle)):
            if not self._validates(str(target)):
                return _error(
                    400,
                    "ValidationError",
                    "Subscription validation request failed. "
                    "Notification endpoint must respond with 200 OK to validation "
                    "request.",
                )
        subscription = _Subscription(
            id=str(uuid.uuid4()),
            mailbox=mailbox,
            change_types=changes,
            notification_url=url,
            lifecycle_url=str(lifecycle) if lifecycle else None,
            client_state=str(client_state) if client_state is not None else None,
            expires=expires,
        )
        with self.lock:
            self.subscriptions[subscription.id] = subscription
        return _json(201, subscription.json())

    def _validates(self, url: str) -> bool:
        token = f"Validation: Testing client application reachability {secrets.token_hex(8)}"
        try:
            answer = self._notifier.post(
                url,
                params={"validationToken": token},
                headers={"Content-Type": "text/plain; charset=utf-8"},
                timeout=10.0,
            )
        except httpx.HTTPError:
            return False
        return answer.status_code == 200 and answer.text == token


def _when(text: str) -> datetime:
    moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _HttpServer

    def _serve(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        reply = self.server.graph.handle(self.command, self.path, self.headers, body)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_GET = do_POST = do_PATCH = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, graph: GraphServer) -> None:
        self.graph = graph
        super().__init__(("127.0.0.1", 0), _Handler)


class NotificationSink:
    """A notification URL for tests that run no linkzoom API: answers Graph's validation
    requests and records the notifications posted to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        sink = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                query = parse_qs(urlsplit(self.path).query)
                if "validationToken" in query:
                    answer, status = query["validationToken"][0].encode(), 200
                else:
                    sink.received.append(json.loads(body))
                    answer, status = b"", 202
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/webhooks/graph"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
