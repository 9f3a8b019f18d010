"""Where the controller's pages are, where a user lands after signing in, and which ``next``
addresses a login may send a browser on to (never off the controller: no open redirect).

Pure: no I/O, tested directly with tables and hypothesis.
"""

from __future__ import annotations

import unicodedata

HOME = "/controller"
LOGIN = "/controller/login"
ACCOUNT = "/controller/account"
CONSOLE = "/controller/admin/zoom"


def landing(is_admin: bool) -> str:
    """Administrators land on the console, everyone else on My Account."""
    return CONSOLE if is_admin else ACCOUNT


def safe_next(raw: str | None) -> str | None:
    """``raw`` if it is a controller page on this site, so a login link cannot send the user
    elsewhere (an open redirect); ``None`` otherwise."""
    if not raw or len(raw) > 500 or not raw.isascii():
        return None
    if any(unicodedata.category(c).startswith("C") for c in raw) or "\\" in raw:
        return None
    path = raw.split("?", 1)[0].split("#", 1)[0]
    if "//" in path or "/." in path:
        return None
    if path != HOME and not path.startswith(HOME + "/"):
        return None
    if path in (LOGIN, HOME + "/logout") or path.startswith(HOME + "/static/"):
        return None
    return raw
