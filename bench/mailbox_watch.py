"""The mailbox watch at scale: one worker, MAILBOXES mailboxes behind the EWS stand-in
(Exchange Server) or the Microsoft Graph stand-in (Exchange Online, ``--source graph``).

The stand-in (tests/support/ews.py, real SOAP over loopback; tests/support/graph.py, Graph's
JSON over HTTPS) runs in its own process, so the CPU measured here is the watcher's: exchangelib
or msal and httpx, our mapping, and the database. Each mailbox holds one event with Zoom (the
add-in's custom properties, and its join link) and three without. Rounds, each polling every
mailbox once with one worker:

- *first listing*: every mailbox listed from no sync state (EWS: two GetFolder once per mailbox,
  then SyncFolderItems, and one GetItem for the event with Zoom; Graph: the calendarView delta
  round, and the event with a join link read again with its custom property);
- *idle*: nothing changed; EWS requests per mailbox (target <= 1), wall time, CPU;
- *changes*: CHANGED events moved in their mailboxes, then a pass: every change handed to the
  calendar mirror exactly once, and how long the pass took.

Figures printed: requests per idle poll, mailboxes per minute one worker polls (wall and CPU
bound), and the change-to-mirror latency bound (poll interval + pass time). The change → Zoom
latency end to end is bench/mailbox_latency.py's.

    .venv/bin/python bench/mailbox_watch.py [--source exchange|graph] [--mailboxes 1000]
        [--changed 100] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compose import database
from linkzoom.calendar import store
from linkzoom.calendar.event import CalendarEvent, desired_from_event
from linkzoom.calendar.models import SYNCED
from linkzoom.calendar.service import mirror_of
from linkzoom.calendar.sources import mailboxes
from linkzoom.calendar.sources.exchange import ExchangeSource
from linkzoom.calendar.sources.exchange_config import ExchangeSettings
from linkzoom.calendar.sources.graph import GraphSource
from linkzoom.calendar.sources.graph_config import Credential, GraphSettings
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.config import Settings
from linkzoom.metrics import Metrics
from linkzoom.runtime import open_runtime
from linkzoom.store import migrate
from linkzoom.store.db import transaction
from linkzoom.store.models import User
from linkzoom.zoom.app_credentials import ZoomApp
from tests.support import graph as graph_support
from tests.support.keys import new_keyring

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

ADDIN = "7d3f0c1e-2b4a-4c5d-8e6f-9a0b1c2d3e4f"
START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


def _address(n: int) -> str:
    return f"user{n}@bench.example"


def _stand_in(conn: Connection, source: str, count: int) -> None:
    """The stand-in, in its own process: populate, tell the parent how to reach it, then
    answer its commands (move the first N events with Zoom, count requests, stop)."""
    server: Any
    if source == "graph":
        from tests.support.graph import GraphServer

        server = GraphServer(addin_id=ADDIN)
        reach = {"url": server.url, "ca_file": server.ca_file}
    else:
        from tests.support.ews import start_ews_server

        server = start_ews_server(addin_id=ADDIN)
        reach = {"url": server.url, "username": server.username, "password": server.password}
    zoom_items = []
    for n in range(count):
        box = server.mailbox(_address(n))
        end = START + timedelta(hours=1)
        marks = {"linkzoom_event_key": f"key-{n}"}
        if source == "graph":  # Graph's property is the JSON text; only join links are re-read
            link = f"https://zoom.example/j/{9_000_000_000 + n}"
            item = box.add(subject="Planning", start=START, end=end, location=link,
                           cecp=json.dumps(marks))  # fmt: skip
        else:
            item = box.add(subject="Planning", start=START, end=end, cecp=marks)
        zoom_items.append(item)
        for k in range(3):
            box.add(subject=f"Other {k}", start=START, end=end)
    conn.send(reach)
    while True:
        command, arg = conn.recv()
        if command == "move":
            moved = START + timedelta(hours=2)
            for n in range(arg):
                server.mailbox(_address(n)).update(
                    zoom_items[n], start=moved, end=moved + timedelta(hours=1)
                )
            conn.send(None)
        elif command == "requests":
            conn.send(len(server.requests))
        else:
            server.close()
            conn.send(None)
            return


def _source(args: argparse.Namespace, reach: dict[str, str]) -> Any:
    if args.source == "graph":
        os.environ["REQUESTS_CA_BUNDLE"] = os.environ["SSL_CERT_FILE"] = reach["ca_file"]
        settings = GraphSettings(
            tenant_id=graph_support.TENANT_ID,
            client_id=graph_support.CLIENT_ID,
            credential=Credential.from_secret(graph_support.CLIENT_SECRET),
            authority=reach["url"],
            api_url=reach["url"],
        )
        return GraphSource(settings, addin_id=ADDIN, notification_url=None)
    return ExchangeSource(
        ExchangeSettings(
            service_endpoint=reach["url"] + "/EWS/Exchange.asmx",
            username=reach["username"],
            password=reach["password"],
            auth_type="basic",
        ),
        addin_id=ADDIN,
    )


async def _bench(args: argparse.Namespace, reach: dict[str, str], conn: Connection) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="linkzoom-watch-bench-"))
    database_url = args.pg or f"sqlite:///{tmp / 'bench.sqlite'}"
    migrate.upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        public_url="http://linkzoom.bench",
        var_dir=tmp / "var",
        keys=new_keyring(),
        zoom_client_id="bench",
        zoom_client_secret="bench-secret",
        zoom_oauth_url="http://127.0.0.1:9",
        zoom_api_url="http://127.0.0.1:9/v2",
        log_format="text",
    )
    app = ZoomApp(
        client_id="bench",
        client_secret="bench-secret",
        webhook_secret=None,
        oauth_url=settings.zoom_oauth_url,
        api_url=settings.zoom_api_url,
        sandboxed=False,
    )
    async with open_runtime(settings, app, metrics=Metrics()) as runtime:
        now = runtime.clock()
        event = CalendarEvent(
            subject="Planning", start=START, end=START + timedelta(hours=1), timezone="UTC"
        )
        async with transaction(runtime.sessions) as session:
            user = User(username="bench", display_name="Bench", source="local", created_at=now)
            session.add(user)
            await session.flush()
            for n in range(args.mailboxes):
                await store.insert(
                    session,
                    user_id=user.id,
                    event_key=f"key-{n}",
                    desired=desired_from_event(event, now=NOW),
                    status=SYNCED,
                    due_at=None,
                    settle_from=None,
                    now=now,
                )
                await mailboxes.enrol(
                    session, user_id=user.id, source=args.source, address=_address(n), now=now
                )
        source = _source(args, reach)
        watcher = MailboxWatcher(
            sessions=runtime.sessions,
            calendar=mirror_of(runtime).service,
            readers={args.source: source},
            clock=runtime.clock,
            owner="bench",
            poll_interval=timedelta(0),
            batch=100,
        )

        kind = "Graph" if args.source == "graph" else "EWS"

        async def round_(name: str) -> tuple[float, float, int, int]:
            conn.send(("requests", None))
            before = conn.recv()
            wall, cpu = time.perf_counter(), time.process_time()
            polled = applied = 0
            while polled < args.mailboxes:
                done = await watcher.poll_due()
                polled += len(done)
                applied += sum(p.applied for p in done)
                bad = [p for p in done if p.status != "ok"]
                assert not bad, bad[:3]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            conn.send(("requests", None))
            requests = conn.recv() - before
            print(
                f"{name:>14}: {polled} mailboxes in {wall:6.2f} s wall, {cpu:6.2f} s CPU; "
                f"{requests / polled:.2f} {kind} requests per mailbox; {applied} changes applied"
            )
            return wall, cpu, requests, applied

        await round_("first listing")
        wall, cpu, requests, _ = await round_("idle")
        conn.send(("move", args.changed))
        conn.recv()
        changed_wall, _, _, applied = await round_("changes")
        if args.source == "graph":
            await source.close()
        else:
            source.close()
    per_minute_wall = args.mailboxes / wall * 60
    per_minute_cpu = args.mailboxes / cpu * 60
    print()
    print(f"requests per idle poll: {requests / args.mailboxes:.2f} (target <= 1)")
    print(
        f"one worker polls {per_minute_wall:,.0f} idle mailboxes per minute by the clock, "
        f"{per_minute_cpu:,.0f} by its CPU "
        f"({cpu / args.mailboxes * 1000:.1f} ms CPU per idle poll); target >= 1,000 per minute"
    )
    print(
        f"changes: {applied} of {args.changed} handed to the mirror once each; a change reaches "
        f"the mirror within poll interval + {changed_wall:.1f} s (this pass), due at once"
    )
    assert applied == args.changed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", choices=["exchange", "graph"], default="exchange")
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--changed", type=int, default=100)
    parser.add_argument(
        "--pg", help="a PostgreSQL server URL; a throwaway database is made (default: SQLite)"
    )
    args = parser.parse_args()
    parent, child = multiprocessing.get_context("fork").Pipe()
    stand_in = multiprocessing.get_context("fork").Process(
        target=_stand_in, args=(child, args.source, args.mailboxes)
    )
    stand_in.start()
    reach = parent.recv()
    try:
        # --pg names a server: the bench works in a database of its own, dropped afterwards.
        with database("postgresql", args.pg, Path()) if args.pg else nullcontext(None) as url_:
            args.pg = url_
            asyncio.run(_bench(args, reach, parent))
    finally:
        parent.send(("stop", None))
        parent.recv()
        stand_in.join(10)


if __name__ == "__main__":
    main()
