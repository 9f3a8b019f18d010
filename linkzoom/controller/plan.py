"""The controller's pure decisions: notices, paging, safe redirects.

No I/O and no clock of its own (``now`` is an argument), so each rule is tested directly with
tables and hypothesis. Form parsing lives in :mod:`linkzoom.controller.forms`.
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

HOME = "/controller"
LOGIN = "/controller/login"
ACCOUNT = "/controller/account"
CONSOLE = "/controller/admin/zoom"
# The 30 days before the yearly re-consent: long enough to notice, short enough not to nag.
REAUTHORIZATION_WARNING = timedelta(days=30)


def landing(is_admin: bool) -> str:
    """Administrators land on the console, everyone else on My Account."""
    return CONSOLE if is_admin else ACCOUNT


@dataclass(frozen=True, kw_only=True)
class ReauthorizationNotice:
    due: bool
    days_left: int  # 0 once due


def reauthorization_notice(
    reauthorize_by: datetime | None,
    now: datetime,
    *,
    warn_before: timedelta = REAUTHORIZATION_WARNING,
) -> ReauthorizationNotice | None:
    """A warning from ``warn_before`` ahead of the yearly re-consent, ``None`` before that."""
    if reauthorize_by is None or reauthorize_by - now > warn_before:
        return None
    if now >= reauthorize_by:
        return ReauthorizationNotice(due=True, days_left=0)
    days = math.ceil((reauthorize_by - now) / timedelta(days=1))
    return ReauthorizationNotice(due=False, days_left=days)


@dataclass(frozen=True, kw_only=True)
class PageWindow:
    """Which slice of ``total`` rows page ``page`` shows (pages count from 1)."""

    page: int
    pages: int
    per_page: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    @property
    def has_previous(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def page_window(total: int, requested: int, per_page: int) -> PageWindow:
    """Clamp ``requested`` into the pages that exist; an empty list still has page 1."""
    if per_page < 1 or total < 0:
        raise ValueError("page_window needs per_page >= 1 and total >= 0")
    pages = max(1, math.ceil(total / per_page))
    return PageWindow(
        page=min(max(requested, 1), pages), pages=pages, per_page=per_page, total=total
    )


MAX_PAGE = 1_000_000


def parse_page(raw: str | None) -> int:
    """A page number from the query string; anything unusable is page 1."""
    if raw is None or not raw.isascii() or not raw.isdigit() or len(raw) > 7:
        return 1
    return min(max(int(raw), 1), MAX_PAGE)


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
