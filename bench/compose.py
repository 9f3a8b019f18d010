"""Compose throughput and latency: ``linkzoom run`` + the Zoom sandbox over loopback, against a bare
forwarder (``bench/forwarder.py``: the same single Zoom create call and nothing else) measured in
the same run, on SQLite and on PostgreSQL.

Targets: with 32 concurrent clients linkzoom's throughput is at least 0.8 x the forwarder's; with
one client (no queueing) linkzoom's p99 latency is at most the forwarder's + 10 ms. The systems
run in short interleaved slices (A, B, A, B, ...; the order alternates each round) because this
machine's speed drifts; the sandbox is also measured alone, to show it is not the bottleneck.

    .venv/bin/python bench/compose.py [--db sqlite|postgresql|both] [--rounds 8] [--slice 2]
        [--clients 32] [--pg postgresql://postgres@127.0.0.1:5432/postgres]
        [--profile DIR]   # py-spy: collapsed stacks of linkzoom and the forwarder under 32 clients
        [--forwarder-pool stock|zoom]   # the forwarder on httpx's pool (default) or linkzoom's
        [--soak 100000]   # instead: RSS of linkzoom while it serves that many composes
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.environment import service_env
from bench.forwarder import create_body
from bench.loadgen import Slice, Target, percentile, run_slice
from linkzoom.features import set_zoom_enabled
from linkzoom.identity.users import add_local
from linkzoom.store import migrate
from linkzoom.store.db import create_engine, session_factory, transaction
from tests.support.consent_http import link_zoom
from tests.support.processes import Process, free_port, linkzoom_command

PASSWORD = "bench-password-1"
COMPOSE = "/api/v1/compose/meetings"
REQUEST = {"topic": "Budget review", "timezone": "Europe/Berlin"}
THROUGHPUT_TARGET = 0.8
P99_MARGIN_MS = 10.0
LOADED_P99_FACTOR = 1.5  # p99 under load at most this many times the forwarder's


@dataclass(frozen=True, kw_only=True)
class Stack:
    database: str
    service_url: str
    forwarder_url: str
    sandbox_url: str
    device_tokens: list[str]
    forwarder_tokens: list[str]
    zoom_tokens: list[str]
    pids: dict[str, int]  # linkzoom, forwarder, sandbox


async def seed(database_url: str, users: int) -> None:
    engine = create_engine(database_url, pool_size=1)
    now = datetime.now(UTC)
    async with transaction(session_factory(engine)) as session:
        for i in range(users):
            await add_local(session, username=f"u{i:02d}", password=PASSWORD, now=now)
        await set_zoom_enabled(session, True, now=now)
    await engine.dispose()


def link(service_url: str, index: int) -> str:
    """Sign user *index* in and connect their Zoom account through the consent flow."""
    login = httpx.post(
        f"{service_url}/api/v1/sessions",
        json={"username": f"u{index:02d}", "password": PASSWORD, "device_name": "bench"},
    )
    token: str = login.json()["token"]
    api = httpx.Client(base_url=service_url, headers={"authorization": f"Bearer {token}"})
    with api:
        link_zoom(api, f"u{index}@zoom.test")
    return token


def direct_grant(sandbox_url: str, client_id: str, client_secret: str, index: int) -> str:
    """A Zoom access token for the forwarder, straight from the sandbox's OAuth endpoints."""
    redirect = "http://127.0.0.1:9/callback"
    decision = httpx.post(
        f"{sandbox_url}/oauth/authorize",
        data={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect,
            "state": secrets.token_urlsafe(8),
            "decision": "approve",
            "email": f"f{index}@zoom.test",
        },
    )
    code = parse_qs(urlsplit(decision.headers["location"]).query)["code"][0]
    tokens = httpx.post(
        f"{sandbox_url}/oauth/token",
        auth=(client_id, client_secret),
        data={"grant_type": "authorization_code", "code": code, "redirect_uri": redirect},
    )
    access: str = tokens.json()["access_token"]
    return access


@contextmanager
def database(kind: str, pg_url: str, tmp: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{tmp / 'linkzoom.db'}"
        return
    name = f"linkzoom_bench_{secrets.token_hex(4)}"
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield pg_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(pg_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def stack(kind: str, args: argparse.Namespace) -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix=f"compose-bench-{kind}-"))
    processes: list[Process] = []
    try:
        with database(kind, args.pg, tmp) as database_url:
            migrate.upgrade(database_url)
            asyncio.run(seed(database_url, args.clients))
            sandbox_port, service_port, forwarder_port = free_port(), free_port(), free_port()
            sandbox_url = f"http://127.0.0.1:{sandbox_port}"
            service_url = f"http://127.0.0.1:{service_port}"
            client_secret = secrets.token_urlsafe(24)
            env = service_env(
                database_url=database_url,
                sandbox_url=sandbox_url,
                var_dir=tmp / "var",
                client_id="bench-client",
                client_secret=client_secret,
                public_url=service_url,
                log_level=args.log_level,
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
            service = Process(
                "linkzoom",
                linkzoom_command("run", "--port", str(service_port)),
                env,
                tmp / "service.log",
                service_url + "/readyz",
            ).start()
            processes.append(service)
            device_tokens = [link(service_url, i) for i in range(args.clients)]
            zoom_tokens = [
                direct_grant(sandbox_url, "bench-client", client_secret, i)
                for i in range(args.clients)
            ]
            forwarder_tokens = [f"fwd-{i}" for i in range(args.clients)]
            tokens_file = tmp / "forwarder-tokens.json"
            tokens_file.write_text(
                json.dumps(dict(zip(forwarder_tokens, zoom_tokens, strict=True)))
            )
            forwarder_url = f"http://127.0.0.1:{forwarder_port}"
            processes.append(
                Process(
                    "forwarder",
                    [
                        sys.executable,
                        str(Path(__file__).with_name("forwarder.py")),
                        "--port",
                        str(forwarder_port),
                        "--api-url",
                        sandbox_url + "/v2",
                        "--tokens",
                        str(tokens_file),
                        "--pool",
                        args.forwarder_pool,
                    ],
                    env,
                    tmp / "forwarder.log",
                    None,
                ).start()
            )
            _wait_listening(forwarder_url)
            pids = {}
            for name, process in zip(("sandbox", "linkzoom", "forwarder"), processes, strict=True):
                assert process.popen is not None
                pids[name] = process.popen.pid
            yield Stack(
                database=kind,
                service_url=service_url,
                forwarder_url=forwarder_url,
                sandbox_url=sandbox_url,
                device_tokens=device_tokens,
                forwarder_tokens=forwarder_tokens,
                zoom_tokens=zoom_tokens,
                pids=pids,
            )
    finally:
        for process in reversed(processes):
            process.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_listening(url: str) -> None:
    for _ in range(100):
        try:
            httpx.post(url + COMPOSE, timeout=1)
            return
        except httpx.TransportError:
            asyncio.run(asyncio.sleep(0.1))
    raise RuntimeError(f"nothing listens at {url}")


def targets(s: Stack) -> dict[str, Target]:
    body = json.dumps(REQUEST).encode()

    def bearer(tokens: list[str]) -> list[dict[str, str]]:
        return [{"Authorization": f"Bearer {t}"} for t in tokens]

    return {
        "linkzoom": Target(
            name="linkzoom",
            url=s.service_url,
            path=COMPOSE,
            bodies=[body],
            headers=bearer(s.device_tokens),
        ),
        "forwarder": Target(
            name="forwarder",
            url=s.forwarder_url,
            path=COMPOSE,
            bodies=[body],
            headers=bearer(s.forwarder_tokens),
        ),
        "sandbox": Target(
            name="sandbox",
            url=s.sandbox_url,
            path="/v2/users/me/meetings",
            bodies=[json.dumps(create_body(REQUEST)).encode()],
            headers=bearer(s.zoom_tokens),
        ),
    }


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all threads (``/proc/PID/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def interleaved(
    order: list[Target], pids: dict[str, int], *, clients: int, rounds: int, seconds: float
) -> dict[str, list[Slice]]:
    """``rounds`` rounds of one slice per target; the order reverses every other round. Each
    slice also records the CPU time every process spent during it."""
    slices: dict[str, list[Slice]] = {t.name: [] for t in order}
    for round_ in range(rounds):
        for target in order if round_ % 2 == 0 else list(reversed(order)):
            before = {name: cpu_seconds(pid) for name, pid in pids.items()}
            done = asyncio.run(run_slice(target, clients=clients, seconds=seconds))
            done.cpu = {name: cpu_seconds(pid) - before[name] for name, pid in pids.items()}
            slices[target.name].append(done)
    return slices


@dataclass(frozen=True, kw_only=True)
class Figures:
    database: str
    rps: dict[str, float]
    ratio: float
    ratio_spread: tuple[float, float]
    p50: dict[str, float]
    p99: dict[str, float]
    loaded_p99: dict[str, float]  # under ``--clients`` clients: queueing shows here
    errors: dict[str, int]
    first_errors: list[str]
    # CPU milliseconds per request under 32 clients: the system's own process, and the sandbox.
    cpu_ms: dict[str, float]
    sandbox_cpu_ms: dict[str, float]
    busy: dict[str, float]  # share of one core the system's own process used

    @property
    def throughput_ok(self) -> bool:
        return self.ratio >= THROUGHPUT_TARGET

    @property
    def latency_ok(self) -> bool:
        return self.p99["linkzoom"] <= self.p99["forwarder"] + P99_MARGIN_MS

    @property
    def loaded_latency_ok(self) -> bool:
        return self.loaded_p99["linkzoom"] <= LOADED_P99_FACTOR * self.loaded_p99["forwarder"]


def measure(s: Stack, args: argparse.Namespace) -> Figures:
    t = targets(s)
    for target in t.values():  # warm connections, caches, JIT-less but allocator-warm paths
        asyncio.run(run_slice(target, clients=args.clients, seconds=1.0))
    loaded = interleaved(
        [t["linkzoom"], t["forwarder"], t["sandbox"]],
        s.pids,
        clients=args.clients,
        rounds=args.rounds,
        seconds=args.slice,
    )
    if args.profile:
        for name in ("linkzoom", "forwarder"):  # the floor's profile shows what both pay
            profile(s, name, t[name], args)
    single = interleaved(
        [t["linkzoom"], t["forwarder"]], s.pids, clients=1, rounds=args.rounds, seconds=args.slice
    )
    ratios = [
        a.throughput / b.throughput
        for a, b in zip(loaded["linkzoom"], loaded["forwarder"], strict=True)
        if b.throughput
    ]
    all_slices = [x for group in (loaded, single) for v in group.values() for x in v]
    return Figures(
        database=s.database,
        rps={name: statistics.median(x.throughput for x in v) for name, v in loaded.items()},
        ratio=statistics.median(ratios),
        ratio_spread=(min(ratios), max(ratios)),
        p50={n: percentile([x for sl in v for x in sl.latencies], 0.50) for n, v in single.items()},
        p99={n: percentile([x for sl in v for x in sl.latencies], 0.99) for n, v in single.items()},
        loaded_p99={
            n: percentile([x for sl in v for x in sl.latencies], 0.99) for n, v in loaded.items()
        },
        errors={
            n: sum(x.errors for x in v)
            for n, v in {**loaded, **{f"{k} (1 client)": v for k, v in single.items()}}.items()
        },
        first_errors=[x.first_error for x in all_slices if x.first_error][:3],
        cpu_ms={n: _per_request(loaded[n], n) for n in ("linkzoom", "forwarder", "sandbox")},
        sandbox_cpu_ms={n: _per_request(loaded[n], "sandbox") for n in ("linkzoom", "forwarder")},
        busy={
            n: sum(x.cpu[n] for x in loaded[n]) / sum(x.seconds for x in loaded[n])
            for n in ("linkzoom", "forwarder", "sandbox")
        },
    )


def _per_request(slices: list[Slice], process: str) -> float:
    requests = sum(len(x.latencies) + x.errors for x in slices)
    return 1000 * sum(x.cpu[process] for x in slices) / requests if requests else float("nan")


def profile(s: Stack, name: str, target: Target, args: argparse.Namespace) -> None:
    """py-spy's collapsed stacks of one process (``name``) while 32 clients drive it."""
    seconds = max(4, int(args.slice * 2))
    record_profile(
        s.pids[name],
        Path(args.profile) / f"{name}-{s.database}.txt",
        seconds=seconds,
        load=lambda: asyncio.run(run_slice(target, clients=args.clients, seconds=seconds + 1)),
    )


def record_profile(pid: int, out: Path, *, seconds: int, load: Callable[[], object]) -> None:
    """``py-spy record`` of ``pid`` for ``seconds`` while ``load()`` drives it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    spy = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(seconds),
            "--rate",
            "250",
            "--gil",  # only the thread holding the GIL: where Python spends the CPU
            "--format",
            "raw",
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    load()
    _, err = spy.communicate(timeout=60)
    if spy.returncode:
        print(f"py-spy failed: {err.decode(errors='replace')}", file=sys.stderr)
    else:
        print(f"profile: {out}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


SOAK_WARM_UP = 10_000  # composes before the baseline: pools, caches and the allocator settle


def soak(s: Stack, args: argparse.Namespace) -> bool:
    """Serve ``--soak`` composes with ``--clients`` clients, printing linkzoom's RSS every
    tenth of the way; ``True`` if it grew less than 10 % after the warm-up."""
    target = targets(s)["linkzoom"]
    step = max(args.soak // 10, 1)
    done, errors, baseline, last = 0, 0, None, 0.0
    next_sample = min(SOAK_WARM_UP, step)
    print(f"{s.database}: RSS of linkzoom over {args.soak:,} composes")
    while done < args.soak:
        taken = asyncio.run(run_slice(target, clients=args.clients, seconds=5))
        done += len(taken.latencies)
        errors += taken.errors
        if done >= next_sample or done >= args.soak:
            last = rss_mib(s.pids["linkzoom"])
            if baseline is None and done >= SOAK_WARM_UP:
                baseline = last
            note = "" if baseline is None else f"  ({last / baseline - 1:+.1%} since warm-up)"
            print(f"  {done:>8,} composes: {last:6.1f} MiB{note}", flush=True)
            next_sample = done + step
    growth = float("nan") if baseline is None else last / baseline - 1
    print(f"{s.database}: {errors} errors; growth after warm-up {growth:+.1%} (target < 10 %)")
    return growth < 0.10 and errors == 0


def report(figures: list[Figures], args: argparse.Namespace) -> None:
    print(
        f"\ncompose: {args.clients} clients for throughput, 1 client for latency; "
        f"{args.rounds} interleaved rounds of {args.slice:g} s slices per system\n"
    )
    header = (
        f"{'database':<11}{'linkzoom rps':>13}{'forwarder':>11}{'sandbox':>9}"
        f"{'ratio':>7}{'(min-max)':>13}{'  p50 lz/fw ms':>16}{'p99 lz/fw ms':>15}{'p99 diff':>10}"
    )
    print(header)
    print("-" * len(header))
    for f in figures:
        lo, hi = f.ratio_spread
        spread = f"({lo:.2f}-{hi:.2f})"
        p50 = "{:.1f}/{:.1f}".format(f.p50["linkzoom"], f.p50["forwarder"])
        p99 = "{:.1f}/{:.1f}".format(f.p99["linkzoom"], f.p99["forwarder"])
        print(
            f"{f.database:<11}{f.rps['linkzoom']:>13.0f}{f.rps['forwarder']:>11.0f}"
            f"{f.rps['sandbox']:>9.0f}{f.ratio:>7.2f}{spread:>13}{p50:>16}{p99:>15}"
            f"{f.p99['linkzoom'] - f.p99['forwarder']:>+10.1f}"
        )
    print()
    for f in figures:
        print(
            f"{f.database}: CPU per compose under load: linkzoom {f.cpu_ms['linkzoom']:.2f} ms "
            f"({f.busy['linkzoom']:.0%} of a core), forwarder {f.cpu_ms['forwarder']:.2f} ms "
            f"({f.busy['forwarder']:.0%}); sandbox {f.sandbox_cpu_ms['linkzoom']:.2f} ms "
            f"per call (alone: {f.cpu_ms['sandbox']:.2f} ms, {f.busy['sandbox']:.0%})"
        )
        print(
            f"{f.database}: p99 under {args.clients} clients: linkzoom "
            f"{f.loaded_p99['linkzoom']:.1f} ms, forwarder {f.loaded_p99['forwarder']:.1f} ms "
            f"({f.loaded_p99['linkzoom'] / f.loaded_p99['forwarder']:.2f}x)"
        )
    print()
    for f in figures:
        verdict = [
            f"throughput {'met' if f.throughput_ok else 'MISSED'} (>= {THROUGHPUT_TARGET})",
            f"p99 {'met' if f.latency_ok else 'MISSED'} (<= forwarder + {P99_MARGIN_MS:g} ms)",
            f"p99 under load {'met' if f.loaded_latency_ok else 'MISSED'} "
            f"(<= {LOADED_P99_FACTOR:g} x forwarder)",
        ]
        print(f"{f.database}: " + "; ".join(verdict))
        if any(f.errors.values()):
            print(f"  errors: {f.errors}; first: {f.first_errors}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--slice", type=float, default=2.0)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--log-level", default="WARNING")
    parser.add_argument("--profile", default=None, help="directory for py-spy profiles")
    parser.add_argument(
        "--forwarder-pool",
        choices=("stock", "zoom"),
        default="stock",
        help="the forwarder's connection pool: httpx's own, or linkzoom's (bench/forwarder.py)",
    )
    parser.add_argument("--soak", type=int, default=0, help="composes for the RSS soak")
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    if args.soak:
        held = []
        for kind in kinds:
            with stack(kind, args) as s:
                held.append(soak(s, args))
        return 0 if all(held) else 1
    figures = []
    for kind in kinds:
        with stack(kind, args) as s:
            figures.append(measure(s, args))
    report(figures, args)
    failed = [f for f in figures if not (f.throughput_ok and f.latency_ok and f.loaded_latency_ok)]
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
