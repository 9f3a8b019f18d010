"""Directory login: bind to LDAP *as the user*, then read who they are on that connection.

The bind is the password check, so we never see password hashes and need no service account.
A refused bind is ``None`` (the caller answers "invalid credentials" without saying which part
was wrong); a directory we cannot reach is :class:`ServiceUnavailable`. ldap3 is synchronous,
so each login runs in a worker thread, bounded by the configured connect and receive timeouts.
"""

from __future__ import annotations

import contextlib
import logging
import math
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from ldap3 import BASE, NONE, SIMPLE, SUBTREE, Connection, Server, Tls
from ldap3.core import exceptions as ldap_errors
from ldap3.core.results import RESULT_BUSY, RESULT_UNAVAILABLE
from ldap3.utils.conv import escape_filter_chars
from ldap3.utils.dn import escape_rdn, parse_dn

from linkzoom.config import LdapSettings
from linkzoom.identity.usernames import normalise_username
from linkzoom.problems import ServiceUnavailable, ValidationFailed

log = logging.getLogger(__name__)

_UNREACHABLE = "The directory server is not reachable."
# Refused, reset, timed out, TLS handshake failed (all LDAPCommunicationError), or a certificate
# for another host: the directory is not there for us, which is not the user's fault.
_NETWORK_ERRORS = (
    ldap_errors.LDAPCommunicationError,
    ldap_errors.LDAPResponseTimeoutError,
    ldap_errors.LDAPCertificateError,
)
_PROFILE = ["displayName", "cn", "mail", "memberOf", "uid"]
Attributes = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class DirectoryUser:
    """Who the directory says a successfully bound user is."""

    username: str  # case-folded login name as typed (without UPN suffix)
    display_name: str
    email: str | None
    is_admin: bool


def bindable_username(raw: str, settings: LdapSettings) -> str | None:
    """The login name we bind with and key users by (:func:`normalise_username`, the one form
    every login uses), or ``None`` if it cannot be one."""
    try:
        name = normalise_username(raw, upn_suffix=settings.upn_suffix)
    except ValidationFailed:
        return None
    # Appending our suffix to "bob@other.example" or "CORP\bob" would name some other principal.
    return None if settings.upn_suffix and ("@" in name or "\\" in name) else name


def bind_name(settings: LdapSettings, username: str) -> str:
    """UPN for Active Directory, else a DN whose RDN value is escaped (RFC 4514)."""
    if settings.upn_suffix:
        return f"{username}@{settings.upn_suffix}"
    if settings.user_dn_template is None:
        raise ValueError("LdapSettings needs upn_suffix or user_dn_template")
    return settings.user_dn_template.format(username=escape_rdn(username))


class LdapDirectory:
    """Authenticates users against one LDAP server (Active Directory or any LDAPv3)."""

    def __init__(self, settings: LdapSettings) -> None:
        bind_name(settings, "probe")  # unusable settings fail at start-up, not at first login
        # Tidy now: "CN=Admins, OU=Groups" (as AD shows it) is a search base ldap3 would reject.
        self._base_dn = _tidy_dn(settings.base_dn)
        self._admin_group = _tidy_dn(settings.admin_group) if settings.admin_group else None
        self._settings = settings
        # ldap3 chokes on "ldap://host:389/" (it parses "389/" as the port), so split it here.
        url = urlsplit(settings.url)
        self._host, self._port = url.hostname or "localhost", url.port
        self._use_ssl = url.scheme.lower() == "ldaps"
        # ldap3's default Tls() does not verify certificates; ldaps:// must mean verified TLS.
        self._tls = Tls(validate=ssl.CERT_REQUIRED)

    @property
    def upn_suffix(self) -> str | None:
        """Active Directory's UPN suffix, which a typed login name may carry or not."""
        return self._settings.upn_suffix

    async def authenticate(self, username: str, password: str) -> DirectoryUser | None:
        name = bindable_username(username, self._settings)
        # An empty password makes a simple bind "unauthenticated": many servers say yes to it.
        if name is None or not password:
            return None
        try:
            return await anyio.to_thread.run_sync(self._authenticate, name, password)
        except _NETWORK_ERRORS as exc:
            log.warning("directory %s unreachable: %s", self._settings.url, type(exc).__name__)
            raise ServiceUnavailable(_UNREACHABLE) from exc

    def _authenticate(self, username: str, password: str) -> DirectoryUser | None:
        timeout = self._settings.timeout_seconds
        # A Server per login: ldap3 keeps per-connection address state on it.
        server = Server(
            self._host,
            port=self._port,
            use_ssl=self._use_ssl,
            tls=self._tls,
            connect_timeout=timeout,
            get_info=NONE,
        )
        connection = Connection(
            server,
            user=bind_name(self._settings, username),
            # Raw UTF-8, not ldap3's SASLprep: servers compare the bytes the password was set with.
            password=password.encode(),
            authentication=SIMPLE,
            # Whole seconds: on POSIX ldap3 packs this into SO_RCVTIMEO as an integer.
            receive_timeout=max(1, math.ceil(timeout)),
            read_only=True,
            raise_exceptions=False,
            auto_referrals=False,
        )
        try:
            if not connection.bind():
                self._refused(connection.result, username)
                return None
            dn, attributes = self._read_self(connection, username)
            display_name = _first(attributes, "displayName") or _first(attributes, "cn")
            return DirectoryUser(
                username=username,
                display_name=display_name or username,
                email=_first(attributes, "mail"),
                is_admin=self._is_admin(connection, dn, attributes, username),
            )
        finally:
            with contextlib.suppress(ldap_errors.LDAPException):
                connection.unbind()
            if connection.socket is not None:  # ldap3 leaves it open when the TLS handshake fails
                connection.socket.close()

    def _refused(self, result: dict[str, Any], username: str) -> None:
        if result.get("result") in (RESULT_BUSY, RESULT_UNAVAILABLE):
            raise ServiceUnavailable(_UNREACHABLE)
        log.info("directory refused sign-in for %r: %s", username, result.get("description"))

    def _read_self(self, connection: Connection, username: str) -> tuple[str | None, Attributes]:
        """Our DN and profile; the DN alone (or nothing) if the directory hides the entry."""
        if self._settings.upn_suffix:
            dn = None
            value = escape_filter_chars(username)
            upn = escape_filter_chars(f"{username}@{self._settings.upn_suffix}")
            query = f"(|(userPrincipalName={upn})(sAMAccountName={value}))"
            connection.search(self._base_dn, query, SUBTREE, attributes=_PROFILE)
        else:
            dn = bind_name(self._settings, username)
            connection.search(dn, "(objectClass=*)", BASE, attributes=_PROFILE)
        entries = _entries(connection)
        if len(entries) != 1:  # hidden, or (UPN) ambiguous: no profile rather than a guess
            return dn, {}
        return entries[0]["dn"], dict(entries[0]["attributes"])

    def _is_admin(
        self, connection: Connection, dn: str | None, attributes: Attributes, username: str
    ) -> bool:
        group = self._admin_group
        if group is None:
            return False
        if any(_same_dn(g, group) for g in attributes.get("memberOf") or []):
            return True
        # No memberOf overlay (or it is hidden from us): ask the group itself, if we may read it.
        uid = escape_filter_chars(_first(attributes, "uid") or username)
        clauses = [f"(memberUid={uid})"]
        if dn:
            value = escape_filter_chars(dn)
            clauses += [f"(member={value})", f"(uniqueMember={value})"]
        connection.search(group, f"(|{''.join(clauses)})", BASE)
        return bool(_entries(connection))


def _entries(connection: Connection) -> list[dict[str, Any]]:
    # AD answers subtree searches with continuation references too; only entries count.
    return [r for r in connection.response or [] if r.get("type") == "searchResEntry"]


def _first(attributes: Attributes, name: str) -> str | None:
    value = attributes.get(name)
    if isinstance(value, list):
        value = value[0] if value else None
    return str(value) if value else None


def _tidy_dn(dn: str) -> str:
    """``dn`` without the optional spaces around separators; raises LDAPInvalidDnError."""
    return "".join(f"{kind}={value}{sep}" for kind, value, sep in parse_dn(dn, strip=True))


def _same_dn(dn: str, tidy: str) -> bool:
    try:
        return _tidy_dn(dn).casefold() == tidy.casefold()
    except ldap_errors.LDAPInvalidDnError:
        return False
