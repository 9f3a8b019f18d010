"""An EWS (Exchange Web Services) stand-in: SOAP 1.1 over HTTP on 127.0.0.1, for tests.

Unmodified exchangelib (synchronous, ``requests``) points at :attr:`EwsServer.endpoint` and
talks to it as to Exchange Server 2016/2019 with a service account that impersonates users::

    server = start_ews_server()            # or the ``ews_server`` fixture
    mailbox = server.mailbox("alice@example.org")
    item_id = mailbox.add(subject="Standup", start=..., end=..., cecp={"zoom": "..."})
    Configuration(service_endpoint=server.endpoint, auth_type=BASIC, ...)

What it speaks, and where the protocol says so:

* HTTP Basic authentication; anything else is answered 401 before any SOAP is read, which
  exchangelib's ``FailFast`` policy turns into ``UnauthorizedError``. No NTLM.
* With ``tls=True`` (HTTPS, a test CA from ``trustme`` in :attr:`EwsServer.ca_file`), also what
  Exchange Online offered allow-listed apps until EWS's end there: app-only OAuth. The same
  server is then the Microsoft identity platform's token endpoint (:mod:`tests.support.entra`,
  authority :attr:`EwsServer.url`), and EWS accepts ``Authorization: Bearer`` with a token it
  issued; a missing, unknown or expired one is 401 with ``WWW-Authenticate: Bearer
  error="invalid_token"`` (RFC 6750 §3). The app must impersonate each mailbox and name it in
  ``X-AnchorMailbox`` ("Authenticate an EWS application by using OAuth", Microsoft Learn:
  ``ImpersonatedUserId`` and the ``X-AnchorMailbox`` header); :attr:`EwsServer.anchors` records
  the header of every Bearer request.
* ``ExchangeImpersonation/ConnectingSID/PrimarySmtpAddress`` picks the mailbox
  ([MS-OXWSCDATA] 2.2.3.3). An address without a mailbox is ErrorNonExistentMailbox, one the
  service account may not impersonate (:meth:`EwsServer.deny`) ErrorImpersonateUserDenied
  ([MS-OXWSCDATA] 2.2.5.24 ``ResponseCodeType``), both as SOAP faults: they concern the
  header, not any one response message.
* ``RequestServerVersion`` ([MS-OXWSCDATA] 2.2.3.9) must be a schema version and is echoed in
  the ``ServerVersionInfo`` header (2.2.3.10). ``TimeZoneContext`` ([MS-OXWSGTZ] 2.2.4.11) is
  ignored: item times are served in UTC with ``Z``, which exchangelib reads as aware datetimes.
* GetFolder of the distinguished ``root`` and ``calendar`` folders ([MS-OXWSFOLD] 3.1.4.6),
  SyncFolderItems on the calendar ([MS-OXWSSYNC] 3.1.4.2) and GetItem ([MS-OXWSCORE]
  3.1.4.4). Any other operation gets a plain SOAP Client fault naming it. The ``Mailbox``
  inside a ``DistinguishedFolderId`` is not consulted: the impersonated mailbox is served.
* :meth:`EwsServer.busy` answers the next requests with ErrorServerBusy and a
  ``BackOffMilliseconds`` hint in ``MessageXml``, as HTTP 500 (EWS reference, "EWS throttling
  in Exchange": throttling errors and their HTTP status codes).

Data and sync semantics: :mod:`tests.support.ews_mailbox`; XML: :mod:`tests.support.ews_xml`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hmac
import os
import socket
import ssl
import tempfile
import threading
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from lxml import etree  # type: ignore[import-untyped]

from tests.support import ews_xml as xml
from tests.support.entra import TOKEN_PATH_SUFFIX, TokenEndpoint
from tests.support.ews_mailbox import (
    CalendarItem,
    Daily,
    EwsMailbox,
    InvalidSyncState,
    MovedOccurrence,
    Weekly,
)
from tests.support.ews_xml import SoapFault, XmlElement, m, t

__all__ = [
    "DEFAULT_ADDIN_ID",
    "DEFAULT_PASSWORD",
    "DEFAULT_USERNAME",
    "CalendarItem",
    "Daily",
    "EwsMailbox",
    "EwsServer",
    "MovedOccurrence",
    "Weekly",
    "ews_server_fixture",
    "start_ews_server",
]

PATH = "/EWS/Exchange.asmx"
DEFAULT_USERNAME = "svc-linkzoom"
DEFAULT_PASSWORD = "Stand-in service password 1!"
DEFAULT_ADDIN_ID = "9f7c3a52-1d4e-4b8a-a6f0-0c2e5d7b8a41"
EXCHANGE_2016 = (15, 1, 2507, 6)  # Exchange Server 2016 CU23
# t:ExchangeVersionType values ([MS-OXWSCDATA]); an Exchange 2016/2019 server accepts them all.
SCHEMA_VERSIONS = frozenset({
    "Exchange2007", "Exchange2007_SP1", "Exchange2010", "Exchange2010_SP1", "Exchange2010_SP2",
    "Exchange2013", "Exchange2013_SP1", "Exchange2015", "Exchange2016",
})  # fmt: skip
_XML_HEADERS = (("Content-Type", "text/xml; charset=utf-8"),)


@dataclass(frozen=True, kw_only=True)
class Reply:
    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, kw_only=True)
class Request:
    operation: XmlElement  # the SOAP body's one child, e.g. m:SyncFolderItems
    mailbox: EwsMailbox
    cecp_property_name: str


class EwsServer:
    """The stand-in. Tests mutate ``mailbox(address)`` and flip the failure switches while
    exchangelib talks to :attr:`endpoint`; one lock keeps both sides consistent."""

    def __init__(
        self,
        *,
        username: str,
        password: str,
        addin_id: str = DEFAULT_ADDIN_ID,
        build: tuple[int, int, int, int] = EXCHANGE_2016,
        tls: bool = False,
    ) -> None:
        self.username, self.password = username, password
        self.addin_id, self.build = addin_id, build
        self.mailboxes: dict[str, EwsMailbox] = {}
        self.requests: list[tuple[str, str]] = []  # (operation, impersonated address)
        self._lock = threading.RLock()
        self._busy: deque[int] = deque()  # BackOffMilliseconds for each of the next requests
        self._denied: set[str] = set()
        self._realm = base64.b64encode(os.urandom(6)).decode()  # void other servers' tokens
        self.anchors: list[tuple[str | None, str]] = []  # (X-AnchorMailbox, impersonated)
        self._httpd = _HttpServer(self)
        self.ca_file: str | None = None
        if tls:
            self.ca_file = serve_tls(self._httpd)
        scheme = "https" if tls else "http"
        self.url = f"{scheme}://127.0.0.1:{self._httpd.server_address[1]}"
        self.entra = TokenEndpoint(resource=self.url)  # OAuth: the authority is self.url
        # A short poll interval: close() waits for serve_forever to notice, once per test.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="ews-stand-in"
        )
        self._thread.start()

    @property
    def endpoint(self) -> str:
        """The EWS URL, for ``Configuration(service_endpoint=...)``."""
        return self.url + PATH

    @property
    def cecp_property_name(self) -> str:
        """The add-in's named property (PublicStrings, String) that carries ``cecp``."""
        return f"cecp-{self.addin_id}"

    def mailbox(self, address: str) -> EwsMailbox:
        """The mailbox of ``address``, made on first use (addresses are case-insensitive)."""
        with self._lock:
            key = address.lower()
            if key not in self.mailboxes:
                self.mailboxes[key] = EwsMailbox(key, lock=self._lock, realm=self._realm)
            return self.mailboxes[key]

    def busy(self, times: int = 1, back_off_ms: int = 250) -> None:
        """The next ``times`` requests answer ErrorServerBusy asking for ``back_off_ms``."""
        with self._lock:
            self._busy.extend([back_off_ms] * times)

    def invalidate_sync_states(self) -> None:
        """Every sync state issued so far now answers ErrorInvalidSyncStateData."""
        with self._lock:
            for mailbox in self.mailboxes.values():
                mailbox.forget_sync_states()

    def deny(self, address: str) -> None:
        """From now on, impersonating ``address`` answers ErrorImpersonateUserDenied."""
        with self._lock:
            self._denied.add(address.lower())

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.drop_connections()
        self._httpd.server_close()  # joins the handler threads
        self._thread.join()

    # -- one request --------------------------------------------------------------------------

    def handle(self, body: bytes, authorization: str | None, anchor: str | None = None) -> Reply:
        scheme, _, credential = (authorization or "").partition(" ")
        bearer = scheme.lower() == "bearer"
        if bearer and not (self.ca_file and self.entra.valid(credential)):
            challenge = 'Bearer error="invalid_token"'
            return Reply(status=401, headers=(("WWW-Authenticate", challenge),))
        if not bearer and not self._authenticated(authorization):
            # IIS refuses a failed logon with 401 and a challenge before EWS reads anything.
            return Reply(status=401, headers=(("WWW-Authenticate", 'Basic realm="127.0.0.1"'),))
        version = "Exchange2007"  # without RequestServerVersion, the first schema applies
        try:
            envelope = xml.parse_envelope(body)
            header = envelope.find(f"{{{xml.SOAP}}}Header")
            version = _requested_version(header)
            operation = xml.single_operation(envelope)
            address = _impersonated(header)
            name = etree.QName(operation).localname
            with self._lock:
                self.requests.append((name, address))
                if bearer:
                    self.anchors.append((anchor, address))
                back_off = self._busy.popleft() if self._busy else None
            if back_off is not None:
                raise SoapFault(
                    "ErrorServerBusy",
                    "The server cannot service this request right now. Try again later.",
                    {"BackOffMilliseconds": str(back_off)},
                )
            mailbox = self._impersonate(address)
            handler = OPERATIONS.get(name) if etree.QName(operation).namespace == xml.MNS else None
            if handler is None:
                raise SoapFault(None, f"The EWS stand-in does not implement {operation.tag}.")
            request = Request(
                operation=operation, mailbox=mailbox, cecp_property_name=self.cecp_property_name
            )
            root, soap_body = xml.envelope(version, self.build)
            soap_body.append(handler(request))
            return Reply(status=200, body=xml.serialize(root), headers=_XML_HEADERS)
        except SoapFault as fault:
            return Reply(
                status=500, body=xml.fault(fault, version, self.build), headers=_XML_HEADERS
            )
        except Exception as exc:  # a bug here: say so to the client instead of hanging up
            crash = SoapFault(None, f"The EWS stand-in failed: {exc!r}")
            return Reply(
                status=500, body=xml.fault(crash, version, self.build), headers=_XML_HEADERS
            )

    def _authenticated(self, authorization: str | None) -> bool:
        scheme, _, encoded = (authorization or "").partition(" ")
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (
            scheme.lower() == "basic"
            and hmac.compare_digest(user.encode(), self.username.encode())
            and hmac.compare_digest(password.encode(), self.password.encode())
        )

    def _impersonate(self, address: str) -> EwsMailbox:
        with self._lock:
            mailbox = self.mailboxes.get(address)
            denied = address in self._denied
        # The address resolves to an account first; only then can its rights be checked.
        if mailbox is None:
            raise SoapFault(
                "ErrorNonExistentMailbox", "The SMTP address has no mailbox associated with it."
            )
        if denied:
            raise SoapFault(
                "ErrorImpersonateUserDenied",
                "The account does not have permission to impersonate the requested user.",
            )
        return mailbox


def _requested_version(header: XmlElement | None) -> str:
    requested = None if header is None else header.find(t("RequestServerVersion"))
    version = "Exchange2007" if requested is None else requested.get("Version", "")
    if version not in SCHEMA_VERSIONS:
        raise SoapFault("ErrorInvalidServerVersion", "The specified server version is invalid.")
    return str(version)


def _impersonated(header: XmlElement | None) -> str:
    path = f"{t('ExchangeImpersonation')}/{t('ConnectingSID')}"
    sid = None if header is None else header.find(path)
    for tag in ("PrimarySmtpAddress", "SmtpAddress", "PrincipalName"):
        value = None if sid is None else sid.findtext(t(tag))
        if value:
            return str(value).strip().lower()
    return ""  # the service account's own mailbox, which the stand-in does not have


# -- operations -------------------------------------------------------------------------------


def get_folder(request: Request) -> XmlElement:
    """[MS-OXWSFOLD] 3.1.4.6: one GetFolderResponseMessage per requested folder, in order."""
    response, messages = xml.response("GetFolder")
    fields = xml.field_uris(request.operation.find(m("FolderShape")))
    for folder_id in xml.children(request.operation, "FolderIds"):
        name = _folder_name(request.mailbox, folder_id)
        if name is None:
            text = "The specified folder could not be found in the store."
            xml.error_message(messages, "GetFolder", "ErrorFolderNotFound", text)
            continue
        folders = etree.SubElement(xml.success_message(messages, "GetFolder"), m("Folders"))
        xml.render_folder(
            folders,
            name=name,
            folder_id=_folder_id(request.mailbox, name),
            parent_id=_folder_id(request.mailbox, "msgfolderroot") if name == "calendar" else None,
            total_count=len(request.mailbox.items) if name == "calendar" else 0,
            fields=fields,
        )
    return response


def sync_folder_items(request: Request) -> XmlElement:
    """[MS-OXWSSYNC] 3.1.4.2: the calendar's changes since SyncState, MaxChangesReturned at most
    (first sync: no SyncState, every item a Create)."""
    operation = request.operation
    response, messages = xml.response("SyncFolderItems")
    if _folder_name(request.mailbox, xml.children(operation, "SyncFolderId")[0]) != "calendar":
        text = "The EWS stand-in syncs the calendar folder only."
        xml.error_message(messages, "SyncFolderItems", "ErrorFolderNotFound", text)
        return response
    max_changes = int(operation.findtext(m("MaxChangesReturned")) or "0")
    if not 1 <= max_changes <= 512:  # t:MaxSyncChangesReturnedType
        raise SoapFault("ErrorSchemaValidation", "MaxChangesReturned must be 1..512.")
    try:
        page = request.mailbox.sync(operation.findtext(m("SyncState")) or None, max_changes)
    except InvalidSyncState:
        # The documented error response still carries an empty SyncState and
        # IncludesLastItemInRange (EWS reference, SyncFolderItems operation, error response);
        # exchangelib reads both before it looks at the ResponseCode.
        text = "Synchronization state data is corrupt or otherwise invalid."
        message = xml.error_message(messages, "SyncFolderItems", "ErrorInvalidSyncStateData", text)
        etree.SubElement(message, m("SyncState"))
        etree.SubElement(message, m("IncludesLastItemInRange")).text = "true"
        return response
    message = xml.success_message(messages, "SyncFolderItems")
    etree.SubElement(message, m("SyncState")).text = page.state
    last = "true" if page.includes_last_item_in_range else "false"
    etree.SubElement(message, m("IncludesLastItemInRange")).text = last
    changes = etree.SubElement(message, m("Changes"))
    # SyncFolderItems does not return Body (EWS reference, SyncFolderItems operation, remarks).
    shape = xml.Shape.parse(operation.find(m("ItemShape")), request.cecp_property_name)
    shape = shape.without("item:Body")
    for change in page.changes:
        element = etree.SubElement(changes, t(change.kind))
        if change.item is None:  # t:SyncFolderItemsDeleteType: the ItemId alone (3.1.4.2.3.4)
            etree.SubElement(element, t("ItemId"), Id=change.item_id)
        else:  # t:SyncFolderItemsCreateOrUpdateType (3.1.4.2.3.3)
            xml.render_item(element, change.item, shape)
    return response


def get_item(request: Request) -> XmlElement:
    """[MS-OXWSCORE] 3.1.4.4: one GetItemResponseMessage per requested ItemId, in order."""
    response, messages = xml.response("GetItem")
    shape = xml.Shape.parse(request.operation.find(m("ItemShape")), request.cecp_property_name)
    for item_id in xml.children(request.operation, "ItemIds"):
        item = request.mailbox.get(item_id.get("Id", ""))
        if item is None:
            text = "The specified object was not found in the store."
            xml.error_message(messages, "GetItem", "ErrorItemNotFound", text)
            continue
        items = etree.SubElement(xml.success_message(messages, "GetItem"), m("Items"))
        xml.render_item(items, item, shape)
    return response


OPERATIONS: dict[str, Callable[[Request], XmlElement]] = {
    "GetFolder": get_folder,
    "SyncFolderItems": sync_folder_items,
    "GetItem": get_item,
}


def _folder_id(mailbox: EwsMailbox, name: str) -> str:
    return base64.b64encode(f"{mailbox.address}:folder:{name}".encode()).decode()


def _folder_name(mailbox: EwsMailbox, folder_id: XmlElement) -> str | None:
    """``root``/``calendar`` for a DistinguishedFolderId or a FolderId we issued, else None."""
    names = ("root", "calendar")
    if folder_id.tag == t("DistinguishedFolderId"):
        return next((n for n in names if folder_id.get("Id") == n), None)
    return next((n for n in names if folder_id.get("Id") == _folder_id(mailbox, n)), None)


# -- HTTP -------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as exchangelib's session pool expects
    server: _HttpServer

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        ews = self.server.ews
        if self.path == PATH:
            reply = ews.handle(
                body, self.headers.get("Authorization"), self.headers.get("X-AnchorMailbox")
            )
        elif ews.ca_file and self.path.endswith(TOKEN_PATH_SUFFIX):
            token = ews.entra.handle(self.path, body)
            json_headers = (("Content-Type", "application/json; charset=utf-8"),)
            reply = Reply(status=token.status, body=token.body, headers=json_headers)
        else:
            reply = Reply(status=404)
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # assertions, not access logs, belong in the test output


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, ews: EwsServer) -> None:
        self.ews = ews
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._connections_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def drop_connections(self) -> None:
        """End idle keep-alive connections, so their handler threads finish and can be joined."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


_CA: Any = None


def serve_tls(httpd: ThreadingHTTPServer) -> str:
    """Wrap the listening socket in TLS with a certificate for 127.0.0.1 from one test CA
    (made once per process); returns the CA's PEM file, for ``REQUESTS_CA_BUNDLE``."""
    import trustme

    global _CA
    if _CA is None:
        ca = trustme.CA()
        handle, path = tempfile.mkstemp(prefix="ews-ca-", suffix=".pem")
        os.close(handle)
        ca.cert_pem.write_to_path(path)
        _CA = (ca, path)
    ca, path = _CA
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    return str(path)


# -- entry points -----------------------------------------------------------------------------


def start_ews_server(
    username: str = DEFAULT_USERNAME,
    password: str = DEFAULT_PASSWORD,
    *,
    addin_id: str = DEFAULT_ADDIN_ID,
    tls: bool = False,
) -> EwsServer:
    """Start a stand-in on a free loopback port; :meth:`EwsServer.close` stops it."""
    return EwsServer(username=username, password=password, addin_id=addin_id, tls=tls)


@pytest.fixture(name="ews_server")
def ews_server_fixture() -> Iterator[EwsServer]:
    """A fresh stand-in per test: ``from tests.support.ews import ews_server_fixture``."""
    server = start_ews_server()
    try:
        yield server
    finally:
        server.close()
