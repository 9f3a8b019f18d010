"""``linkzoom doctor``: can this deployment serve? Each finding says what was found and what to do.

It changes nothing: no migration, no key file generated, nothing sent to Zoom that acts (the Zoom
checks are the console's *Test connection*: a refresh with a made-up refresh token, and an
unauthenticated ``GET /users/me``). It reads the configuration as ``linkzoom run`` does, so run it
with the same environment, before the first start or beside a running service. No secret is
printed: URLs are shown with their password hidden, keys by their ids.
"""

from __future__ import annotations

import asyncio
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import httpx
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from linkzoom.config import Settings
from linkzoom.controller import zoom_settings
from linkzoom.grant.consent import CALLBACK_PATH
from linkzoom.metrics import Metrics
from linkzoom.runtime import open_runtime
from linkzoom.store import migrate
from linkzoom.store.db import driver_url, transaction
from linkzoom.vault.key_check import missing_key_ids
from linkzoom.vault.keyring import KeyRing
from linkzoom.zoom import app_credentials

Status = Literal["ok", "warn", "fail"]
REACH_TIMEOUT = 3.0  # seconds for the public URL to answer


@dataclass(frozen=True, kw_only=True)
class Finding:
    name: str
    status: Status
    detail: str


def examine(settings: Settings) -> list[Finding]:
    """Every finding, in the order an operator fixes them."""
    findings = [_configuration(settings)]
    database, migrated = _database(settings)
    findings.append(database)
    keys, ring = _key_ring(settings)
    findings.append(keys)
    if migrated and ring is not None:
        findings += asyncio.run(_with_runtime(settings))
    else:
        findings.append(
            Finding(
                name="Stored secrets and Zoom app",
                status="warn",
                detail="Not checked: they need a migrated database and a key ring.",
            )
        )
    findings.append(_public_url(settings))
    return findings


def render(findings: list[Finding]) -> str:
    width = max(len(f.name) for f in findings)
    return "\n".join(f"{f.status:<5} {f.name:<{width}}  {f.detail}" for f in findings)


def _configuration(settings: Settings) -> Finding:
    database = "SQLite" if settings.is_sqlite else "PostgreSQL"
    zoom = (
        "the built-in Zoom sandbox"
        if settings.zoom_sandboxed
        else f"the Zoom app {settings.zoom_client_id}"
    )
    directory = "directory login (LDAP)" if settings.ldap is not None else "the local directory"
    return Finding(
        name="Configuration",
        status="ok",
        detail=f"read: {database}, {zoom} (unless the console set one), {directory}.",
    )


def _database(settings: Settings) -> tuple[Finding, bool]:
    """Reachable and at the latest migration; the second value says whether it is usable."""
    url = make_url(settings.database_url)
    shown = url.render_as_string(hide_password=True)
    name = "Database"
    # Connecting would create an SQLite file: a doctor that finds none says so and leaves it.
    if settings.is_sqlite and url.database and not Path(url.database).exists():
        return Finding(
            name=name,
            status="warn",
            detail=f"no database yet at {shown}: linkzoom run creates and migrates it.",
        ), False
    engine = create_engine(driver_url(settings.database_url, asynchronous=False))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
        return Finding(name=name, status="fail", detail=f"cannot reach {shown}: {reason}"), False
    finally:
        engine.dispose()
    latest = set(
        ScriptDirectory.from_config(migrate.alembic_config(settings.database_url)).get_heads()
    )
    if current == latest:
        return Finding(
            name=name,
            status="ok",
            detail=f"{shown} answers and is at the latest migration ({', '.join(sorted(latest))}).",
        ), True
    at = ", ".join(sorted(current)) or "no migration"
    if settings.is_sqlite:
        return Finding(
            name=name,
            status="warn",
            detail=f"{shown} is at {at}, not the latest: linkzoom run migrates SQLite at start.",
        ), False
    return Finding(
        name=name,
        status="fail",
        detail=f"{shown} is at {at}, not the latest: run linkzoom migrate (docs/operations.md).",
    ), False


def _key_ring(settings: Settings) -> tuple[Finding, KeyRing | None]:
    name = "Key ring"
    if settings.keys is not None:
        try:
            ring = KeyRing.parse(settings.keys)
        except ValueError as exc:
            return Finding(name=name, status="fail", detail=f"LINKZOOM_KEYS: {exc}"), None
        return Finding(name=name, status="ok", detail=_ring_detail(ring, "LINKZOOM_KEYS")), ring
    if not settings.is_sqlite:
        return Finding(
            name=name,
            status="fail",
            detail="LINKZOOM_KEYS is required with PostgreSQL: every process must use the same "
            "ring (docs/operations.md, key rotation).",
        ), None
    path = settings.var_dir / "keys"
    if not path.exists():
        return Finding(
            name=name,
            status="warn",
            detail=f"none yet: linkzoom run generates {path}. Back it up with the database.",
        ), None
    try:
        ring = KeyRing.parse(path.read_text())
    except (OSError, ValueError) as exc:
        return Finding(name=name, status="fail", detail=f"{path}: {exc}"), None
    loose = path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO)
    if loose:
        return Finding(
            name=name,
            status="warn",
            detail=f"{path} can be read by others than its owner: chmod 600 it.",
        ), ring
    return Finding(name=name, status="ok", detail=_ring_detail(ring, str(path))), ring


def _ring_detail(ring: KeyRing, where: str) -> str:
    older = len(ring.keys) - 1
    return f"{where}: primary {ring.primary.kid}" + (f", {older} older" if older else "") + "."


async def _with_runtime(settings: Settings) -> list[Finding]:
    async with open_runtime(
        settings, app_credentials.resolve(settings), metrics=Metrics()
    ) as runtime:
        async with transaction(runtime.sessions) as session:
            missing = await missing_key_ids(
                session, known=lambda kid: runtime.keys.find(kid) is not None, sealer=runtime.sealer
            )
        findings = [
            Finding(
                name="Stored secrets",
                status="fail",
                detail="sealed under keys the ring lacks or holds with other bytes: "
                + ", ".join(sorted(missing))
                + ". Restore the key ring that goes with this database (docs/operations.md).",
            )
            if missing
            else Finding(
                name="Stored secrets", status="ok", detail="every one opens with this ring."
            )
        ]
        if runtime.zoom_app.sandboxed:
            findings.append(
                Finding(
                    name="Zoom app",
                    status="warn",
                    detail="none configured: meetings are simulated by the built-in sandbox. "
                    "Set LINKZOOM_ZOOM_CLIENT_ID/_CLIENT_SECRET or use the console.",
                )
            )
            return findings
        for check in (zoom_settings.check_client, zoom_settings.check_api):
            result = await check(runtime)
            findings.append(
                Finding(
                    name=result.name, status="ok" if result.ok else "fail", detail=result.detail
                )
            )
        return findings


def _public_url(settings: Settings) -> Finding:
    name = "Public URL"
    url = settings.public_url
    parts = urlsplit(url)
    redirect = url.rstrip("/") + CALLBACK_PATH
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return Finding(
            name=name,
            status="fail",
            detail=f"{url} must be an origin only (scheme, host, port): linkzoom serves from /.",
        )
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not loopback:
        return Finding(
            name=name,
            status="fail",
            detail=f"{url} is not https: Outlook loads add-ins only over https, and Zoom "
            "redirects consent only to https (behind a TLS proxy, set LINKZOOM_PUBLIC_URL to "
            "its https address and LINKZOOM_TRUSTED_PROXIES to its address).",
        )
    try:
        answer = httpx.get(url.rstrip("/") + "/healthz", timeout=REACH_TIMEOUT, trust_env=False)
        reached = answer.status_code == 200 and answer.json().get("status") == "ok"
    except (httpx.HTTPError, ValueError):
        reached = False
    register = f"The Zoom app's redirect URL must be {redirect}."
    if not reached:
        return Finding(
            name=name,
            status="warn",
            detail=f"{url} does not answer as linkzoom (not started yet, or the proxy does not "
            f"route it here). {register}",
        )
    return Finding(name=name, status="ok", detail=f"{url} reaches linkzoom. {register}")
