"""Exchange Server (Subscription Edition, 2019, 2016) through ``exchangelib``, unmodified.

One service account with the ApplicationImpersonation role opens each enrolled mailbox
(NTLM or basic over TLS, as on-premises Exchange offers). Exchange Online tenants that
allow-listed the app for EWS (possible until 1 April 2027) use app-only OAuth instead: an Entra
app with ``full_access_as_app``, its tokens from the client-credentials grant, still impersonating
each mailbox ("Authenticate an EWS application by using OAuth", Microsoft Learn).

A poll is one ``SyncFolderItems`` on the calendar from the stored sync state, asking for the
item ids plus the two things that say whether an item has Zoom — the add-in's
``cecp-<add-in id>`` named property (PublicStrings, String) and the location — and never the
body. Only the items that carry Zoom are then fetched whole, in one ``GetItem``. An idle mailbox
therefore costs one request per poll.

exchangelib is synchronous (``requests``); each poll runs in a worker thread. Its retry policy
is ``FailFast``: the watcher owns waiting, so ``ErrorServerBusy`` is raised at once with the
``BackOffMilliseconds`` the server named and the mailbox waits that long, not the thread.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from exchangelib import (
    BASIC,
    DELEGATE,
    IMPERSONATION,
    NTLM,
    OAUTH2,
    Account,
    Build,
    Configuration,
    Credentials,
    EWSTimeZone,
    FailFast,
    OAuth2Credentials,
    Version,
)
from exchangelib import errors as ews
from exchangelib.extended_properties import ExtendedProperty
from exchangelib.items import CalendarItem
from oauthlib.oauth2 import BackendApplicationClient, OAuth2Error
from requests_oauthlib import OAuth2Session

from linkzoom.calendar.sources.base import (
    Batch,
    Gone,
    MailboxUnavailable,
    Seen,
    SourceBusy,
    SourceError,
    SyncStateInvalid,
    marks_of,
)
from linkzoom.calendar.sources.exchange_config import ExchangeSettings
from linkzoom.calendar.sources.exchange_items import event_of
from linkzoom.calendar.sources.patterns import NotMirrorable
from linkzoom.problems import ValidationFailed

log = logging.getLogger(__name__)

CECP_FIELD = "linkzoom_cecp"
_SYNC_FIELDS = [CECP_FIELD, "location"]
_EVENT_FIELDS = [
    "subject",
    "start",
    "end",
    "is_all_day",
    "location",
    "type",
    "recurrence",
    "modified_occurrences",
    "deleted_occurrences",
    "_start_timezone",
    CECP_FIELD,
]
_UNAVAILABLE = (
    ews.ErrorNonExistentMailbox,
    ews.ErrorImpersonateUserDenied,
    ews.ErrorImpersonationFailed,
    ews.ErrorAccessDenied,
    ews.ErrorMailboxMoveInProgress,
)
TOKEN_TIMEOUT = 30.0  # seconds for the token endpoint to answer
DEFAULT_BACK_OFF = 60.0  # seconds, when ErrorServerBusy names none (exchangelib's own default)
_registered: str | None = None
_register_lock = threading.Lock()


def register_cecp(addin_id: str) -> None:
    """Teach exchangelib the add-in's custom-properties property. exchangelib registers fields
    on the class, process-wide, so one add-in id per process (a deployment has one)."""
    global _registered
    with _register_lock:
        if _registered == addin_id:
            return
        if _registered is not None:
            CalendarItem.deregister(CECP_FIELD)
        name = f"cecp-{addin_id}"
        prop = type(
            "AddinCustomProperties",
            (ExtendedProperty,),
            {
                "distinguished_property_set_id": "PublicStrings",
                "property_name": name,
                "property_type": "String",
            },
        )
        CalendarItem.register(CECP_FIELD, prop)
        _registered = addin_id


class AppCredentials(OAuth2Credentials):  # type: ignore[misc]
    """exchangelib's client-credentials flow, pointed at the configured tenant and cloud.

    What differs from the base class, all through the hooks exchangelib documents for
    overriding: the token endpoint and scope come from the settings (national clouds have their
    own hosts); no auto-refresh URL is given, because the client-credentials grant issues no
    refresh token and requests-oauthlib's refresh-token request would be refused
    (ecederstrand/exchangelib#1345) — an expired token raises ``TokenExpiredError`` instead, and
    exchangelib renews the session, which drops the token; and the token is fetched here, in a
    session closed at once, because exchangelib leaves the session of a failed token request
    (a wrong secret) open."""

    def __init__(self, settings: ExchangeSettings) -> None:
        super().__init__(
            client_id=settings.username,
            client_secret=settings.password,
            tenant_id=settings.tenant_id,
        )
        self._token_url, self._scope = settings.token_url, settings.scope

    @property
    def token_url(self) -> str:
        return self._token_url

    @property
    def scope(self) -> list[str]:
        return [self._scope]

    def session_params(self) -> dict[str, Any]:
        with self.lock:
            token: dict[str, Any] | None = self.access_token  # type: ignore[has-type]
            if token is None:
                token = self.access_token = self._grant()
            return {"token": token}

    def _grant(self) -> dict[str, Any]:
        client = BackendApplicationClient(client_id=self.client_id)
        with OAuth2Session(client=client) as session:
            token: dict[str, Any] = session.fetch_token(
                token_url=self.token_url,
                client_id=self.client_id,
                client_secret=self.client_secret,
                scope=self.scope,
                include_client_id=True,
                timeout=TOKEN_TIMEOUT,
            )
        return token


class ExchangeSource:
    """:class:`~linkzoom.calendar.sources.base.MailboxReader` for Exchange Server over EWS."""

    def __init__(self, settings: ExchangeSettings, *, addin_id: str) -> None:
        register_cecp(addin_id)
        self._settings = settings
        credentials: Any
        if settings.oauth:
            auth, credentials = OAUTH2, AppCredentials(settings)
        else:
            auth = BASIC if settings.auth_type.upper() == BASIC.upper() else NTLM
            credentials = Credentials(settings.username, settings.password)
        self._credentials = credentials
        self._config = Configuration(
            service_endpoint=settings.service_endpoint,
            credentials=credentials,
            auth_type=auth,
            version=Version(build=Build(*settings.version)),  # no version guessing request
            retry_policy=FailFast(),
            max_connections=4,
        )
        self._accounts: dict[str, Any] = {}
        self._lock = threading.Lock()

    async def changes(self, address: str, sync_state: str | None) -> Batch:
        return await asyncio.to_thread(self._changes, address, sync_state)

    async def check(self, address: str) -> str | None:
        """Open ``address``'s calendar as the watch would (no sync state is touched): ``None``
        if that works, else what went wrong, fit for an administrator."""
        try:
            await asyncio.to_thread(self._open_calendar, address)
        except SourceError as exc:
            return str(exc)
        return None

    def _open_calendar(self, address: str) -> None:
        with self._translated(address):
            self._account(address).calendar  # noqa: B018 - the lookup is the check

    def close(self) -> None:
        """Close the HTTP sessions (the mailboxes share one exchangelib ``Protocol``)."""
        with self._lock:
            accounts, self._accounts = list(self._accounts.values()), {}
        for protocol in {id(a.protocol): a.protocol for a in accounts}.values():
            protocol.close()

    def _account(self, address: str) -> Any:
        # Kept per mailbox: the calendar folder is looked up (one GetFolder) once, not per poll.
        with self._lock:
            account = self._accounts.get(address)
            if account is None:
                account = self._accounts[address] = Account(
                    primary_smtp_address=address,
                    config=self._config,
                    autodiscover=False,
                    # App-only OAuth reaches a mailbox only by impersonating it.
                    access_type=IMPERSONATION
                    if self._settings.impersonate or self._settings.oauth
                    else DELEGATE,
                    default_timezone=EWSTimeZone("UTC"),
                )
            return account

    def _changes(self, address: str, sync_state: str | None) -> Batch:
        with self._translated(address):
            try:
                return self._sync(self._account(address), sync_state)
            except ews.UnauthorizedError:
                if not isinstance(self._credentials, AppCredentials):
                    raise
                # A token Exchange no longer takes (revoked, or in its last half second, which
                # oauthlib's rounded expiry still counts as valid): exchangelib has retired the
                # session and its token, so one retry asks for a new grant. A sync only reads.
                return self._sync(self._account(address), sync_state)
        raise AssertionError("unreachable")  # mypy: the context manager may swallow

    @contextmanager
    def _translated(self, address: str) -> Iterator[None]:
        """exchangelib's errors as the source's own, once, at the edge."""
        try:
            yield
        except ews.ErrorInvalidSyncStateData as exc:
            raise SyncStateInvalid("Exchange no longer accepts the stored sync state.") from exc
        except ews.ErrorServerBusy as exc:
            wait = float(exc.back_off) if exc.back_off else DEFAULT_BACK_OFF
            raise SourceBusy("Exchange is busy (ErrorServerBusy).", retry_after=wait) from exc
        except _UNAVAILABLE as exc:
            self._forget(address)
            raise MailboxUnavailable(
                f"Exchange refused the mailbox: {type(exc).__name__}."
            ) from exc
        except ews.UnauthorizedError as exc:
            self._forget(address)
            if isinstance(self._credentials, AppCredentials):
                raise SourceError("Exchange refused the app's access token.") from exc
            raise SourceError("Exchange refused the service account's credentials.") from exc
        except OAuth2Error as exc:  # the token request itself; its text names no secret
            self._forget(address)
            reason = (exc.description or "").split(".")[0][:200]
            raise SourceError(
                f"Microsoft Entra ID refused the app's token request: {exc.error}"
                + (f" ({reason})." if reason else ".")
            ) from exc
        except ews.EWSError as exc:
            self._forget(address)
            raise SourceError(f"Exchange could not be read: {type(exc).__name__}.") from exc
        except OSError as exc:  # requests' connection errors derive from OSError
            self._forget(address)
            raise SourceError(f"Exchange is unreachable: {type(exc).__name__}.") from exc

    def _forget(self, address: str) -> None:
        with self._lock:
            self._accounts.pop(address, None)

    def _sync(self, account: Any, sync_state: str | None) -> Batch:
        folder = account.calendar
        folder.item_sync_state = sync_state  # exchangelib falls back to the folder's last one
        changes: list[Seen | Gone] = []
        wanted: dict[str, tuple[str | None, Any]] = {}
        for change, item in folder.sync_items(
            sync_state=sync_state,
            only_fields=_SYNC_FIELDS,
            max_changes_returned=self._settings.page_size,
        ):
            if change == "delete":
                wanted.pop(item.id, None)
                changes.append(Gone(item_id=item.id))
            elif change in ("create", "update"):
                marks = marks_of(getattr(item, CECP_FIELD, None), item.location)
                if marks.any:  # an event without Zoom is not fetched at all
                    wanted[item.id] = (item.changekey, marks)
        new_state = folder.item_sync_state
        if wanted:
            ids = [(item_id, changekey) for item_id, (changekey, _) in wanted.items()]
            for item in account.fetch(ids=ids, only_fields=_EVENT_FIELDS):
                if isinstance(item, ews.ErrorItemNotFound):
                    continue  # deleted since the sync: the next poll reports the delete
                if isinstance(item, Exception):
                    raise item
                changes.append(_seen(item, wanted[item.id][1]))
        return Batch(changes=changes, sync_state=new_state, last=True)


def _seen(item: Any, marks: Any) -> Seen:
    try:
        return Seen(item_id=item.id, marks=marks, event=event_of(item))
    except (ValidationFailed, NotMirrorable, ValueError) as exc:
        detail = (
            "; ".join(f"{e.field}: {e.message}" for e in exc.errors)
            if isinstance(exc, ValidationFailed)
            else str(exc)
        )
        return Seen(item_id=item.id, marks=marks, event=None, problem=detail)
