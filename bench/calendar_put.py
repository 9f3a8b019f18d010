"""The calendar ``PUT`` of an existing event (a reschedule, the common case) against a bare app
that does one indexed upsert on the same database, on SQLite and on PostgreSQL.

linkzoom's API runs without its reconciler (the Zoom work a reschedule causes happens later, in
a worker, and is ``bench/mirror.py``'s subject): what is measured is what the add-in waits for.
Each client is a linked user with one event already mirrored to Zoom, and moves it back and
forth, so every ``PUT`` is a real change. The bare app (``bare`` below) takes the same request
(same path, body and bearer header), maps the token to a user in memory and runs one
``INSERT … ON CONFLICT (user_id, event_key) DO UPDATE`` through the same driver as linkzoom's
request path (``linkzoom.store.runners``: sqlite3 in one thread, or asyncpg), then answers the
row as JSON. Interleaved slices, the order
alternating each round; ratio = median over rounds of linkzoom ÷ bare. Target ≥ 0.8.

    .venv/bin/python bench/calendar_put.py [--db sqlite|postgresql|both] [--rounds 6]
        [--slice 2] [--clients 32] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--profile DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.compose import cpu_seconds, database, link, record_profile, seed
from bench.environment import service_env
from bench.loadgen import Call, MixedSlice, percentile, run_mixed
from bench.mirror import serve_api  # linkzoom without its reconciler
from linkzoom.store import migrate
from tests.support.processes import Process, free_port, linkzoom_command

PATH = "/api/v1/calendar/events/{key}/zoom"
TARGET = 0.8


def event(client: int, moved: bool) -> dict[str, Any]:
    start = datetime(2027, 6, 1, 8, 0, tzinfo=UTC) + timedelta(days=client)
    start += timedelta(minutes=30 if moved else 0)
    return {
        "subject": f"Weekly sync {client}",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=45)).isoformat(),
        "timezone": "Europe/Berlin",
    }


def serve_bare(port: int, database_url: str, tokens_file: Path) -> None:
    """The floor: bearer token → user in memory, one upsert, the row as JSON."""
    import uvicorn
    from sqlalchemy import JSON, Column, DateTime, Integer, MetaData, String, Table
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    from linkzoom.store.db import create_engine, session_factory
    from linkzoom.store.programs import Program, Statement
    from linkzoom.store.runners import open_runner

    users: dict[str, int] = json.loads(tokens_file.read_text())
    metadata = MetaData()
    events = Table(
        "bare_events",
        metadata,
        Column("user_id", Integer, primary_key=True),
        Column("event_key", String(512), primary_key=True),
        Column("event", JSON, nullable=False),
        Column("updated_at", DateTime(timezone=True), nullable=False),
    )
    engine = create_engine(database_url)
    runner = open_runner(database_url, session_factory(engine))
    upsert = Statement.upsert(
        lambda insert: (statement := insert(events)).on_conflict_do_update(
            index_elements=["user_id", "event_key"],
            set_={"event": statement.excluded.event, "updated_at": statement.excluded.updated_at},
        )
    )

    def upserting(row: dict[str, Any]) -> Program[None]:
        yield upsert(**row)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with engine.begin() as connection:
            await connection.run_sync(metadata.create_all)
        yield
        await runner.close()
        await engine.dispose()

    async def put(request: Request) -> Response:
        _, _, token = request.headers.get("authorization", "").partition(" ")
        user_id = users.get(token)
        if user_id is None:
            return JSONResponse({"error": "not signed in"}, status_code=401)
        body = json.loads(await request.body())
        row = {
            "user_id": user_id,
            "event_key": request.path_params["key"],
            "event": body,
            "updated_at": datetime.now(UTC),
        }
        await runner.run(upserting(row))
        return JSONResponse(row | {"updated_at": row["updated_at"].isoformat()})

    app = Starlette(routes=[Route(PATH, put, methods=["PUT"])], lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=port, access_log=False, log_level="warning")


@dataclass(frozen=True, kw_only=True)
class Stack:
    database: str
    linkzoom_url: str
    bare_url: str
    tokens: list[str]
    pids: dict[str, int]


@contextmanager
def stack(kind: str, args: argparse.Namespace) -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix=f"calendar-put-bench-{kind}-"))
    processes: dict[str, Process] = {}
    try:
        with database(kind, args.pg, tmp) as database_url:
            migrate.upgrade(database_url)
            asyncio.run(seed(database_url, args.clients))
            sandbox_url = f"http://127.0.0.1:{free_port()}"
            api_port, bare_port = free_port(), free_port()
            linkzoom_url = f"http://127.0.0.1:{api_port}"
            env = service_env(
                database_url=database_url,
                sandbox_url=sandbox_url,
                var_dir=tmp / "var",
                client_id="calendar-bench",
                public_url=linkzoom_url,
            )
            me = str(Path(__file__).resolve())
            processes["sandbox"] = Process(
                "sandbox",
                linkzoom_command("sandbox", "--port", sandbox_url.rsplit(":", 1)[1]),
                env,
                tmp / "sandbox.log",
                sandbox_url + "/_sandbox/stats",
            ).start()
            processes["linkzoom"] = Process(
                "linkzoom",
                [sys.executable, me, "api", "--port", str(api_port)],
                env,
                tmp / "api.log",
                linkzoom_url + "/readyz",
            ).start()
            tokens = [link(linkzoom_url, i) for i in range(args.clients)]
            mirror_first_events(linkzoom_url, tokens, env, tmp)
            tokens_file = tmp / "bare-tokens.json"
            tokens_file.write_text(json.dumps({t: i + 1 for i, t in enumerate(tokens)}))
            bare = [me, "bare", "--port", str(bare_port), "--db", database_url]
            processes["bare"] = Process(
                "bare", [sys.executable, *bare, "--tokens", str(tokens_file)], env, tmp / "bare.log"
            ).start()
            bare_url = f"http://127.0.0.1:{bare_port}"
            _wait_listening(bare_url)
            pids = {}
            for name, process in processes.items():
                assert process.popen is not None
                pids[name] = process.popen.pid
            yield Stack(
                database=kind,
                linkzoom_url=linkzoom_url,
                bare_url=bare_url,
                tokens=tokens,
                pids=pids,
            )
    finally:
        for process in reversed(list(processes.values())):
            process.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def mirror_first_events(url: str, tokens: list[str], env: dict[str, str], tmp: Path) -> None:
    """One event per user, made through the API and brought to Zoom by a worker that then
    stops, so the measured ``PUT``s reschedule events that have their meetings."""
    with httpx.Client(base_url=url, timeout=60) as http:
        for i, token in enumerate(tokens):
            made = http.put(
                PATH.format(key=f"event-{i}"),
                json=event(i, moved=False),
                headers={"authorization": f"Bearer {token}"},
            )
            assert made.status_code == 201, made.text
        worker = Process("worker", linkzoom_command("worker"), env, tmp / "worker.log").start()
        try:
            deadline = time.monotonic() + 120
            while True:
                states = {
                    http.get(
                        PATH.format(key=f"event-{i}"), headers={"authorization": f"Bearer {t}"}
                    ).json()["status"]
                    for i, t in enumerate(tokens)
                }
                if states == {"synced"}:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the first events never synced: {states}")
                time.sleep(0.5)
        finally:
            worker.stop()


def _wait_listening(url: str) -> None:
    for _ in range(100):
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens at {url}")


def plans(url: str, tokens: list[str]) -> list[tuple[str, list[Call]]]:
    return [
        (
            url,
            [
                Call(
                    op="PUT",
                    method="PUT",
                    path=PATH.format(key=f"event-{i}"),
                    headers={"Authorization": f"Bearer {token}"},
                    body=json.dumps(event(i, moved=moved)).encode(),
                )
                for moved in (True, False)
            ],
        )
        for i, token in enumerate(tokens)
    ]


@dataclass(frozen=True, kw_only=True)
class Figures:
    database: str
    rps: dict[str, float]
    ratio: float
    spread: tuple[float, float]
    p50: dict[str, float]
    p99: dict[str, float]
    cpu_ms: dict[str, float]
    errors: dict[str, int]
    first_error: str


def measure(s: Stack, args: argparse.Namespace) -> Figures:
    arms = {"linkzoom": plans(s.linkzoom_url, s.tokens), "bare": plans(s.bare_url, s.tokens)}
    for arm in arms.values():  # warm pools and caches
        asyncio.run(run_mixed(arm, seconds=1.0))
    slices: dict[str, list[MixedSlice]] = {name: [] for name in arms}
    for round_ in range(args.rounds):
        for name in list(arms) if round_ % 2 == 0 else list(reversed(arms)):
            own = s.pids[name]
            before = cpu_seconds(own)
            done = asyncio.run(run_mixed(arms[name], seconds=args.slice))
            done.cpu = {name: cpu_seconds(own) - before}
            slices[name].append(done)
    if args.profile:
        for name, arm in arms.items():
            record_profile(
                s.pids[name],
                Path(args.profile) / f"calendar-put-{name}-{s.database}.txt",
                seconds=4,
                load=functools.partial(asyncio.run, run_mixed(arm, seconds=5)),
            )
    ratios = [
        a.throughput / b.throughput
        for a, b in zip(slices["linkzoom"], slices["bare"], strict=True)
        if b.throughput
    ]

    def latencies(name: str) -> list[float]:
        return [x for d in slices[name] for x in d.every_latency()]

    return Figures(
        database=s.database,
        rps={n: statistics.median(d.throughput for d in v) for n, v in slices.items()},
        ratio=statistics.median(ratios),
        spread=(min(ratios), max(ratios)),
        p50={n: percentile(latencies(n), 0.5) for n in slices},
        p99={n: percentile(latencies(n), 0.99) for n in slices},
        cpu_ms={
            n: 1000 * sum(d.cpu[n] for d in v) / max(1, sum(d.done + d.errors for d in v))
            for n, v in slices.items()
        },
        errors={n: sum(d.errors for d in v) for n, v in slices.items()},
        first_error=next((d.first_error for v in slices.values() for d in v if d.first_error), ""),
    )


def report(figures: list[Figures], args: argparse.Namespace) -> None:
    print(
        f"\ncalendar PUT of an existing event: {args.clients} clients, {args.rounds} interleaved "
        f"rounds of {args.slice:g} s slices per system\n"
    )
    print(
        "| database | linkzoom req/s | bare upsert req/s | ratio (min-max) | p50 lz/bare ms "
        "| p99 lz/bare ms | CPU per PUT lz/bare ms |"
    )
    print("|---|---|---|---|---|---|---|")
    for f in figures:
        print(
            f"| {f.database} | {f.rps['linkzoom']:.0f} | {f.rps['bare']:.0f} | {f.ratio:.2f} "
            f"({f.spread[0]:.2f}-{f.spread[1]:.2f}) | {f.p50['linkzoom']:.1f} / "
            f"{f.p50['bare']:.1f} | {f.p99['linkzoom']:.1f} / {f.p99['bare']:.1f} | "
            f"{f.cpu_ms['linkzoom']:.2f} / {f.cpu_ms['bare']:.2f} |"
        )
    for f in figures:
        verdict = "met" if f.ratio >= TARGET else "MISSED"
        print(f"{f.database}: throughput ratio {verdict} (>= {TARGET})")
        if any(f.errors.values()):
            print(f"  errors: {f.errors}; first: {f.first_error}")


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "api":
        serve_api(int(sys.argv[3]))
        return 0
    if len(sys.argv) > 1 and sys.argv[1] == "bare":
        sub = argparse.ArgumentParser()
        sub.add_argument("--port", type=int, required=True)
        sub.add_argument("--db", required=True)
        sub.add_argument("--tokens", type=Path, required=True)
        options = sub.parse_args(sys.argv[2:])
        serve_bare(options.port, options.db, options.tokens)
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--slice", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--profile", default=None, help="directory for py-spy profiles")
    args = parser.parse_args()
    figures = []
    for kind in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        with stack(kind, args) as s:
            figures.append(measure(s, args))
    report(figures, args)
    return 0 if all(f.ratio >= TARGET for f in figures) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
