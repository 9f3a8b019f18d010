"""The admin console's audit page over a large trail: keyset paging against OFFSET paging.

    .venv/bin/python bench/audit_page.py [--rows 5000000] [--pg postgresql://…] [--repeat 7]

Creates a throwaway PostgreSQL database, migrates it, fills ``audit_events`` server-side
(``generate_series``: 90 % ``login.failed``, the rest spread over nine other actions, a year of
timestamps), and times the service's own ``audit_log`` for the first page, a page 100,000 events
deep (reached by its cursor), one action, and an actor search. The baseline, measured in the same
run on the same data, is the query the console used before: ``count(*)`` of all matches plus
``OFFSET`` paging to the same depth. Prints medians and the ratio baseline ÷ keyset.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import func, select, text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from linkzoom import audit  # noqa: E402
from linkzoom.controller import admin_service  # noqa: E402
from linkzoom.controller.forms import AuditFilter  # noqa: E402
from linkzoom.store import migrate  # noqa: E402
from linkzoom.store.db import create_engine, session_factory, transaction  # noqa: E402
from linkzoom.store.models import AuditEvent  # noqa: E402

FILL = """
INSERT INTO audit_events (at, action, actor, address, detail)
SELECT now() - (g * interval '6 seconds'),
       CASE WHEN g % 10 = 0 THEN (ARRAY['user.disabled','user.enabled','zoom.granted',
            'zoom.revoked','zoom.deauthorized','device.signed_out','preference.deleted',
            'zoom.app_changed','zoom.feature_enabled'])[1 + (g / 10) % 9]
            ELSE 'login.failed' END,
       'user' || (g % 20000), '10.0.' || (g % 250) || '.' || (g % 200), '{}'::json
FROM generate_series(1, :rows) AS g
"""


async def median_ms(run: Callable[[], Awaitable[Any]], repeat: int) -> float:
    await run()  # warm the cache: we measure the query, not the first disk read
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        await run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    helper = [sys.executable, str(ROOT / "scripts" / "pg_database.py")]
    name = subprocess.run(
        [*helper, "create", args.pg], check=True, capture_output=True, text=True
    ).stdout.strip()
    url = args.pg.rsplit("/", 1)[0] + "/" + name
    try:
        migrate.upgrade(url)
        asyncio.run(measure(url, rows=args.rows, repeat=args.repeat))
    finally:
        subprocess.run([*helper, "drop", args.pg, name], check=False)


async def measure(url: str, *, rows: int, repeat: int) -> None:
    engine = create_engine(url)
    sessions = session_factory(engine)
    started = time.perf_counter()
    async with transaction(sessions) as session:
        await session.execute(text(FILL), {"rows": rows})
    async with engine.begin() as connection:
        await connection.execute(text("ANALYZE audit_events"))
    print(f"filled {rows:,} events in {time.perf_counter() - started:.0f} s")
    runtime = SimpleNamespace(sessions=sessions)
    async with transaction(sessions) as session:
        deep = (
            await session.execute(
                select(AuditEvent.at, AuditEvent.id)
                .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                .offset(100_000)
                .limit(1)
            )
        ).one()
    cursor = audit.Cursor(at=deep.at, id=deep.id)

    async def keyset(wanted: AuditFilter) -> None:
        await admin_service.audit_log(runtime, wanted)  # type: ignore[arg-type]

    async def offset(conditions: list[Any], skip: int) -> None:
        async with transaction(sessions) as session:
            await session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions))
            list(
                await session.scalars(
                    select(AuditEvent)
                    .where(*conditions)
                    .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
                    .offset(skip)
                    .limit(50)
                )
            )
            list(await session.scalars(select(AuditEvent.action).distinct()))

    cases: list[tuple[str, AuditFilter, list[Any], int]] = [
        ("first page", AuditFilter(), [], 0),
        ("100,000 deep", AuditFilter(before=cursor), [], 100_000),
        (
            "one action",
            AuditFilter(action="user.disabled"),
            [AuditEvent.action == "user.disabled"],
            0,
        ),
        (
            "actor search",
            AuditFilter(actor="user1999"),
            [AuditEvent.actor.ilike("%user1999%")],
            0,
        ),
    ]
    print(f"{'page':<14} {'keyset ms':>10} {'offset+count ms':>16} {'ratio':>7}")
    for label, wanted, conditions, skip in cases:
        ours = await median_ms(functools.partial(keyset, wanted), repeat)
        theirs = await median_ms(functools.partial(offset, conditions, skip), max(3, repeat // 2))
        print(f"{label:<14} {ours:>10.1f} {theirs:>16.1f} {theirs / ours:>6.0f}x")
    await engine.dispose()


if __name__ == "__main__":
    main()
