"""Logging as ``linkzoom run`` configures it, captured: for tests that prove a secret never
reaches a log line even at DEBUG."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from linkzoom import logs


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logs.TextFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def configured_logging(level: str = "DEBUG") -> Iterator[list[str]]:
    """``logs.configure(level)``, every formatted line collected; the previous setup restored."""
    root = logging.getLogger()
    handlers, root_level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in logs.QUIET}
    logs.configure(level, "text")
    capture = _Lines()
    root.addHandler(capture)
    try:
        yield capture.lines
    finally:
        root.handlers[:], root.level = handlers, root_level
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)
