"""Paging of the console's lists: which slice a page shows, and a page number from the query
string. Pure; form parsing lives in :mod:`linkzoom.controller.forms`."""

from __future__ import annotations

import math
from dataclasses import dataclass


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
