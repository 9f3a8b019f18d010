"""Logging set-up: the drivers that would log bound values stay quiet at every level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from linkzoom import logs


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in ("aiosqlite", "httpx", "httpcore")}
    yield
    root.handlers[:], root.level = handlers, level
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


@pytest.mark.usefixtures("restored_logging")
def test_at_debug_the_drivers_that_log_parameters_stay_quiet() -> None:
    logs.configure("DEBUG", "json")
    assert logging.getLogger("linkzoom").isEnabledFor(logging.DEBUG)
    # aiosqlite logs every statement with its parameters at DEBUG; httpx logs URLs at INFO.
    for name in ("aiosqlite", "httpx", "httpcore"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)


def test_other_exceptions_are_formatted_as_python_prints_them() -> None:
    try:
        raise ValueError("plain message")
    except ValueError as exc:
        formatted = logs.format_exception(exc)
    assert formatted.startswith("Traceback (most recent call last)")
    assert formatted.endswith("ValueError: plain message")
