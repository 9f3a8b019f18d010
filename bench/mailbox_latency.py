"""Change in the mailbox → Zoom updated, end to end, while one worker watches 1,000 mailboxes.

Real processes over loopback: the API (``bench/mirror.py api``), one ``linkzoom worker`` (the
mailbox watch and the calendar reconciler), the Zoom sandbox at Pro's per-second budget, the
EWS stand-in (tests/support/ews.py, real SOAP) or with ``--source graph`` the Microsoft Graph
stand-in (tests/support/graph.py, HTTPS) in its own process, PostgreSQL.

With Graph, each mailbox has a change-notification subscription and the stand-in posts a
notification to the API's ``/webhooks/graph`` as it stores each change, so a change should reach
Zoom in seconds; ``--lost-notifications`` drops them all (the poll alone, as with EWS).

1. EVENTS events get Zoom through the add-in API (``PUT``), and their items appear in the first
   EVENTS mailboxes carrying the add-in's custom properties; every mailbox also holds three
   events without Zoom. MAILBOXES mailboxes are enrolled and listed once.
2. Over two poll intervals, at random moments, each of the EVENTS items is moved an hour later
   in its mailbox only (as a drag in the desktop calendar would). A sampler reads the sandbox's
   meetings every 50 ms and notes when each meeting holds the new start.

Printed: change → Zoom latency p50 / p95 / max against the target (poll interval + 2 s), and the
worker's CPU per minute while it keeps every mailbox polled.

    .venv/bin/python bench/mailbox_latency.py [--source exchange|graph] [--lost-notifications]
        [--mailboxes 1000] [--events 60] [--interval 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.mirror import PATH, Stack, body, link, stack, wait_settled
from linkzoom.calendar.sources import mailboxes
from linkzoom.store.db import create_engine as create_async_engine
from linkzoom.store.db import driver_url, session_factory, transaction
from tests.support import graph as graph_support
from tests.support.processes import linkzoom_command

PG = "postgresql://postgres@127.0.0.1:5432/postgres"
USER = "bench"
MOVE = timedelta(hours=1)


def _address(n: int) -> str:
    return f"user{n}@bench.example"


def _ews(conn: Connection, count: int, addin_id: str) -> None:
    """The stand-in, in its own process: every mailbox with three events without Zoom."""
    from tests.support.ews import start_ews_server

    server = start_ews_server(addin_id=addin_id)
    start = datetime(2027, 6, 1, 7, 0, tzinfo=UTC)
    for n in range(count):
        box = server.mailbox(_address(n))
        for k in range(3):
            box.add(subject=f"Other {k}", start=start, end=start + timedelta(hours=1))
    items: dict[int, tuple[str, datetime, datetime]] = {}
    conn.send((server.endpoint, server.username, server.password))
    while True:
        command, arg = conn.recv()
        if command == "zoom":  # the add-in's item: its custom properties name the event
            n, begins, ends = arg
            cecp = {"linkzoom_event_key": f"bench-{n}"}
            item = server.mailboxes[_address(n)].add(
                subject=f"Bench {n}", start=begins, end=ends, cecp=cecp
            )
            items[n] = (item, begins, ends)
            conn.send(None)
        elif command == "move":
            item, begins, ends = items[arg]
            server.mailboxes[_address(arg)].update(item, start=begins + MOVE, end=ends + MOVE)
            conn.send(time.time())  # the moment the change exists in the mailbox
        else:
            server.close()
            conn.send(None)
            return


def _graph(conn: Connection, count: int, addin_id: str, deliver: bool) -> None:
    """The Graph stand-in, in its own process: every mailbox with three events without Zoom;
    a change posts its notification before the stand-in answers ``move``."""
    from tests.support.graph import GraphServer

    server = GraphServer(addin_id=addin_id)
    server.deliver = deliver
    start = datetime(2027, 6, 1, 7, 0, tzinfo=UTC)
    for n in range(count):
        box = server.mailbox(_address(n))
        for k in range(3):
            box.add(subject=f"Other {k}", start=start, end=start + timedelta(hours=1))
    items: dict[int, tuple[str, datetime, datetime]] = {}
    conn.send((server.url, server.ca_file))
    while True:
        command, arg = conn.recv()
        if command == "zoom":  # the add-in's item: its join link and its custom properties
            n, begins, ends, join_url = arg
            cecp = json.dumps({"linkzoom_event_key": f"bench-{n}"})
            item = server.mailbox(_address(n)).add(
                subject=f"Bench {n}", start=begins, end=ends, location=join_url, cecp=cecp
            )
            items[n] = (item, begins, ends)
            conn.send(None)
        elif command == "move":
            item, begins, ends = items[arg]
            changed = time.time()  # the notification is posted while the change is stored
            server.mailbox(_address(arg)).update(item, start=begins + MOVE, end=ends + MOVE)
            conn.send(changed)
        elif command == "subscriptions":
            conn.send(len(server.subscriptions))
        else:
            server.close()
            conn.send(None)
            return


async def _enrol(database_url: str, count: int, source: str) -> None:
    engine = create_async_engine(database_url, pool_size=1)
    async with transaction(session_factory(engine)) as session:
        user_id = (
            await session.execute(text("SELECT id FROM users WHERE username = :u"), {"u": USER})
        ).scalar_one()
        now = datetime.now(UTC)
        for n in range(count):
            await mailboxes.enrol(
                session, user_id=user_id, source=source, address=_address(n), now=now
            )
    await engine.dispose()


def _listed(s: Stack) -> int:
    engine = create_engine(driver_url(s.database_url, asynchronous=False))
    with engine.connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM watched_mailboxes WHERE last_sync_at IS NOT NULL")
        ).scalar_one()
    engine.dispose()
    return int(count)


def _addin_id(s: Stack) -> str:
    manifest = httpx.get(s.service_url + "/addin/manifest.xml", timeout=30).text
    return manifest.split("<Id>", 1)[1].split("</Id>", 1)[0]


class Sampler(threading.Thread):
    """Reads the sandbox's meetings every 50 ms; notes when each awaited start appears."""

    def __init__(self, s: Stack) -> None:
        super().__init__(daemon=True)
        self._s = s
        self.awaited: dict[int, str] = {}  # meeting id -> start it should get
        self.seen: dict[int, float] = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(base_url=self._s.sandbox_url, timeout=30) as client:
            while not self.stop.is_set():
                meetings = client.get("/_sandbox/meetings").json()["meetings"]
                now = time.time()
                with self.lock:
                    for meeting in meetings:
                        wanted = self.awaited.get(meeting["id"])
                        if wanted and meeting["start_time"] == wanted:
                            self.seen.setdefault(meeting["id"], now)
                time.sleep(0.05)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", choices=["exchange", "graph"], default="exchange")
    parser.add_argument(
        "--lost-notifications", action="store_true", help="graph: no notification arrives"
    )
    parser.add_argument("--mailboxes", type=int, default=1000)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--interval", type=float, default=60.0, help="poll interval, seconds")
    parser.add_argument("--pg", default=PG, help="a PostgreSQL server (a database is made)")
    args = parser.parse_args()
    graph = args.source == "graph"
    with stack(args.pg, [USER]) as s:
        s.env["LINKZOOM_MAILBOX_POLL_SECONDS"] = f"{args.interval:g}"
        token = link(s, USER, "bench@zoom.test")
        parent, child = multiprocessing.get_context("fork").Pipe()
        if graph:
            target: Any = _graph
            extra: tuple[Any, ...] = (not args.lost_notifications,)
        else:
            target, extra = _ews, ()
        stand_in = multiprocessing.get_context("fork").Process(
            target=target, args=(child, args.mailboxes, _addin_id(s), *extra)
        )
        stand_in.start()
        reached = parent.recv()
        if graph:  # the worker's msal (requests) and httpx trust the stand-in's test CA
            s.env["REQUESTS_CA_BUNDLE"] = s.env["SSL_CERT_FILE"] = reached[1]
        s.start_workers(1)
        links: dict[int, str] = {}
        with httpx.Client(base_url=s.service_url, timeout=60) as api:
            for n in range(args.events):  # the add-in's toggle, event by event
                answer = api.put(
                    PATH.format(key=f"bench-{n}"),
                    json=body(n, 60),
                    headers={"authorization": f"Bearer {token}"},
                )
                assert answer.status_code in (200, 201), (answer.status_code, answer.text)
                links[n] = answer.json()["location"]
        wait_settled(s)
        try:
            for n in range(args.events):
                event = body(n, 60)
                begins, ends = (datetime.fromisoformat(event[k]) for k in ("start", "end"))
                parent.send(("zoom", (n, begins, ends, links[n]) if graph else (n, begins, ends)))
                parent.recv()
            if graph:
                configure = linkzoom_command(
                    "mailboxes", "graph", "--tenant", graph_support.TENANT_ID,
                    "--client-id", graph_support.CLIENT_ID, "--authority", reached[0],
                    "--api-url", reached[0], "--secret-stdin",
                )  # fmt: skip
                secret = graph_support.CLIENT_SECRET
            else:
                endpoint, username, secret = reached
                configure = linkzoom_command(
                    "mailboxes", "exchange", "--endpoint", endpoint, "--username", username,
                    "--auth", "basic", "--password-stdin",
                )  # fmt: skip
            subprocess.run(
                configure, env=s.env, input=secret + "\n", text=True, check=True,
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            asyncio.run(_enrol(s.database_url, args.mailboxes, args.source))
            listing = time.monotonic()
            while _listed(s) < args.mailboxes:
                time.sleep(0.5)
            print(
                f"first listing of {args.mailboxes} mailboxes: {time.monotonic() - listing:.1f} s"
            )
            if graph:
                parent.send(("subscriptions", None))
                print(f"subscriptions: {parent.recv()}")
            time.sleep(args.interval)  # steady state: polls spread over the interval

            meetings = {m["topic"]: m for m in s.control("GET", "/meetings")["meetings"]}
            sampler = Sampler(s)
            sampler.start()
            changed: dict[int, float] = {}
            cpu, wall = s.worker_cpu(), time.monotonic()
            gap = 2 * args.interval / args.events
            for n in random.sample(range(args.events), args.events):
                time.sleep(random.uniform(0, 2 * gap))
                meeting = meetings[f"Bench {n}"]
                start = datetime.fromisoformat(meeting["start_time"].replace("Z", "+00:00"))
                with sampler.lock:
                    sampler.awaited[meeting["id"]] = (start + MOVE).strftime("%Y-%m-%dT%H:%M:%SZ")
                parent.send(("move", n))
                changed[meeting["id"]] = parent.recv()
            deadline = time.monotonic() + args.interval + 30
            while len(sampler.seen) < len(changed) and time.monotonic() < deadline:
                time.sleep(0.2)
            cpu, wall = s.worker_cpu() - cpu, time.monotonic() - wall
            sampler.stop.set()
            sampler.join()
        finally:
            parent.send(("stop", None))
            parent.recv()
            stand_in.join(10)
    latencies = sorted(sampler.seen[m] - t for m, t in changed.items() if m in sampler.seen)
    missing = len(changed) - len(latencies)
    p95 = latencies[max(0, int(len(latencies) * 0.95 + 0.5) - 1)]
    notified = graph and not args.lost_notifications
    target = 2 if notified else args.interval + 2
    how = "notified" if notified else f"poll interval {args.interval:g} s + 2 s"
    print(f"{args.source}, {'with' if notified else 'without'} notifications:")
    print(
        f"change -> Zoom over {len(latencies)} changes: p50 {statistics.median(latencies):.2f} s, "
        f"p95 {p95:.2f} s, max {latencies[-1]:.2f} s; target p95 <= {target:g} s "
        f"({how}); {missing} never arrived"
    )
    print(
        f"worker CPU while watching {args.mailboxes} mailboxes: {cpu / wall * 60:.1f} s per "
        f"minute ({cpu / wall * 100:.0f} % of one core)"
    )
    return 0 if missing == 0 and p95 <= target else 1


if __name__ == "__main__":
    sys.exit(main())
