"""URL helpers that keep the sandbox correct at the root and under a mount prefix."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.types import Scope


def base_url(request: Request) -> str:
    """The sandbox's external base URL, including the mount prefix (``root_path``)."""
    root = str(request.scope.get("root_path", ""))
    return f"{request.url.scheme}://{request.url.netloc}{root}".rstrip("/")


def route_path(scope: Scope) -> str:
    """The request path within the sandbox (the mount prefix removed)."""
    path = str(scope["path"])
    root = str(scope.get("root_path", ""))
    if root and path.startswith(root):
        path = path[len(root) :]
    return path or "/"


def is_loopback(scope: Scope) -> bool:
    """Whether the peer is 127.0.0.0/8 or ::1 (also IPv4-mapped) and no proxy stands between.

    A request relayed by a reverse proxy on the same host arrives from loopback too; its
    forwarding headers give it away, and such a request is treated as remote.
    """
    client = scope.get("client")
    if not client:
        return False
    headers = {name for name, _ in scope.get("headers", [])}
    if b"x-forwarded-for" in headers or b"forwarded" in headers:
        return False
    try:
        address = ipaddress.ip_address(client[0])
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def with_query(uri: str, params: Mapping[str, str | None]) -> str:
    """``uri`` with ``params`` appended to its query (None values left out)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query.extend((k, v) for k, v in params.items() if v is not None)
    return urlunsplit(parts._replace(query=urlencode(query)))


def is_redirect_uri(uri: str) -> bool:
    parts = urlsplit(uri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and not parts.fragment
