"""Cross-site request forgery defence for every controller form.

Each form carries a token derived from a secret only this browser holds: for signed-in pages the
session cookie itself, for the sign-in form a random pre-session cookie. The token is
``HMAC-SHA256(secret, purpose)``, so nothing extra is stored and the token reveals nothing about
the cookie. A cross-site page can make the browser send the cookie but cannot read it, so it
cannot compute the token. ``SameSite=Lax`` cookies and an ``Origin`` check are further layers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

from linkzoom.problems import Forbidden

FIELD = "csrf_token"
SESSION_PURPOSE = b"linkzoom/csrf/session/v1"
LOGIN_PURPOSE = b"linkzoom/csrf/login/v1"
_REJECTED = "This form has expired or did not come from this site. Reload the page and try again."


def login_cookie_name(secure: bool) -> str:
    return "__Host-lz_login" if secure else "lz_login"


def token_for(secret: str, purpose: bytes = SESSION_PURPOSE) -> str:
    mac = hmac.new(secret.encode(), purpose, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def check_token(expected: str, submitted: str | None) -> None:
    if not submitted or not hmac.compare_digest(expected.encode(), submitted.encode()):
        raise Forbidden(_REJECTED)


def check_origin(headers: Mapping[str, str], public_origin: str) -> None:
    """Refuse a submission a browser says came from another site. Browsers send ``Origin`` on
    every POST; its absence (older clients, scripts) leaves the decision to the token."""
    origin = headers.get("origin")
    if origin is not None and origin != public_origin:
        raise Forbidden(_REJECTED)
    if headers.get("sec-fetch-site") == "cross-site":
        raise Forbidden(_REJECTED)
