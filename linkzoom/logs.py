"""Structured logs with request ids. What we log is chosen field by field: never a token,
secret, authorization code, password or a full URL with its query string."""

from __future__ import annotations

import contextvars
import json
import logging
import sqlite3
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import DBAPIError

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)

_RESERVED = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def format_exception(exc: BaseException) -> str:
    """A traceback as Python prints it, except that database errors are described by their
    SQLSTATE, constraint, table and statement only. The server's own message can quote the
    row it refused (PostgreSQL: ``DETAIL: Failing row contains (…)``, ``Key (email)=(…)``,
    ``invalid input syntax …: "…"``), and the row may hold an email, a key or a ciphertext;
    ``hide_parameters`` on the engines only keeps out the values SQLAlchemy itself would add."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    drivers = {id(item.orig) for item in chain if isinstance(item, DBAPIError)}
    if not drivers and not any(isinstance(item, DBAPIError) for item in chain):
        return "".join(traceback.format_exception(exc)).rstrip("\n")
    parts: list[str] = []
    for index, item in enumerate(reversed(chain)):
        if index:
            parts.append("\nThe above exception led to the following:\n\n")
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        if isinstance(item, DBAPIError):
            text = f"{_describe_driver_error(item.orig)} [SQL: {item.statement}]"
        elif id(item) in drivers:
            text = _describe_driver_error(item)
        else:
            text = str(item)
        parts.append(f"{type(item).__module__}.{type(item).__qualname__}: {text}\n")
    return "".join(parts).rstrip("\n")


def _describe_driver_error(error: BaseException | None) -> str:
    if isinstance(error, sqlite3.Error):
        # SQLite's messages name columns and constraints, never values.
        return f"{getattr(error, 'sqlite_errorname', 'sqlite error')}: {error}"
    diag = getattr(error, "diag", None)
    facts = {
        "sqlstate": getattr(error, "sqlstate", None),
        "constraint": getattr(diag, "constraint_name", None),
        "table": getattr(diag, "table_name", None),
        "column": getattr(diag, "column_name", None),
    }
    described = " ".join(f"{k}={v}" for k, v in facts.items() if v)
    return described or "database error (message withheld)"


class _SafeExceptions(logging.Formatter):
    def formatException(self, ei: Any) -> str:
        _type, value, _tb = ei
        if value is None:
            return super().formatException(ei)
        return format_exception(value)


class JsonFormatter(_SafeExceptions):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            entry["request_id"] = rid
        entry.update({k: v for k, v in record.__dict__.items() if k not in _RESERVED})
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(_SafeExceptions):
    def format(self, record: logging.LogRecord) -> str:
        extras = {k: v for k, v in record.__dict__.items() if k not in _RESERVED}
        rid = request_id.get()
        line = f"{record.levelname.lower():7} {record.name}: {record.getMessage()}"
        if rid:
            line += f" request_id={rid}"
        line += "".join(f" {k}={v}" for k, v in extras.items())
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


# Libraries that log what must not be logged, kept at WARNING whatever the level: httpx logs
# every request URL at INFO (ours carry no secrets, but Zoom's OAuth redirect does); aiosqlite
# logs statements with their parameters; exchangelib, requests_ntlm and spnego log whole SOAP
# exchanges and auth headers at DEBUG; requests-oauthlib and oauthlib log token requests with
# the client secret in the body, and the tokens they get back; msal logs token requests and
# cache contents at DEBUG.
QUIET = (
    "httpx",
    "httpcore",
    "uvicorn.access",
    "aiosqlite",
    "asyncio",
    "exchangelib",
    "requests_ntlm",
    "urllib3",
    "spnego",
    "requests_oauthlib",
    "oauthlib",
    "msal",
)


def configure(level: str, fmt: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
