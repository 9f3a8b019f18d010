"""The controller's pure core, exhaustively: notices, paging, safe redirects."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.controller.plan import (
    ACCOUNT,
    CONSOLE,
    ReauthorizationNotice,
    landing,
    page_window,
    parse_page,
    reauthorization_notice,
    safe_next,
)

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def test_administrators_land_on_the_console_others_on_my_account() -> None:
    assert landing(True) == CONSOLE
    assert landing(False) == ACCOUNT


@pytest.mark.parametrize(
    ("until", "notice"),
    [
        (None, None),
        (timedelta(days=365), None),
        (timedelta(days=30, seconds=1), None),
        (timedelta(days=30), ReauthorizationNotice(due=False, days_left=30)),
        (timedelta(days=29, hours=1), ReauthorizationNotice(due=False, days_left=30)),
        (timedelta(days=1), ReauthorizationNotice(due=False, days_left=1)),
        (timedelta(seconds=1), ReauthorizationNotice(due=False, days_left=1)),
        (timedelta(0), ReauthorizationNotice(due=True, days_left=0)),
        (-timedelta(days=3), ReauthorizationNotice(due=True, days_left=0)),
    ],
)
def test_reauthorization_warning_starts_thirty_days_ahead(
    until: timedelta | None, notice: ReauthorizationNotice | None
) -> None:
    by = None if until is None else NOW + until
    assert reauthorization_notice(by, NOW) == notice


@pytest.mark.parametrize(
    ("total", "requested", "page", "pages", "offset", "previous", "following"),
    [
        (0, 1, 1, 1, 0, False, False),
        (0, 7, 1, 1, 0, False, False),
        (25, 1, 1, 1, 0, False, False),
        (26, 1, 1, 2, 0, False, True),
        (26, 2, 2, 2, 25, True, False),
        (26, 3, 2, 2, 25, True, False),
        (100, 0, 1, 4, 0, False, True),
        (100, -5, 1, 4, 0, False, True),
    ],
)
def test_page_windows(
    total: int,
    requested: int,
    page: int,
    pages: int,
    offset: int,
    previous: bool,
    following: bool,
) -> None:
    window = page_window(total, requested, 25)
    assert (window.page, window.pages, window.offset) == (page, pages, offset)
    assert (window.has_previous, window.has_next) == (previous, following)


@given(
    total=st.integers(min_value=0, max_value=10**6),
    requested=st.integers(min_value=-10, max_value=10**6),
    per_page=st.integers(min_value=1, max_value=200),
)
def test_every_window_is_a_real_page(total: int, requested: int, per_page: int) -> None:
    window = page_window(total, requested, per_page)
    assert 1 <= window.page <= window.pages
    assert window.offset <= max(total - 1, 0)
    assert window.pages * per_page >= total


def test_page_window_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        page_window(10, 1, 0)


@pytest.mark.parametrize(
    ("raw", "page"),
    [
        (None, 1),
        ("", 1),
        ("3", 3),
        ("0", 1),
        ("-2", 1),
        ("2.5", 1),
        ("abc", 1),
        ("٣", 1),  # a digit, but not an ASCII one
        ("99999999", 1),
        ("1000000", 1_000_000),
    ],
)
def test_parse_page(raw: str | None, page: int) -> None:
    assert parse_page(raw) == page


@pytest.mark.parametrize(
    ("raw", "allowed"),
    [
        ("/controller/account", True),
        ("/controller", True),
        ("/controller/admin/users?q=al&page=2", True),
        ("/controller/admin/audit#top", True),
        (None, False),
        ("", False),
        ("https://evil.example/controller", False),
        ("//evil.example/controller/account", False),
        ("/controller//evil.example", False),
        ("/\\evil.example", False),
        ("/controller\\..\\x", False),
        ("/controller/../api/v1/me", False),
        ("/controllerx", False),
        ("/api/v1/me", False),
        ("controller/account", False),
        ("/controller/login", False),
        ("/controller/logout", False),
        ("/controller/static/controller.css", False),
        ("/controller/account\r\nSet-Cookie: x=y", False),
        ("/controller/café", False),
        ("/controller/" + "a" * 600, False),
    ],
)
def test_safe_next_allows_only_controller_pages(raw: str | None, allowed: bool) -> None:
    assert safe_next(raw) == (raw if allowed else None)


@given(st.text(max_size=80))
def test_safe_next_never_leaves_the_controller(raw: str) -> None:
    result = safe_next(raw)
    if result is not None:
        assert result.startswith("/controller")
        assert "//" not in result.split("?")[0] and "\\" not in result
