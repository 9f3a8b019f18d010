"""Scale-out under mixed add-in load: one and two ``linkzoom run`` API processes on one
PostgreSQL, with 10,000 users and 100,000 calendar bindings in the database.

What an operator sizing linkzoom for 10,000 people wants to know:

* **Throughput at saturation** of a mixed load (per client, in a loop: 40 % compose, 20 %
  calendar ``PUT`` that reschedules one of the client's events, 20 % calendar ``GET``, 20 %
  ``GET /api/v1/me``), with all clients on one API process, then spread over two, in
  interleaved slices (the order alternates each round; the machine's speed drifts). Both API
  processes run in both arms, so the figure isolates what the second process adds.
* **p99** of every operation, per arm.
* **Worker backlog drain rate**: after the load, every linked user's events are moved at once
  (as fast as the API takes it), and timed until Zoom is in step again: bindings per second the
  reconcilers (one in each ``linkzoom run``, plus ``--workers`` ``linkzoom worker`` processes)
  bring in step with Zoom.
* **Database size** and **RSS of every process** at the end.

The database holds ``--users`` users (one password hash, copied: hashing 10,000 passwords would
only measure the hasher) and ``--bindings`` bindings. ``--clients`` users are linked to Zoom
through the consent flow and own ``EVENTS`` events each, made through the API and mirrored to
Zoom before the load; the other bindings are copies of those rows for the other users (synced,
not due), so every query runs against tables and indexes of the stated size. The sandbox has no
per-second limit here (the mirror's pacing is ``bench/mirror.py``'s subject), and daily write
caps are raised on both sides.

    .venv/bin/python bench/scale.py [--users 10000] [--bindings 100000] [--clients 64]
        [--rounds 4] [--slice 5] [--workers 1] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compose import cpu_seconds, database, rss_mib
from bench.environment import service_env
from bench.loadgen import Call, MixedSlice, percentile, run_mixed
from linkzoom.features import set_zoom_enabled
from linkzoom.identity.users import add_local
from linkzoom.store import migrate
from linkzoom.store.db import create_engine, session_factory, transaction
from tests.support.consent_http import link_zoom
from tests.support.processes import Process, free_port, linkzoom_command

PASSWORD = "scale-password-1"
EVENTS = 8  # per linked user
COMPOSE = "/api/v1/compose/meetings"
EVENT_PATH = "/api/v1/calendar/events/{key}/zoom"
ME = "/api/v1/me"


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    database_url: str
    sandbox_url: str
    api_urls: list[str]
    processes: dict[str, Process] = field(default_factory=dict)

    def pid(self, name: str) -> int:
        popen = self.processes[name].popen
        assert popen is not None
        return popen.pid


def username(index: int) -> str:
    return f"u{index:05d}"


async def seed_users(database_url: str, users: int) -> None:
    """``users`` local users: the first through the real code, the rest as copies of its row
    (with its password hash) in one statement."""
    engine = create_engine(database_url, pool_size=1)
    now = datetime.now(UTC)
    async with transaction(session_factory(engine)) as session:
        await add_local(session, username=username(0), password=PASSWORD, now=now)
        await set_zoom_enabled(session, True, now=now)
    await engine.dispose()
    with psycopg.connect(database_url, autocommit=True) as db:
        columns = [
            row[0]
            for row in db.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'users' AND column_name NOT IN ('id', 'username', "
                "'display_name') ORDER BY ordinal_position"
            )
        ]
        listed = ", ".join(columns)
        db.execute(
            f"INSERT INTO users (username, display_name, {listed}) "
            f"SELECT 'u' || lpad(g::text, 5, '0'), 'u' || lpad(g::text, 5, '0'), {listed} "
            "FROM users, generate_series(1, %s) AS g WHERE username = %s",
            (users - 1, username(0)),
        )


def seed_bindings(database_url: str, total: int) -> int:
    """Copies of the linked users' (synced) bindings for the unlinked users, up to ``total``
    rows in all; the number added."""
    with psycopg.connect(database_url, autocommit=True) as db:
        have = db.execute("SELECT count(*) FROM calendar_bindings").fetchone()
        assert have is not None
        missing = total - int(have[0])
        if missing <= 0:
            return 0
        columns = [
            row[0]
            for row in db.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = 'calendar_bindings' AND column_name NOT IN "
                "('id', 'user_id', 'event_key', 'zoom_meeting_id') ORDER BY ordinal_position"
            )
        ]
        listed = ", ".join(f"b.{c}" for c in columns)
        # Row n goes to the n-th unlinked user (round robin), copying the n-th template row;
        # its meeting id is made up, past any the sandbox issues, and unique as in real life.
        db.execute(
            f"""
            WITH template AS (
                SELECT b.*, row_number() OVER (ORDER BY b.id) - 1 AS t
                FROM calendar_bindings b
            ),
            cold AS (
                SELECT u.id, row_number() OVER (ORDER BY u.id) - 1 AS c
                FROM users u
                WHERE NOT EXISTS (SELECT 1 FROM calendar_bindings x WHERE x.user_id = u.id)
            ),
            counts AS (SELECT (SELECT count(*) FROM template) AS nt,
                              (SELECT count(*) FROM cold) AS nc)
            INSERT INTO calendar_bindings
                (user_id, event_key, zoom_meeting_id, {", ".join(columns)})
            SELECT cold.id, 'seeded-' || g, 900000000000 + g, {listed}
            FROM generate_series(0, %s - 1) AS g
            CROSS JOIN counts
            JOIN template b ON b.t = g %% counts.nt
            JOIN cold ON cold.c = g %% counts.nc
            """,
            (missing,),
        )
        return missing


@contextmanager
def stack(args: argparse.Namespace) -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="scale-bench-"))
    built: Stack | None = None
    try:
        with database("postgresql", args.pg, tmp) as database_url:
            migrate.upgrade(database_url)
            asyncio.run(seed_users(database_url, args.users))
            sandbox_url = f"http://127.0.0.1:{free_port()}"
            ports = [free_port(), free_port()]
            env = service_env(
                database_url=database_url,
                sandbox_url=sandbox_url,
                var_dir=tmp / "var",
                client_id="scale-bench",
                public_url=f"http://127.0.0.1:{ports[0]}",
            )
            built = Stack(
                tmp=tmp,
                env=env,
                database_url=database_url,
                sandbox_url=sandbox_url,
                api_urls=[f"http://127.0.0.1:{port}" for port in ports],
            )
            built.processes["sandbox"] = Process(
                "sandbox",
                linkzoom_command("sandbox", "--port", sandbox_url.rsplit(":", 1)[1]),
                env,
                tmp / "sandbox.log",
                sandbox_url + "/_sandbox/stats",
            ).start()
            for i, (port, url) in enumerate(zip(ports, built.api_urls, strict=True)):
                built.processes[f"api-{i}"] = Process(
                    f"api-{i}",
                    linkzoom_command("run", "--port", str(port)),
                    env,
                    tmp / f"api-{i}.log",
                    url + "/readyz",
                ).start()
            for i in range(args.workers):
                built.processes[f"worker-{i}"] = Process(
                    f"worker-{i}", linkzoom_command("worker"), env, tmp / f"worker-{i}.log"
                ).start()
            yield built
    finally:
        if built is not None:
            for process in reversed(list(built.processes.values())):
                process.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def link(s: Stack, index: int) -> str:
    """Sign user *index* in and connect their Zoom account through the consent flow."""
    answer = httpx.post(
        s.api_urls[0] + "/api/v1/sessions",
        json={"username": username(index), "password": PASSWORD, "device_name": "bench"},
    )
    token: str = answer.json()["token"]
    with httpx.Client(base_url=s.api_urls[0], headers={"authorization": f"Bearer {token}"}) as api:
        link_zoom(api, f"scale{index}@zoom.test")
    return token


def event(client: int, number: int, moved: int = 0) -> dict[str, Any]:
    """Event *number* of *client*, ``moved`` half hours later than where it was made."""
    start = datetime(2027, 6, 1, 8, 0, tzinfo=UTC) + timedelta(days=number, minutes=client)
    start += timedelta(minutes=30 * moved)
    return {
        "subject": f"Scale {client}.{number}",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=45)).isoformat(),
        "timezone": "Europe/Berlin",
    }


def event_key(client: int, number: int) -> str:
    return f"scale-{client}-{number}"


def put_events(s: Stack, tokens: list[str], *, moved: int) -> None:
    """Every linked user's events, made (``moved=0``) or moved, 16 requests at a time."""

    async def run() -> None:
        limits = httpx.Limits(max_connections=16)
        async with httpx.AsyncClient(base_url=s.api_urls[0], limits=limits, timeout=60) as http:
            gate = asyncio.Semaphore(16)

            async def one(client: int, number: int) -> None:
                async with gate:
                    answer = await http.put(
                        EVENT_PATH.format(key=event_key(client, number)),
                        json=event(client, number, moved=moved),
                        headers={"authorization": f"Bearer {tokens[client]}"},
                    )
                    assert answer.status_code in (200, 201), answer.text

            await asyncio.gather(*(one(c, n) for c in range(len(tokens)) for n in range(EVENTS)))

    asyncio.run(run())


def backlog(s: Stack) -> int:
    """Bindings the reconcilers still have to bring in step with Zoom."""
    with psycopg.connect(s.database_url) as db:
        row = db.execute(
            "SELECT count(*) FROM calendar_bindings "
            "WHERE status != 'synced' OR due_at IS NOT NULL OR in_doubt IS NOT NULL"
        ).fetchone()
    assert row is not None
    return int(row[0])


def wait_drained(s: Stack, timeout: float = 1800) -> float:
    started = time.monotonic()
    while backlog(s):
        if time.monotonic() - started > timeout:
            raise RuntimeError("the calendar mirror never caught up")
        time.sleep(0.25)
    return time.monotonic() - started


def plans(tokens: list[str], urls: list[str]) -> list[tuple[str, list[Call]]]:
    """Client *i* (user *i*, on ``urls[i % len(urls)]``): 10 calls a turn, 4 composes, 2
    reschedules (each of its events in turn, moved and moved back), 2 event reads, 2 ``/me``."""
    result = []
    compose_body = json.dumps({"topic": "Scale check", "timezone": "Europe/Berlin"}).encode()
    for client, token in enumerate(tokens):
        auth = {"Authorization": f"Bearer {token}"}
        puts = [
            Call(
                op="calendar PUT",
                method="PUT",
                path=EVENT_PATH.format(key=event_key(client, number)),
                headers=auth,
                body=json.dumps(event(client, number, moved=moved)).encode(),
            )
            for moved in (1, 0)
            for number in range(EVENTS)
        ]
        calls: list[Call] = []
        for turn in range(EVENTS):
            compose = Call(
                op="compose", method="POST", path=COMPOSE, headers=auth, body=compose_body
            )
            read = Call(
                op="calendar GET",
                method="GET",
                path=EVENT_PATH.format(key=event_key(client, turn)),
                headers=auth,
            )
            me = Call(op="/me", method="GET", path=ME, headers=auth)
            calls += [compose, me, puts[2 * turn], compose, read]
            calls += [compose, me, puts[2 * turn + 1], compose, read]
        result.append((urls[client % len(urls)], calls))
    return result


def database_size(s: Stack) -> tuple[int, dict[str, int]]:
    with psycopg.connect(s.database_url) as db:
        total = db.execute("SELECT pg_database_size(current_database())").fetchone()
        tables = db.execute(
            "SELECT relname, pg_total_relation_size(relid) FROM pg_stat_user_tables "
            "ORDER BY 2 DESC LIMIT 5"
        ).fetchall()
    assert total is not None
    return int(total[0]), {name: int(size) for name, size in tables}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--bindings", type=int, default=100_000)
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--slice", type=float, default=5.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    with stack(args) as s:
        t0 = time.monotonic()
        tokens = [link(s, i) for i in range(args.clients)]
        made = time.monotonic()
        put_events(s, tokens, moved=0)
        first = wait_drained(s) + (time.monotonic() - made)
        added = seed_bindings(s.database_url, args.bindings)
        with psycopg.connect(s.database_url, autocommit=True) as db:
            db.execute("ANALYZE")
        print(
            f"seeded {args.users:,} users, {args.clients} linked; "
            f"{args.clients * EVENTS:,} events mirrored to Zoom in {first:.1f} s, "
            f"{added:,} more bindings copied ({time.monotonic() - t0:.0f} s in all)"
        )

        arms = {"1 API": plans(tokens, s.api_urls[:1]), "2 APIs": plans(tokens, s.api_urls)}
        watched = [name for name in s.processes]
        slices: dict[str, list[MixedSlice]] = {arm: [] for arm in arms}
        for round_ in range(args.rounds):
            order = list(arms) if round_ % 2 == 0 else list(reversed(arms))
            for arm in order:
                before = {name: cpu_seconds(s.pid(name)) for name in watched}
                done = asyncio.run(run_mixed(arms[arm], seconds=args.slice))
                done.cpu = {name: cpu_seconds(s.pid(name)) - before[name] for name in watched}
                slices[arm].append(done)
                print(
                    f"  round {round_ + 1} {arm:7} {done.throughput:7.1f} req/s"
                    f"  errors {done.errors}  {done.first_error[:120]}",
                    flush=True,
                )
        wait_drained(s)
        # The drain rate: every linked user's events moved at once, as fast as the API takes
        # it (16 at a time), timed until the reconcilers have Zoom in step again.
        burst = time.monotonic()
        put_events(s, tokens, moved=2)
        recorded = time.monotonic() - burst
        left = backlog(s)
        drain = wait_drained(s) + recorded
        size, tables = database_size(s)
        rss = {name: rss_mib(s.pid(name)) for name in watched}

    print(f"\nmixed load, {args.clients} clients, {args.rounds} x {args.slice:g} s slices per arm")
    print(
        "| arm | req/s (median) | p50 ms | p99 ms | "
        + " | ".join(f"p99 {op} ms" for op in ("compose", "calendar PUT", "calendar GET", "/me"))
        + " | errors |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    medians = {}
    for arm, taken in slices.items():
        medians[arm] = statistics.median(x.throughput for x in taken)
        every = [x for d in taken for x in d.every_latency()]
        per_op = {
            op: percentile([x for d in taken for x in d.latencies.get(op, [])], 0.99)
            for op in ("compose", "calendar PUT", "calendar GET", "/me")
        }
        print(
            f"| {arm} | {medians[arm]:.1f} | {percentile(every, 0.5):.1f} | "
            f"{percentile(every, 0.99):.1f} | "
            + " | ".join(f"{v:.1f}" for v in per_op.values())
            + f" | {sum(d.errors for d in taken)} |"
        )
    ratios = [
        two.throughput / one.throughput
        for one, two in zip(slices["1 API"], slices["2 APIs"], strict=True)
        if one.throughput
    ]
    print(f"2 APIs / 1 API throughput: {statistics.median(ratios):.2f} (paired slices)")
    cpu = {
        arm: {
            name: sum(d.cpu[name] for d in taken) / sum(d.done for d in taken) * 1000
            for name in watched
        }
        for arm, taken in slices.items()
    }
    for arm, per in cpu.items():
        print(f"CPU ms per request, {arm}: " + ", ".join(f"{n} {v:.2f}" for n, v in per.items()))
    moved = args.clients * EVENTS
    print(
        f"drain: {moved:,} events moved in {recorded:.1f} s ({left:,} still due when the last "
        f"was answered); Zoom in step {drain:.1f} s after the first: {moved / drain:.0f} "
        f"bindings/s by the reconcilers of 2 API processes and {args.workers} worker(s)"
    )
    print(
        f"database: {size / 2**20:.0f} MiB; largest: "
        + ", ".join(f"{name} {value / 2**20:.0f} MiB" for name, value in tables.items())
    )
    print("RSS MiB: " + ", ".join(f"{name} {value:.0f}" for name, value in rss.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
