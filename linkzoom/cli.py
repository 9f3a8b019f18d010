"""The ``linkzoom`` command: run, worker, migrate, users, zoom, keys, sandbox."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from linkzoom import features, logs
from linkzoom.clock import utcnow
from linkzoom.config import PREFIX, ConfigError, Settings, load_settings
from linkzoom.problems import Problem
from linkzoom.store import migrate
from linkzoom.store.db import SessionFactory, create_engine, session_factory, transaction

if TYPE_CHECKING:
    from linkzoom.vault.keyring import KeySource

T = TypeVar("T")


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
        logs.configure(settings.log_level, settings.log_format)
        result: int = args.handler(args, settings)
        return result
    except ConfigError as exc:
        print(f"linkzoom: {exc}", file=sys.stderr)
        return 2
    except Problem as exc:
        print(f"linkzoom: {exc.detail}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="linkzoom", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="API, controller and worker in one process")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.set_defaults(handler=_run)

    commands.add_parser("worker", help="the background worker alone").set_defaults(handler=_worker)
    commands.add_parser("migrate", help="apply database migrations").set_defaults(handler=_migrate)
    commands.add_parser(
        "doctor", help="check configuration, database, key ring, Zoom app and public URL"
    ).set_defaults(handler=_doctor)

    users = commands.add_parser("users", help="local directory users")
    users_commands = users.add_subparsers(required=True, metavar="ACTION")
    add = users_commands.add_parser("add", help="add a local user")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true")
    add.add_argument("--email")
    add.add_argument("--display-name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.set_defaults(handler=_users_add)

    zoom = commands.add_parser("zoom", help="the Zoom feature switch")
    zoom.add_argument("action", choices=["enable", "disable", "status"])
    zoom.set_defaults(handler=_zoom)

    keys = commands.add_parser("keys", help="the vault key ring")
    keys.add_argument("action", choices=["rotate", "generate", "forget-unreadable"])
    keys.add_argument(
        "--yes",
        action="store_true",
        help="forget-unreadable: really forget (without it, only say what would be forgotten)",
    )
    keys.set_defaults(handler=_keys)

    addin = commands.add_parser("addin", help="the Outlook add-in")
    addin_commands = addin.add_subparsers(required=True, metavar="ACTION")
    manifest = addin_commands.add_parser("manifest", help="print the add-in manifest")
    manifest.add_argument("--format", choices=["xml", "json"], default="xml")
    manifest.set_defaults(handler=_addin_manifest)

    watch = commands.add_parser("mailboxes", help="the mailbox watch (Exchange, CalDAV)")
    watch_commands = watch.add_subparsers(required=True, metavar="ACTION")
    exchange = watch_commands.add_parser("exchange", help="configure the Exchange source")
    exchange.add_argument("--endpoint", required=True, help="https://mail…/EWS/Exchange.asmx")
    exchange.add_argument(
        "--username", required=True, help="the service account; with --auth OAuth2 the client id"
    )
    exchange.add_argument("--auth", choices=["NTLM", "basic", "OAuth2"], default="NTLM")
    exchange.add_argument("--tenant", help="OAuth2: the directory (tenant) id or domain")
    exchange.add_argument(
        "--authority",
        help="OAuth2 in a national cloud: its sign-in host, e.g. https://login.microsoftonline.us",
    )
    exchange.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the service account's password (OAuth2: the client secret) from stdin",
    )
    exchange.set_defaults(handler=_mailboxes_exchange)
    graph = watch_commands.add_parser(
        "graph", help="configure the Microsoft Graph source (Exchange Online)"
    )
    graph.add_argument("--tenant", required=True, help="the directory (tenant) id or domain")
    graph.add_argument("--client-id", required=True, help="the Entra app's application id")
    credential = graph.add_mutually_exclusive_group()
    credential.add_argument(
        "--secret-stdin", action="store_true", help="read the app's client secret from stdin"
    )
    credential.add_argument(
        "--certificate",
        type=Path,
        metavar="PEM",
        help="a file holding the unencrypted PEM private key and its PEM certificate",
    )
    graph.add_argument(
        "--authority", help="a national cloud's sign-in host, e.g. https://login.microsoftonline.us"
    )
    graph.add_argument(
        "--api-url", help="a national cloud's Graph host, e.g. https://graph.microsoft.us"
    )
    graph.set_defaults(handler=_mailboxes_graph)
    caldav = watch_commands.add_parser(
        "caldav",
        help="watch a user's CalDAV calendar (Nextcloud, SOGo, Fastmail, iCloud, Radicale)",
    )
    caldav.add_argument("user", help="the linkzoom user whose calendar it is")
    caldav.add_argument("--url", required=True, help="the calendar collection's URL")
    caldav.add_argument("--login", required=True, help="the CalDAV login")
    caldav.add_argument(
        "--password-stdin",
        action="store_true",
        help="read its password (or app password) from stdin; omit to keep the stored one",
    )
    caldav.set_defaults(handler=_mailboxes_caldav)
    enrol = watch_commands.add_parser("enrol", help="watch users' mailboxes")
    who = enrol.add_mutually_exclusive_group(required=True)
    who.add_argument("--all", action="store_true", help="every user who has connected Zoom")
    who.add_argument("users", nargs="*", default=[], help="usernames (their e-mail addresses)")
    enrol.add_argument(
        "--source",
        choices=["exchange", "graph"],
        default="exchange",
        help="read the mailboxes over EWS (Exchange Server) or Microsoft Graph (Exchange Online)",
    )
    enrol.set_defaults(handler=_mailboxes_enrol)
    watch_commands.add_parser("status", help="each watched mailbox").set_defaults(
        handler=_mailboxes_status
    )

    sandbox = commands.add_parser("sandbox", help="the Zoom sandbox alone")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8900)
    sandbox.set_defaults(handler=_sandbox)
    return parser


def _with_db(settings: Settings, work: Callable[[SessionFactory], Awaitable[T]]) -> T:
    async def go() -> T:
        engine = create_engine(settings.database_url, pool_size=2)
        try:
            return await work(session_factory(engine))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def _run(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from linkzoom.app import create_app
    from linkzoom.identity.users import bootstrap_admin

    if PREFIX + "PUBLIC_URL" not in os.environ:
        settings = settings.replace(public_url=f"http://{args.host}:{args.port}")
    if settings.is_sqlite:
        migrate.upgrade(settings.database_url)

    async def prepare(sessions: SessionFactory) -> str | None:
        async with transaction(sessions) as session:
            password = await bootstrap_admin(session, now=utcnow())
            if settings.zoom_sandboxed and await features.is_unset(session):
                # A demo against the simulated Zoom should work out of the box; a real Zoom
                # app stays off until an administrator enables it.
                await features.set_zoom_enabled(session, True, now=utcnow())
            return password

    password = _with_db(settings, prepare)
    print(f"linkzoom is starting at {settings.public_url}", flush=True)
    if settings.zoom_sandboxed:
        print(
            "  ZOOM SANDBOX: no Zoom app configured; meetings are simulated "
            f"({settings.public_url}/zoom-sandbox)",
            flush=True,
        )
    if password:
        print(f"  first start: created user 'admin' with password {password}", flush=True)
        print("  (shown once; change it or add directory login)", flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom import worker
    from linkzoom.metrics import Metrics
    from linkzoom.runtime import open_runtime
    from linkzoom.zoom import app_credentials

    async def go() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        async with open_runtime(
            settings, app_credentials.resolve(settings), metrics=Metrics()
        ) as runtime:
            await worker.run(runtime, stop)

    asyncio.run(go())
    return 0


def _forget_unreadable(settings: Settings, source: KeySource, *, really: bool) -> int:
    """``keys forget-unreadable``: see :mod:`linkzoom.vault.unreadable`."""
    from linkzoom.vault.key_check import missing_key_ids
    from linkzoom.vault.seal import Sealer
    from linkzoom.vault.unreadable import forget_unreadable

    sealer = Sealer(source)

    def known(kid: str) -> bool:
        return source.find(kid) is not None

    async def work(sessions: SessionFactory) -> int:
        async with transaction(sessions) as session:
            if not really:
                lost = await missing_key_ids(session, known=known, sealer=sealer)
                if lost:
                    print("sealed under keys this ring cannot open: " + ", ".join(sorted(lost)))
                    print("run again with --yes to forget those secrets (docs/operations.md)")
                else:
                    print("every stored secret opens with this ring; nothing to forget")
                return 0
            counts = await forget_unreadable(
                session, known=known, sealer=sealer, now=utcnow(), actor="cli"
            )
        if not counts:
            print("every stored secret opens with this ring; nothing to forget")
        else:
            print("forgot " + ", ".join(f"{n} {kind}" for kind, n in counts.items() if n))
        return 0

    return _with_db(settings, work)


def _doctor(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom import doctor

    findings = doctor.examine(settings)
    print(doctor.render(findings))
    return 1 if any(f.status == "fail" for f in findings) else 0


def _migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate.upgrade(settings.database_url)
    print("database is up to date")
    return 0


def _users_add(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.identity.users import add_local

    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass("Password: ")
        if getpass.getpass("Again: ") != password:
            print("linkzoom: passwords differ", file=sys.stderr)
            return 1

    async def add(sessions: SessionFactory) -> str:
        async with transaction(sessions) as session:
            user = await add_local(
                session,
                username=args.name,
                password=password,
                now=utcnow(),
                is_admin=args.admin,
                email=args.email,
                display_name=args.display_name,
            )
            return user.username

    name = _with_db(settings, add)
    print(f"added {'admin' if args.admin else 'user'} {name}")
    return 0


def _zoom(args: argparse.Namespace, settings: Settings) -> int:
    async def act(sessions: SessionFactory) -> bool:
        async with transaction(sessions) as session:
            if args.action != "status":
                await features.set_zoom_enabled(session, args.action == "enable", now=utcnow())
            return await features.zoom_enabled(session)

    print("enabled" if _with_db(settings, act) else "disabled")
    return 0


def _keys(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.calendar import passcodes
    from linkzoom.calendar.sources import caldav_accounts
    from linkzoom.compose import idempotency
    from linkzoom.grant import revocations
    from linkzoom.vault.keyring import KeyRing, KeySource, generate_key
    from linkzoom.vault.rotation import reseal_all
    from linkzoom.vault.seal import Sealer
    from linkzoom.zoom import app_credentials

    if args.action == "generate":
        key = generate_key()
        print(KeyRing((key,)).render())
        return 0
    source = KeySource(settings)
    if args.action == "forget-unreadable":
        return _forget_unreadable(settings, source, really=args.yes)
    if source.from_environment:
        print(
            "re-sealing under the first key of LINKZOOM_KEYS; to introduce a new key, run "
            "'linkzoom keys generate', put it first in LINKZOOM_KEYS on every process, then rotate",
            file=sys.stderr,
        )
    else:
        source.replace(source.ring.with_new_primary(generate_key()))
        print(f"new primary key {source.ring.primary.kid} written to {source.path}")

    async def rotate(sessions: SessionFactory) -> None:
        report = await reseal_all(
            sessions,
            Sealer(source),
            others=(
                app_credentials.reseal,
                revocations.reseal,
                passcodes.reseal,
                idempotency.reseal,
                caldav_accounts.reseal,
            ),
            leftovers=(passcodes.left_to_reseal, caldav_accounts.left_to_reseal),
        )
        print(
            f"re-sealed {report.resealed} value(s) under {report.primary_kid}; "
            f"{report.remaining} left (run again to finish)"
            if report.remaining
            else f"re-sealed {report.resealed} value(s); every value is under {report.primary_kid}"
        )

    _with_db(settings, rotate)
    return 0


def _addin_manifest(args: argparse.Namespace, settings: Settings) -> int:
    """The manifest for this deployment on stdout (for the Exchange or Microsoft 365 admin)."""
    from linkzoom.addin import identity, manifests

    if settings.is_sqlite:
        migrate.upgrade(settings.database_url)

    async def render(sessions: SessionFactory) -> manifests.Deployment:
        async with transaction(sessions) as session:
            return await identity.deployment(session, settings=settings, now=utcnow())

    found = _with_db(settings, render)
    if found.insecure:
        print(
            f"linkzoom: warning: {settings.public_url} is not https; Outlook loads add-ins only "
            "over https (set LINKZOOM_PUBLIC_URL)",
            file=sys.stderr,
        )
    print(
        manifests.xml_manifest(found) if args.format == "xml" else manifests.json_manifest(found),
        end="",
    )
    return 0


def _mailboxes_exchange(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.calendar.sources import admin
    from linkzoom.vault.keyring import KeySource
    from linkzoom.vault.seal import Sealer

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    sealer = Sealer(KeySource(settings))

    async def save(sessions: SessionFactory) -> None:
        async with transaction(sessions) as session:
            await admin.configure_exchange(
                session,
                sealer,
                endpoint=args.endpoint,
                username=args.username,
                auth_type=args.auth,
                password=password,
                tenant_id=args.tenant,
                authority=args.authority,
                actor="cli",
                now=utcnow(),
            )

    _with_db(settings, save)
    kept = "" if password is not None else " (secret unchanged)"
    print(f"Exchange source saved: {args.endpoint} as {args.username}{kept}")
    return 0


def _read_pem(path: Path) -> str:
    from linkzoom.problems import ValidationFailed

    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not a PEM text file"
        raise ValidationFailed.one("certificate", f"{path} cannot be read: {reason}") from None


def _mailboxes_graph(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.calendar.sources import admin
    from linkzoom.calendar.sources.graph_config import CONSENT_RETURN_PATH, GraphSettings
    from linkzoom.vault.keyring import KeySource
    from linkzoom.vault.seal import Sealer

    secret = sys.stdin.readline().rstrip("\r\n") if args.secret_stdin else None
    certificate = _read_pem(args.certificate) if args.certificate else None
    sealer = Sealer(KeySource(settings))

    async def save(sessions: SessionFactory) -> GraphSettings:
        async with transaction(sessions) as session:
            return await admin.configure_graph(
                session,
                sealer,
                tenant_id=args.tenant,
                client_id=args.client_id,
                secret=secret,
                certificate=certificate,
                authority=args.authority,
                api_url=args.api_url,
                actor="cli",
                now=utcnow(),
            )

    saved = _with_db(settings, save)
    kept = "" if secret or certificate else " (credential unchanged)"
    print(f"Microsoft Graph source saved: app {saved.client_id} in {saved.tenant_id}{kept}")
    consent = saved.admin_consent_url(settings.public_url.rstrip("/") + CONSENT_RETURN_PATH)
    print(f"admin consent (Calendars.Read): {consent}")
    return 0


def _mailboxes_caldav(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.calendar.sources import caldav_accounts
    from linkzoom.vault.keyring import KeySource
    from linkzoom.vault.seal import Sealer

    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    sealer = Sealer(KeySource(settings))

    async def enrol(sessions: SessionFactory) -> None:
        async with transaction(sessions) as session:
            await caldav_accounts.enrol(
                session,
                sealer,
                username=args.user,
                url=args.url,
                login=args.login,
                password=password,
                actor="cli",
                now=utcnow(),
            )

    _with_db(settings, enrol)
    print(f"watching the CalDAV calendar {args.url} of {args.user}")
    return 0


def _mailboxes_enrol(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.calendar.sources import admin

    async def enrol(sessions: SessionFactory) -> list[str]:
        async with transaction(sessions) as session:
            return await admin.enrol(
                session,
                usernames=None if args.all else args.users,
                actor="cli",
                now=utcnow(),
                source=args.source,
            )

    enrolled = _with_db(settings, enrol)
    print(f"watching {len(enrolled)} mailbox(es): {', '.join(enrolled) or 'none'}")
    return 0


def _mailboxes_status(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.calendar.sources import admin

    async def read(sessions: SessionFactory) -> list[admin.MailboxStatus]:
        async with transaction(sessions) as session:
            return await admin.statuses(session)

    for box in _with_db(settings, read):
        synced = box.last_sync_at.isoformat(timespec="seconds") if box.last_sync_at else "never"
        error = f"  {box.last_error}" if box.last_error else ""
        print(
            f"{box.address}\t{box.username}\t{box.status}\tlast sync {synced}"
            f"\t{box.changes_applied} change(s){error}"
        )
    return 0


def _sandbox(args: argparse.Namespace, settings: Settings) -> int:
    from linkzoom.sandbox.config import config_from_env
    from linkzoom.sandbox.server import serve

    serve(config_from_env(os.environ), host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
