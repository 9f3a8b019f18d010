"""The mailbox watch over CalDAV at scale: one worker, CALENDARS calendars on a real Radicale.

Radicale (PyPI ``radicale``, htpasswd login, its own storage folder) runs in its own process, so
the CPU measured here is the watcher's: the caldav client, the iCalendar reader, our mapping and
the database. Each calendar holds one event with Zoom (``X-LINKZOOM-EVENT``) and three without.
Rounds, each polling every calendar once with one worker (4 at a time):

- *first listing*: every calendar listed from no sync token (sync-collection, then one
  calendar-multiget of the four objects: CalDAV cannot tell which carry Zoom without them);
- *idle*: nothing changed; requests per calendar (target <= 1), wall time, CPU;
- *changes*: CHANGED events moved on the server by another CalDAV client, then a pass: every
  change handed to the calendar mirror exactly once.

    .venv/bin/python bench/caldav_watch.py [--calendars 500] [--changed 50] [--pg URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from caldav.davclient import DAVClient

from bench.compose import database
from linkzoom.calendar import store
from linkzoom.calendar.event import CalendarEvent, desired_from_event
from linkzoom.calendar.models import SYNCED
from linkzoom.calendar.service import mirror_of
from linkzoom.calendar.sources import caldav_accounts
from linkzoom.calendar.sources.caldav_accounts import CALDAV, Logins
from linkzoom.calendar.sources.caldav_source import CaldavSource
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.config import Settings
from linkzoom.metrics import Metrics
from linkzoom.runtime import open_runtime
from linkzoom.store import migrate
from linkzoom.store.db import transaction
from linkzoom.store.models import User
from linkzoom.zoom.app_credentials import ZoomApp
from tests.support.keys import new_keyring
from tests.support.radicale import RadicaleServer, start_radicale

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

START = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
USER, PASSWORD = "bench", "bench-dav-password"


def ical(uid: str, start: datetime, marker: str | None = None) -> str:
    lines = [
        "BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//linkzoom bench//EN", "BEGIN:VEVENT",
        f"UID:{uid}", "DTSTAMP:20270101T000000Z", f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}", "SUMMARY:Planning",
    ]  # fmt: skip
    if marker:
        lines += [f"X-LINKZOOM-EVENT:{marker}", "LOCATION:https://zoom.example/j/123456789"]
    return "\r\n".join([*lines, "END:VEVENT", "END:VCALENDAR", ""])


def populate(radicale: RadicaleServer, count: int) -> list[str]:
    """The first calendar through CalDAV (Radicale makes the user's principal on the way), the
    rest written straight into Radicale's storage as its multifilesystem backend keeps them (a
    folder per collection, ``.Radicale.props``, an ``.ics`` file per object): through HTTP it
    takes Radicale about two seconds per calendar."""
    first = radicale.make_calendar(USER, "cal-0")
    home = radicale.storage / "collection-root" / USER
    urls = [first]
    for n in range(1, count):
        folder = home / f"cal-{n}"
        folder.mkdir()
        (folder / ".Radicale.props").write_text(
            json.dumps({"D:displayname": f"cal-{n}", "tag": "VCALENDAR"})
        )
        urls.append(first.replace("/cal-0/", f"/cal-{n}/"))
    for n, url in enumerate(urls):
        objects = [(f"zoom-{n}@bench", ical(f"zoom-{n}@bench", START, marker=f"key-{n}"))]
        objects += [(f"other-{n}-{k}@bench", ical(f"other-{n}-{k}@bench", START)) for k in range(3)]
        if n == 0:
            calendar = radicale.calendar(USER, url)
            for _, data in objects:
                calendar.add_event(data)
            continue
        for uid, data in objects:
            (home / f"cal-{n}" / f"{uid}.ics").write_text(data)
    return urls


async def bench(args: argparse.Namespace, radicale: RadicaleServer, urls: list[str]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="linkzoom-caldav-bench-"))
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
    sent: list[str] = []
    original = DAVClient.request

    def counting(self: Any, url: str, method: str = "GET", *rest: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return original(self, url, method, *rest, **kwargs)

    DAVClient.request = counting  # type: ignore[method-assign]
    async with open_runtime(settings, app, metrics=Metrics()) as runtime:
        now = runtime.clock()
        event = CalendarEvent(
            subject="Planning", start=START, end=START + timedelta(hours=1), timezone="UTC"
        )
        async with transaction(runtime.sessions) as session:
            user = User(username=USER, display_name="Bench", source="local", created_at=now)
            session.add(user)
            await session.flush()
            for n, url in enumerate(urls):
                await store.insert(
                    session, user_id=user.id, event_key=f"key-{n}",
                    desired=desired_from_event(event, now=NOW), status=SYNCED, due_at=None,
                    settle_from=None, now=now,
                )  # fmt: skip
                await caldav_accounts.enrol(
                    session, runtime.sealer, username=USER, url=url, login=USER,
                    password=PASSWORD, actor="bench", now=now,
                )  # fmt: skip
        source = CaldavSource(Logins(runtime.sessions, runtime.sealer))
        watcher = MailboxWatcher(
            sessions=runtime.sessions,
            calendar=mirror_of(runtime).service,
            readers={CALDAV: source},
            clock=runtime.clock,
            owner="bench",
            poll_interval=timedelta(0),
            batch=100,
        )

        async def round_(name: str) -> tuple[float, float, int, int]:
            before = len(sent)
            wall, cpu = time.perf_counter(), time.process_time()
            polled = applied = 0
            while polled < len(urls):
                done = await watcher.poll_due()
                polled += len(done)
                applied += sum(p.applied for p in done)
                bad = [p for p in done if p.status != "ok"]
                assert not bad, bad[:3]
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            requests = len(sent) - before
            print(
                f"{name:>14}: {polled} calendars in {wall:6.2f} s wall, {cpu:6.2f} s CPU; "
                f"{requests / polled:.2f} CalDAV requests per calendar; {applied} changes applied"
            )
            return wall, cpu, requests, applied

        await round_("first listing")
        wall, cpu, requests, _ = await round_("idle")
        for n in range(args.changed):  # another CalDAV client moves them
            radicale.calendar(USER, urls[n]).add_event(
                ical(f"zoom-{n}@bench", START + timedelta(hours=2), marker=f"key-{n}")
            )
        changed_wall, _, _, applied = await round_("changes")
        source.close()
    count = len(urls)
    print()
    print(f"requests per idle poll: {requests / count:.2f} (target <= 1)")
    print(
        f"one worker polls {count / wall * 60:,.0f} idle calendars per minute by the clock, "
        f"{count / cpu * 60:,.0f} by its CPU ({cpu / count * 1000:.1f} ms CPU per idle poll)"
    )
    print(
        f"changes: {applied} of {args.changed} handed to the mirror once each, in a "
        f"{changed_wall:.1f} s pass"
    )
    assert applied == args.changed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calendars", type=int, default=500)
    parser.add_argument("--changed", type=int, default=50)
    parser.add_argument(
        "--pg", help="a PostgreSQL server URL; a throwaway database is made (default: SQLite)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="linkzoom-radicale-"))
    radicale = start_radicale(folder, {USER: PASSWORD})
    try:
        made = time.perf_counter()
        urls = populate(radicale, args.calendars)
        print(f"{len(urls)} calendars made on Radicale in {time.perf_counter() - made:.1f} s")
        # --pg names a server: the bench works in a database of its own, dropped afterwards.
        with database("postgresql", args.pg, Path()) if args.pg else nullcontext(None) as url_:
            args.pg = url_
            asyncio.run(bench(args, radicale, urls))
    finally:
        radicale.stop()


if __name__ == "__main__":
    main()
