"""Refresh storm: 200 concurrent API calls on an expired Zoom access token, spread over two
service processes sharing PostgreSQL, against the Zoom sandbox over loopback.

Target: exactly 1 refresh reaches the sandbox per storm, 0 calls fail. Baseline in the same run:
the same 200 calls while the token is valid (no refresh), so the cost of the refresh is a ratio
rather than an absolute time on this shared, noisy machine.

    .venv/bin/python bench/refresh_storm.py [--calls 200] [--rounds 5] [--pg postgresql://…]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
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

PASSWORD = "storm-password-1"


@dataclass(frozen=True)
class Storm:
    scenario: str
    seconds: float
    failures: int
    refreshes: int
    p50_ms: float
    p99_ms: float


async def fire(urls: list[str], token: str, calls: int) -> tuple[float, list[int], list[float]]:
    limits = httpx.Limits(max_connections=calls, max_keepalive_connections=calls)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:

        async def one(i: int) -> tuple[int, float]:
            started = time.perf_counter()
            response = await client.get(
                f"{urls[i % len(urls)]}/api/v1/zoom/account",
                headers={"authorization": f"Bearer {token}"},
            )
            return response.status_code, time.perf_counter() - started

        started = time.perf_counter()
        results = await asyncio.gather(*(one(i) for i in range(calls)))
        elapsed = time.perf_counter() - started
    return elapsed, [s for s, _ in results], [t for _, t in results]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


async def seed(url: str) -> None:
    engine = create_async_engine(url, pool_size=1)
    now = datetime.now(UTC)
    async with transaction(session_factory(engine)) as session:
        await add_local(session, username="storm", password=PASSWORD, now=now)
        await set_zoom_enabled(session, True, now=now)
    await engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()

    name = f"linkzoom_bench_{secrets.token_hex(4)}"
    with psycopg.connect(args.pg, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    database_url = args.pg.rsplit("/", 1)[0] + "/" + name
    tmp = Path(tempfile.mkdtemp(prefix="refresh-storm-"))
    processes: list[Process] = []
    try:
        migrate.upgrade(database_url)
        asyncio.run(seed(database_url))
        service_ports = [free_port(), free_port()]
        sandbox_port = free_port()
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        env = service_env(
            database_url=database_url,
            sandbox_url=sandbox_url,
            var_dir=tmp,
            client_id="storm-client",
            write_limits=True,
        )
        processes.append(
            Process(
                "sandbox",
                linkzoom_command("sandbox", "--port", str(sandbox_port)),
                env,
                tmp / "sandbox.log",
                sandbox_url + "/_sandbox/stats",
            ).start()
        )
        urls = []
        for port in service_ports:
            url = f"http://127.0.0.1:{port}"
            api_env = env | {"LINKZOOM_PUBLIC_URL": f"http://127.0.0.1:{service_ports[0]}"}
            processes.append(
                Process(
                    f"service-{port}",
                    linkzoom_command("run", "--port", str(port)),
                    api_env,
                    tmp / f"service-{port}.log",
                    url + "/readyz",
                ).start()
            )
            urls.append(url)

        login = httpx.post(
            f"{urls[0]}/api/v1/sessions", json={"username": "storm", "password": PASSWORD}
        )
        token = login.json()["token"]
        with httpx.Client(base_url=urls[0], headers={"authorization": f"Bearer {token}"}) as api:
            link_zoom(api, "storm@zoom.test")

        sync_engine = create_engine(driver_url(database_url, asynchronous=False))

        def control(method: str, path: str) -> dict[str, Any]:
            response = httpx.request(method, f"{sandbox_url}/_sandbox{path}", json={})
            body: dict[str, Any] = response.json()
            return body

        def refreshes() -> int:
            count: int = control("GET", "/stats")["refreshes"]
            return count

        results: list[Storm] = []
        asyncio.run(fire(urls, token, args.calls))  # warm connections and caches
        for _ in range(args.rounds):
            for scenario in (
                "baseline (valid token)",
                "expired, known to us",
                "expired, 401 from Zoom",
            ):
                if scenario != "baseline (valid token)":
                    control("POST", "/tokens/expire")
                if scenario == "expired, known to us":
                    with sync_engine.begin() as connection:
                        connection.execute(
                            text("UPDATE zoom_grants SET access_expires_at = refreshed_at")
                        )
                before = refreshes()
                seconds, statuses, latencies = asyncio.run(fire(urls, token, args.calls))
                results.append(
                    Storm(
                        scenario,
                        seconds,
                        sum(s != 200 for s in statuses),
                        refreshes() - before,
                        percentile(latencies, 0.5),
                        percentile(latencies, 0.99),
                    )
                )
        sync_engine.dispose()
        report(results, args.calls)
        bad = [
            r
            for r in results
            if r.failures or r.refreshes != (0 if "baseline" in r.scenario else 1)
        ]
        return 1 if bad else 0
    finally:
        for process in processes:
            process.stop()
        with psycopg.connect(args.pg, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(results: list[Storm], calls: int) -> None:
    print(f"\n{calls} concurrent GET /api/v1/zoom/account over 2 processes sharing PostgreSQL")
    print(
        f"{'scenario':26} {'rounds':>6} {'refreshes/storm':>16} {'failed':>7} "
        f"{'wall ms (median)':>17} {'p50 ms':>8} {'p99 ms':>8} {'vs baseline':>12}"
    )
    baseline = statistics.median(r.seconds for r in results if "baseline" in r.scenario)
    for scenario in dict.fromkeys(r.scenario for r in results):
        rows = [r for r in results if r.scenario == scenario]
        wall = statistics.median(r.seconds for r in rows)
        print(
            f"{scenario:26} {len(rows):>6} {'/'.join(str(r.refreshes) for r in rows):>16} "
            f"{sum(r.failures for r in rows):>7} {wall * 1000:>17.0f} "
            f"{statistics.median(r.p50_ms for r in rows):>8.0f} "
            f"{statistics.median(r.p99_ms for r in rows):>8.0f} {wall / baseline:>11.2f}x"
        )


if __name__ == "__main__":
    raise SystemExit(main())
