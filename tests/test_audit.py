"""The audit trail: every action registered, cursors, pruning in batches."""

from __future__ import annotations

import ast
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from linkzoom import audit
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AuditEvent

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def test_every_action_the_code_records_is_registered() -> None:
    """The console lists audit.ACTIONS instead of scanning the table for distinct actions; an
    action passed to ``audit.record`` (or the console's ``_audit``) must be one of them."""
    used: set[str] = set()
    for path in Path("linkzoom").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            values: list[ast.expr] = []
            if isinstance(node, ast.Call):
                name = getattr(node.func, "attr", getattr(node.func, "id", ""))
                if name == "record":
                    values = [k.value for k in node.keywords if k.arg == "action"]
                elif name == "_audit":
                    values = node.args[2:3]
            elif isinstance(node, ast.Assign) and any(
                getattr(t, "id", None) == "action" for t in node.targets
            ):
                values = [node.value]
            for value in values:
                used.update(
                    c.value
                    for c in ast.walk(value)
                    if isinstance(c, ast.Constant) and isinstance(c.value, str) and "." in c.value
                )
    assert len(used) >= 15
    assert used <= audit.ACTIONS


async def test_an_unregistered_action_is_refused(runtime: Runtime) -> None:
    with pytest.raises(ValueError, match="unregistered audit action"):
        async with transaction(runtime.sessions) as session:
            await audit.record(session, action="zoom.made_up", at=NOW, actor="x")


@pytest.mark.parametrize("text", [None, "", "x", "1.", ".2", "1.2.3", "9" * 18 + ".1", "-1.2"])
def test_foreign_cursors_are_ignored(text: str | None) -> None:
    assert audit.Cursor.decode(text) is None


def test_a_cursor_round_trips_to_the_microsecond() -> None:
    cursor = audit.Cursor(at=NOW.replace(microsecond=123456), id=987654321)
    assert audit.Cursor.decode(cursor.encode()) == cursor


async def test_pruning_removes_only_old_events_batch_by_batch(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await session.execute(
            insert(AuditEvent),
            [
                {
                    "at": NOW - timedelta(days=d),
                    "action": "user.enabled",
                    "actor": "x",
                    "detail": {},
                }
                for d in range(30)
            ],
        )
    cut = NOW - timedelta(days=10)  # events 11..29 days old go: 19 of them
    removed = []
    while True:
        async with transaction(runtime.sessions) as session:
            removed.append(await audit.prune(session, before=cut, batch=7))
        if removed[-1] < 7:
            break
    assert removed == [7, 7, 5]
    async with transaction(runtime.sessions) as session:
        left = await session.scalar(select(func.count()).select_from(AuditEvent))
        oldest = await session.scalar(select(func.min(AuditEvent.at)))
    assert left == 11 and oldest is not None and oldest >= cut
