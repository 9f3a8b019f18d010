"""``linkzoom doctor`` as an operator runs it: a real process against real databases, the Zoom
sandbox and a running ``linkzoom run``; it finds each thing that stops a deployment, changes
nothing, and prints no secret."""

from __future__ import annotations

import asyncio
import secrets
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from linkzoom.config import Settings
from linkzoom.identity.users import add_local
from linkzoom.store.db import create_engine, session_factory, transaction
from linkzoom.vault import preferences
from linkzoom.vault.keyring import KeySource
from linkzoom.vault.seal import Sealer
from tests.support.databases import postgres_url
from tests.support.keys import new_keyring
from tests.support.processes import Process, free_port, linkzoom_command, python_env

CLIENT_ID, CLIENT_SECRET = "doctor-client", "doctor-secret-" + "s" * 20


def doctor(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, str], str]:
    """Exit status, each finding's status by name, and the whole output."""
    done = subprocess.run(
        linkzoom_command("doctor"),
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    statuses = {}
    for line in done.stdout.splitlines():
        status, _, rest = line.partition(" ")
        name = rest.strip().split("  ")[0]
        statuses[name] = status
    return done.returncode, statuses, done.stdout + done.stderr


def test_before_the_first_start_it_warns_creates_nothing_and_after_it_all_is_well(
    tmp_path: Path,
) -> None:
    var = tmp_path / "var"
    port = free_port()
    env = python_env(
        {
            "LINKZOOM_DATABASE_URL": f"sqlite:///{var / 'linkzoom.db'}",
            "LINKZOOM_VAR_DIR": str(var),
            "LINKZOOM_PUBLIC_URL": f"http://127.0.0.1:{port}",
        }
    )
    code, found, _ = doctor(env, tmp_path)
    assert code == 0
    assert found == {
        "Configuration": "ok",
        "Database": "warn",
        "Key ring": "warn",
        "Stored secrets and Zoom app": "warn",
        "Public URL": "warn",
    }
    assert not var.exists()  # no database, no key file: the doctor only looks

    service = Process(
        name="service",
        args=linkzoom_command("run", "--port", str(port)),
        env=env,
        log_path=tmp_path / "service.log",
        ready_url=f"http://127.0.0.1:{port}/readyz",
    ).start()
    try:
        code, found, output = doctor(env, tmp_path)
    finally:
        service.stop()
    assert code == 0, output
    assert found == {
        "Configuration": "ok",
        "Database": "ok",
        "Key ring": "ok",
        "Stored secrets": "ok",
        "Zoom app": "warn",  # the built-in sandbox
        "Public URL": "ok",
    }
    assert "/oauth/zoom/callback" in output


def test_an_unreachable_database_fails_without_showing_its_password(tmp_path: Path) -> None:
    env = python_env(
        {
            "LINKZOOM_DATABASE_URL": "postgresql://linkzoom:do-not-print-me@127.0.0.1:1/linkzoom",
            "LINKZOOM_KEYS": new_keyring(),
            "LINKZOOM_VAR_DIR": str(tmp_path / "var"),
        }
    )
    code, found, output = doctor(env, tmp_path)
    assert code == 1 and found["Database"] == "fail" and "cannot reach" in output
    assert "do-not-print-me" not in output and "***" in output


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = python_env(
        {"LINKZOOM_ZOOM_CLIENT_ID": CLIENT_ID, "LINKZOOM_ZOOM_CLIENT_SECRET": CLIENT_SECRET}
    )
    process = Process(
        name="sandbox",
        args=linkzoom_command("sandbox", "--port", str(port)),
        env=env,
        log_path=tmp_path / "sandbox.log",
        ready_url=url + "/_sandbox/stats",
    ).start()
    try:
        yield url
    finally:
        process.stop()


@pytest.fixture
def empty_postgres() -> Iterator[str]:
    base = postgres_url()
    if base is None:
        pytest.skip("PostgreSQL is not available")
    name = f"linkzoom_doctor_{secrets.token_hex(4)}"
    with psycopg.connect(base, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(base, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def seal_a_preference(database_url: str, keys: str) -> None:
    """A user with one sealed preference, as a deployment has once someone linked Zoom."""
    engine = create_engine(database_url, pool_size=1)
    sealer = Sealer(KeySource(Settings(database_url=database_url, keys=keys)))
    now = datetime.now(UTC)
    try:
        async with transaction(session_factory(engine)) as session:
            user = await add_local(
                session, username="doctor-user", password="doctor-password-1", now=now
            )
            await preferences.put(
                session, sealer, user_id=user.id, resource="Test", tag="doctor",
                payload={"secret": "sealed"}, now=now,
            )  # fmt: skip
    finally:
        await engine.dispose()


def test_it_names_what_stops_a_postgresql_deployment(
    tmp_path: Path, sandbox: str, empty_postgres: str
) -> None:
    ring = new_keyring()
    base = {
        "LINKZOOM_DATABASE_URL": empty_postgres,
        "LINKZOOM_VAR_DIR": str(tmp_path / "var"),
        "LINKZOOM_PUBLIC_URL": "https://linkzoom.example.org",
        "LINKZOOM_ZOOM_CLIENT_ID": CLIENT_ID,
        "LINKZOOM_ZOOM_CLIENT_SECRET": CLIENT_SECRET,
        "LINKZOOM_ZOOM_OAUTH_URL": sandbox,
        "LINKZOOM_ZOOM_API_URL": sandbox + "/v2",
    }
    # A database never migrated, and no key ring: both stop it, and say what to do.
    code, found, output = doctor(python_env(base), tmp_path)
    assert code == 1
    assert found["Database"] == "fail" and "run linkzoom migrate" in output
    assert found["Key ring"] == "fail" and "LINKZOOM_KEYS is required" in output

    env = python_env(base | {"LINKZOOM_KEYS": ring})
    migrated = subprocess.run(
        linkzoom_command("migrate"), env=env, capture_output=True, text=True, check=False
    )
    assert migrated.returncode == 0, migrated.stderr
    code, found, output = doctor(env, tmp_path)
    assert code == 0, output
    assert found["Database"] == found["Key ring"] == found["Stored secrets"] == "ok"
    assert found["Client ID and secret"] == found["Zoom API"] == "ok"
    assert found["Public URL"] == "warn"  # nothing answers at linkzoom.example.org here

    # The wrong secret for the Zoom app.
    code, found, output = doctor(
        python_env(base | {"LINKZOOM_KEYS": ring, "LINKZOOM_ZOOM_CLIENT_SECRET": "wrong-" * 6}),
        tmp_path,
    )
    assert code == 1 and found["Client ID and secret"] == "fail"

    # Secrets sealed under a ring the process no longer has: restored without its key ring.
    asyncio.run(seal_a_preference(empty_postgres, ring))
    lost_env = python_env(base | {"LINKZOOM_KEYS": new_keyring()})
    code, found, output = doctor(lost_env, tmp_path)
    assert code == 1 and found["Stored secrets"] == "fail"
    assert "Restore the key ring" in output
    for secret in (CLIENT_SECRET, ring.split(":", 1)[1].split(",")[0]):
        assert secret not in output

    # The ring is lost for good: say what would go, then forget it, and the deployment is well.
    def keys(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            linkzoom_command("keys", "forget-unreadable", *args),
            env=lost_env,
            capture_output=True,
            text=True,
            check=False,
        )

    told = keys()
    assert told.returncode == 0 and ring.split(":")[0] in told.stdout and "--yes" in told.stdout
    assert doctor(lost_env, tmp_path)[1]["Stored secrets"] == "fail"  # only told, nothing done
    forgot = keys("--yes")
    assert forgot.returncode == 0 and "forgot 1 preferences" in forgot.stdout, forgot.stderr
    code, found, output = doctor(lost_env, tmp_path)
    assert found["Stored secrets"] == "ok", output
    assert keys("--yes").stdout.startswith("every stored secret opens")
    with psycopg.connect(empty_postgres) as database:
        (audited,) = database.execute(
            "SELECT count(*) FROM audit_events WHERE action = 'keys.unreadable_forgotten'"
        ).fetchone() or (0,)
    assert audited == 1
