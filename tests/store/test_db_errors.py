"""A database error names the failing statement but never the values bound to it."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from linkzoom.logs import JsonFormatter, TextFormatter
from linkzoom.store.db import create_engine, session_factory, transaction

SECRET = "alice.secret@example.org|sealed-bytes-0123456789"


async def test_a_failed_statement_keeps_its_parameters_out_of_the_error_and_logs(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(database_url)
    # SQLAlchemy's own loggers and ours; the drivers' DEBUG chatter is silenced by
    # linkzoom.logs.configure at every level (tests/test_logs.py).
    caplog.set_level(logging.DEBUG, logger="sqlalchemy")
    caplog.set_level(logging.DEBUG, logger="linkzoom")
    with pytest.raises(DBAPIError) as caught:
        async with transaction(session_factory(engine)) as session:
            # A NOT NULL column left empty: the driver refuses the statement with its values.
            await session.execute(
                text("INSERT INTO app_settings (key, value) VALUES (:key, NULL)"), {"key": SECRET}
            )
    await engine.dispose()
    message = str(caught.value)
    assert "app_settings" in message
    assert SECRET not in message.split("DETAIL")[0]  # SQLAlchemy adds no values of its own
    assert "hidden due to hide_parameters" in message
    # PostgreSQL's own DETAIL quotes the failing row; the service's log formatters keep only
    # the SQLSTATE, constraint, table and statement of a database error.
    for formatter in (JsonFormatter(), TextFormatter()):
        record = logging.makeLogRecord(
            {"msg": "database failed", "levelno": logging.ERROR, "levelname": "ERROR"}
        )
        record.exc_info = (type(caught.value), caught.value, caught.value.__traceback__)
        line = formatter.format(record)
        assert "database failed" in line and "app_settings" in line
        assert "Traceback (most recent call last)" in line
        assert SECRET not in line
    logging.getLogger("linkzoom.test").error("database failed", exc_info=caught.value)
    assert "database failed" in caplog.text
