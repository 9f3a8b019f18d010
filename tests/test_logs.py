"""Logging set-up: the drivers that would log bound values stay quiet at every level."""

from __future__ import annotations

import logging

from linkzoom import logs
from tests.support.logcapture import configured_logging


def test_at_debug_the_drivers_that_log_parameters_stay_quiet() -> None:
    with configured_logging("DEBUG"):
        assert logging.getLogger("linkzoom").isEnabledFor(logging.DEBUG)
        # aiosqlite logs every statement with its parameters at DEBUG; httpx logs URLs at INFO;
        # requests-oauthlib logs the client secret of a token request at DEBUG.
        for name in ("aiosqlite", "httpx", "httpcore", "requests_oauthlib", "oauthlib"):
            assert not logging.getLogger(name).isEnabledFor(logging.INFO)


def test_other_exceptions_are_formatted_as_python_prints_them() -> None:
    try:
        raise ValueError("plain message")
    except ValueError as exc:
        formatted = logs.format_exception(exc)
    assert formatted.startswith("Traceback (most recent call last)")
    assert formatted.endswith("ValueError: plain message")
