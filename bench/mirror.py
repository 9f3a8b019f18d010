"""Calendar mirror under load, against the Zoom sandbox limited to Zoom Pro's per-second budget
(``LINKZOOM_SANDBOX_QPS=light=30,medium=20,heavy=10``), on PostgreSQL.

Budget run: BINDINGS calendar events of users in one Zoom account, each edited in a burst of 5
quick edits, with two ``linkzoom worker`` processes. First as a backlog (all bursts recorded,
then the workers start): Zoom calls per net change (target 1.00) and the share of the account's
per-second budget used (target >= 90 %, with 0 per-second 429s). Then live (bursts arriving
while the workers run, as fast as the API takes them): calls per net change, and how long after
the last edit everything was in step.

Scaling run ("when the budget allows"): SCALE bindings spread over 8 Zoom accounts, so the
budget is 8 times larger than the work needs, and Zoom answering in 800 ms; the bursts are
recorded first, then 1 worker, and afterwards 2 workers, bring Zoom in step. Reports the speed-up
(target >= 1.8).

The API process runs without a reconciler, so the workers counted are the only ones.

    .venv/bin/python bench/mirror.py [--bindings 2000] [--scale 1200] [--pg postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import service_env
from linkzoom.features import set_zoom_enabled
from linkzoom.identity.users import add_local
from linkzoom.store import migrate
from linkzoom.store.db import create_engine as create_async_engine
from linkzoom.store.db import driver_url, session_factory, transaction
from tests.support.consent_http import link_zoom
from tests.support.processes import Process, free_port, linkzoom_command

PRO_QPS = "light=30,medium=20,heavy=10"
LIGHT_BUDGET = 30
PASSWORD = "mirror-password-1"
BURST = 5
PATH = "/api/v1/calendar/events/{key}/zoom"


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    database_url: str
    sandbox_url: str
    service_url: str
    processes: list[Process] = field(default_factory=list)
    workers: list[Process] = field(default_factory=list)

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = httpx.request(method, f"{self.sandbox_url}/_sandbox{path}", timeout=30, **kwargs)
        answer.raise_for_status()
        return answer.json()

    def start_workers(self, count: int) -> None:
        for _ in range(count):
            name = f"worker-{len(self.workers)}-{secrets.token_hex(2)}"
            worker = Process(name, linkzoom_command("worker"), self.env, self.tmp / f"{name}.log")
            self.workers.append(worker.start())

    def worker_cpu(self) -> float:
        """User + system CPU seconds the running workers have used (``/proc/PID/stat``)."""
        total = 0.0
        for worker in self.workers:
            assert worker.popen is not None
            stat = Path(f"/proc/{worker.popen.pid}/stat").read_text()
            fields = stat.rpartition(")")[2].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def stop_workers(self) -> None:
        for worker in self.workers:
            worker.stop()
        self.workers.clear()


def serve_api(port: int) -> None:
    """The API alone (no reconciler in this process), for ``bench/mirror.py api``."""
    import uvicorn

    from linkzoom.app import create_app
    from linkzoom.config import load_settings

    app = create_app(load_settings(), with_worker=False)
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=None, access_log=False)


async def seed(database_url: str, names: list[str]) -> None:
    engine = create_async_engine(database_url, pool_size=1)
    now = datetime.now(UTC)
    async with transaction(session_factory(engine)) as session:
        for name in names:
            await add_local(session, username=name, password=PASSWORD, now=now)
        await set_zoom_enabled(session, True, now=now)
    await engine.dispose()


@contextmanager
def stack(pg_url: str, names: list[str]) -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="mirror-bench-"))
    name = f"linkzoom_mirror_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database_url = pg_url.rsplit("/", 1)[0] + "/" + name
    built: Stack | None = None
    try:
        migrate.upgrade(database_url)
        asyncio.run(seed(database_url, names))
        sandbox_port, service_port = free_port(), free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        service_url = f"http://127.0.0.1:{service_port}"
        env = service_env(
            database_url=database_url,
            sandbox_url=sandbox_url,
            var_dir=tmp / "var",
            client_id="mirror-bench",
            public_url=service_url,
            SANDBOX_QPS=PRO_QPS,
        )
        built = Stack(
            tmp=tmp,
            env=env,
            database_url=database_url,
            sandbox_url=sandbox_url,
            service_url=service_url,
        )
        built.processes.append(
            Process(
                "sandbox",
                linkzoom_command("sandbox", "--port", str(sandbox_port)),
                env,
                tmp / "sandbox.log",
                sandbox_url + "/_sandbox/stats",
            ).start()
        )
        api = [sys.executable, str(Path(__file__).resolve()), "api", "--port", str(service_port)]
        built.processes.append(
            Process("api", api, env, tmp / "api.log", service_url + "/readyz").start()
        )
        yield built
    finally:
        if built is not None:
            built.stop_workers()
            for process in reversed(built.processes):
                process.stop()
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        shutil.rmtree(tmp, ignore_errors=True)


def link(s: Stack, username: str, email: str) -> str:
    """Sign in and walk Zoom consent; the device token."""
    answer = httpx.post(
        f"{s.service_url}/api/v1/sessions",
        json={"username": username, "password": PASSWORD, "device_name": "bench"},
    )
    token: str = answer.json()["token"]
    with httpx.Client(base_url=s.service_url, headers={"authorization": f"Bearer {token}"}) as api:
        link_zoom(api, email)
    return token


def body(index: int, minutes: int) -> dict[str, Any]:
    start = datetime(2027, 6, 1, 8, 0, tzinfo=UTC) + timedelta(minutes=15 * index)
    return {
        "subject": f"Bench {index}",
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=minutes)).isoformat(),
        "timezone": "Europe/Berlin",
    }


async def put_all(s: Stack, jobs: list[tuple[str, int]], minutes: list[int]) -> int:
    """For each (token, index) PUT the bodies with these durations, in order; failures."""
    failures = 0
    limits = httpx.Limits(max_connections=32, max_keepalive_connections=32)
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=s.service_url, limits=limits, timeout=120) as client:

        async def one(token: str, index: int) -> None:
            nonlocal failures
            async with gate:
                for length in minutes:
                    answer = await client.put(
                        PATH.format(key=f"bench-{index}"),
                        json=body(index, length),
                        headers={"authorization": f"Bearer {token}"},
                    )
                    failures += answer.status_code not in (200, 201)

        await asyncio.gather(*(one(token, index) for token, index in jobs))
    return failures


def unsettled(s: Stack) -> int:
    engine = create_engine(driver_url(s.database_url, asynchronous=False))
    with engine.connect() as connection:
        count = connection.execute(
            text(
                "SELECT count(*) FROM calendar_bindings "
                "WHERE status != 'synced' OR due_at IS NOT NULL OR in_doubt IS NOT NULL"
            )
        ).scalar_one()
    engine.dispose()
    return int(count)


def wait_settled(s: Stack, timeout: float = 3600) -> float:
    deadline = time.monotonic() + timeout
    while unsettled(s):
        if time.monotonic() > deadline:
            raise RuntimeError("the mirror never settled")
        time.sleep(0.25)
    return time.monotonic()


def calls(s: Stack) -> tuple[int, int, int]:
    """All API calls, light-label calls, per-second 429s so far."""
    stats = s.control("GET", "/stats")
    light_ops = ("meetings.get", "meetings.update", "meetings.delete")
    every = sum(sum(c.values()) for c in stats["api_calls"].values())
    light = sum(sum(stats["api_calls"].get(op, {}).values()) for op in light_ops)
    return every, light, int(stats["rate_limited"].get("qps", 0))


class Sampler(threading.Thread):
    """Light-label calls over time, to measure the rate while there was work."""

    def __init__(self, s: Stack) -> None:
        super().__init__(daemon=True)
        self.s, self.samples, self.done = s, list[tuple[float, int]](), threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.samples.append((time.monotonic(), calls(self.s)[1]))

    def _window(self) -> tuple[tuple[float, int], tuple[float, int]]:
        """From the sample before the first new call to the sample with the last one."""
        rising = [
            i for i in range(1, len(self.samples)) if self.samples[i][1] > self.samples[i - 1][1]
        ]
        return self.samples[rising[0] - 1], self.samples[rising[-1]]

    def busy_rate(self) -> float:
        (t0, n0), (t1, n1) = self._window()
        return (n1 - n0) / (t1 - t0)

    def busy_seconds(self) -> float:
        (t0, _), (t1, _) = self._window()
        return t1 - t0


def budget_run(args: argparse.Namespace) -> dict[str, float]:
    names = [f"b{n}" for n in range(10)]  # one Zoom account: one domain
    with stack(args.pg, names) as s:
        tokens = [link(s, name, f"{name}@pro.test") for name in names]
        jobs = [(tokens[n % len(tokens)], n) for n in range(args.bindings)]
        started = time.monotonic()
        failures = asyncio.run(put_all(s, jobs, [30]))
        print(f"  set-up: {args.bindings} meetings created in {time.monotonic() - started:.0f} s")

        # A backlog: every binding's burst recorded, then the workers bring Zoom in step. The
        # account's budget is the only limit, so this measures how much of it we use.
        failures += asyncio.run(put_all(s, jobs, [31, 32, 33, 34, 35]))
        before_all, _, before_429 = calls(s)
        sampler = Sampler(s)
        sampler.start()
        s.start_workers(2)
        wait_settled(s)
        sampler.done.set()
        sampler.join()
        after_all, _, after_429 = calls(s)
        backlog = {
            "calls_per_change": (after_all - before_all) / args.bindings,
            "budget_share": sampler.busy_rate() / LIGHT_BUDGET,
            "qps_429": after_429 - before_429,
            "drain_seconds": sampler.busy_seconds(),
        }

        # Live: bursts arrive while the workers run, as fast as the API takes them.
        before_all, _, before_429 = calls(s)
        first_edit = time.monotonic()
        failures += asyncio.run(put_all(s, jobs, [36, 37, 38, 39, 40]))
        last_edit = time.monotonic()
        settled = wait_settled(s)
        after_all, _, after_429 = calls(s)
        return backlog | {
            "failures": failures,
            "live_calls_per_change": (after_all - before_all) / args.bindings,
            "live_qps_429": after_429 - before_429,
            "edit_seconds": last_edit - first_edit,
            "settle_after_last_edit": settled - last_edit,
        }


def scaling_run(args: argparse.Namespace) -> dict[str, float]:
    names = [f"s{n}" for n in range(8)]  # eight Zoom accounts: eight budgets
    with stack(args.pg, names) as s:
        tokens = [link(s, name, f"{name}@scale{n}.test") for n, name in enumerate(names)]
        jobs = [(tokens[n % len(tokens)], n) for n in range(args.scale)]
        asyncio.run(put_all(s, jobs, [30]))
        s.control("POST", "/latency", json={"ms": args.latency_ms})
        seconds: dict[int, float] = {}
        for workers, lengths in ((1, [31, 32, 33, 34, 35]), (2, [36, 37, 38, 39, 40])):
            asyncio.run(put_all(s, jobs, lengths))
            before = calls(s)[0]
            s.start_workers(workers)
            while calls(s)[0] == before:  # timed from the first call: process start-up aside
                time.sleep(0.05)
            started, cpu = time.monotonic(), s.worker_cpu()
            seconds[workers] = wait_settled(s) - started
            cpu_ms = (s.worker_cpu() - cpu) * 1000 / args.scale
            s.stop_workers()
            print(
                f"  {workers} worker(s): {args.scale} changes in {seconds[workers]:.1f} s, "
                f"{(calls(s)[0] - before) / args.scale:.2f} calls and {cpu_ms:.1f} ms of worker "
                "CPU each"
            )
        return {"one": seconds[1], "two": seconds[2], "speed_up": seconds[1] / seconds[2]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command")
    api = commands.add_parser("api")
    api.add_argument("--port", type=int, required=True)
    parser.add_argument("--bindings", type=int, default=2000)
    parser.add_argument("--scale", type=int, default=1200)
    parser.add_argument("--latency-ms", type=int, default=800)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    # A SIGTERM unwinds like Ctrl-C, so the processes and the database are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.command == "api":
        serve_api(args.port)
        return 0
    print(f"budget run: {args.bindings} bindings x {BURST} edits, 1 Zoom account, 2 workers")
    budget = budget_run(args)
    print(
        f"  backlog: calls per net change {budget['calls_per_change']:.3f} (target 1.00); "
        f"budget used {budget['budget_share']:.1%} (target >= 90 %); "
        f"per-second 429s {budget['qps_429']:.0f}; in step after {budget['drain_seconds']:.0f} s"
    )
    print(
        f"  live: calls per net change {budget['live_calls_per_change']:.3f}; per-second 429s "
        f"{budget['live_qps_429']:.0f}; edits took {budget['edit_seconds']:.0f} s, in step "
        f"{budget['settle_after_last_edit']:.1f} s after the last; failed PUTs "
        f"{budget['failures']:.0f}"
    )
    print(
        f"scaling run: {args.scale} bindings, 8 Zoom accounts, Zoom answers in {args.latency_ms} ms"
    )
    scaling = scaling_run(args)
    print(f"  2 workers vs 1: {scaling['speed_up']:.2f}x (target >= 1.8)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
