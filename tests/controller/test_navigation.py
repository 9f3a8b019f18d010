"""Where the controller sends browsers, exhaustively: landing pages and safe ``next`` addresses."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.controller.navigation import ACCOUNT, CONSOLE, landing, safe_next


def test_administrators_land_on_the_console_others_on_my_account() -> None:
    assert landing(True) == CONSOLE
    assert landing(False) == ACCOUNT


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
