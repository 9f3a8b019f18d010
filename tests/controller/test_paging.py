"""Paging of the console's lists, exhaustively."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.controller.paging import page_window, parse_page


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
