"""The mailbox watch over CalDAV: a real Radicale (its own process, htpasswd logins), the real
``caldav`` client on both sides (the watch, and the tests editing calendars as another CalDAV
client would), the real calendar mirror and the Zoom sandbox, on both databases."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from caldav.davclient import DAVClient
from sqlalchemy import select

from linkzoom.calendar.service import Mirror, mirror_of
from linkzoom.calendar.sources import caldav_accounts, caldav_source, mailboxes
from linkzoom.calendar.sources.caldav_accounts import CALDAV, Logins
from linkzoom.calendar.sources.caldav_source import CaldavSource
from linkzoom.calendar.sources.watcher import MailboxWatcher
from linkzoom.calendar.webhooks import register
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from tests.calendar.harness import SandboxProcess, advance, align_clocks, drain, link_user
from tests.calendar.test_runner import event
from tests.support.clock import FakeClock
from tests.support.radicale import RadicaleServer, start_radicale

START = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
PASSWORD = "alice-dav-password"
_names = itertools.count()


@pytest.fixture(scope="module")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RadicaleServer]:
    server = start_radicale(tmp_path_factory.mktemp("radicale"), {"alice": PASSWORD})
    yield server
    server.stop()


def ical(
    uid: str,
    start: datetime,
    *,
    minutes: int = 60,
    extra: str = "",
    marker: str | None = None,
    location: str = "",
    overrides: str = "",
) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//linkzoom tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{START:%Y%m%dT%H%M%SZ}",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(minutes=minutes):%Y%m%dT%H%M%SZ}",
        "SUMMARY:Planning",
    ]
    if location:
        lines.append(f"LOCATION:{location}")
    if marker:
        lines.append(f"X-LINKZOOM-EVENT:{marker}")
    lines += [line for line in extra.split("\n") if line]
    lines.append("END:VEVENT")
    lines += [line for line in overrides.split("\n") if line]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines) + "\r\n"


@dataclass
class DavWatch:
    runtime: Runtime
    mirror: Mirror
    sandbox: SandboxProcess
    clock: FakeClock
    radicale: RadicaleServer
    source: CaldavSource
    user_id: int
    url: str
    mailbox_id: int

    @property
    def calendar(self) -> Any:
        return self.radicale.calendar("alice", self.url)

    def watcher(self, owner: str = "worker-1") -> MailboxWatcher:
        return MailboxWatcher(
            sessions=self.runtime.sessions,
            calendar=self.mirror.service,
            readers={CALDAV: self.source},
            clock=self.clock,
            owner=owner,
            poll_interval=timedelta(0),
        )

    async def poll(self, owner: str = "worker-1") -> int:
        polled = await self.watcher(owner).poll_due()
        assert all(p.status == "ok" for p in polled), polled
        advance(self.sandbox, self.clock, seconds=3)
        await drain(self.mirror, self.clock)
        return sum(p.applied for p in polled)

    async def turn_zoom_on(self, key: str, start: datetime, **item: Any) -> tuple[str, int, str]:
        """The toggle through the API; the event then saved on the CalDAV server with its link
        (as the user's client writes it). Returns the UID, the meeting id and the link."""
        answer = await self.mirror.service.put(
            user_id=self.user_id, event_key=key, event=event(start, 60)
        )
        assert answer.binding.confirmed is not None
        link = answer.binding.confirmed.join_url
        uid = f"{key}@tests"
        self.calendar.add_event(ical(uid, start, location=link, **item))
        return uid, answer.binding.confirmed.meeting_id, link

    def put(self, uid: str, start: datetime, **item: Any) -> None:
        self.calendar.add_event(ical(uid, start, **item))

    def meeting(self, meeting_id: int) -> dict[str, Any] | None:
        found = [m for m in self.sandbox.meetings() if m["id"] == meeting_id]
        return found[0] if found else None


@pytest.fixture
async def watch(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock, radicale: RadicaleServer
) -> AsyncIterator[DavWatch]:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    url = radicale.make_calendar("alice", f"work-{next(_names)}-{id(runtime)}")
    async with transaction(runtime.sessions) as session:
        mailbox_id = await caldav_accounts.enrol(
            session,
            runtime.sealer,
            username="alice",
            url=url,
            login="alice",
            password=PASSWORD,
            actor="test",
            now=clock(),
        )
    source = CaldavSource(Logins(runtime.sessions, runtime.sealer))
    yield DavWatch(
        runtime=runtime,
        mirror=mirror_of(runtime),
        sandbox=sandbox,
        clock=clock,
        radicale=radicale,
        source=source,
        user_id=user_id,
        url=url,
        mailbox_id=mailbox_id,
    )
    source.close()


async def test_a_move_on_the_server_moves_the_meeting_and_a_delete_ends_it(watch: DavWatch) -> None:
    uid, meeting_id, link = await watch.turn_zoom_on("dav-move", START, marker="dav-move")
    watch.put("lunch@tests", START)  # no Zoom: never followed
    assert await watch.poll() == 1  # the first listing: followed, nothing to send
    watch.put(uid, START + timedelta(days=1), minutes=90, location=link, marker="dav-move")
    assert await watch.poll() == 1
    moved = watch.meeting(meeting_id)
    assert moved is not None
    assert moved["start_time"] == "2026-12-08T09:00:00Z" and moved["duration"] == 90
    watch.calendar.get_event_by_uid(uid).delete()
    assert await watch.poll() == 1
    assert watch.meeting(meeting_id) is None


@pytest.mark.one_database
async def test_without_the_property_the_join_link_finds_the_binding(watch: DavWatch) -> None:
    uid, meeting_id, link = await watch.turn_zoom_on("dav-link", START)
    await watch.poll()
    watch.put(uid, START + timedelta(hours=3), location=f"Room 4, {link}")
    assert await watch.poll() == 1
    assert (watch.meeting(meeting_id) or {})["start_time"] == "2026-12-07T12:00:00Z"


@pytest.mark.one_database
async def test_an_idle_calendar_costs_one_sync_request(
    watch: DavWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    await watch.turn_zoom_on("dav-idle", START, marker="dav-idle")
    await watch.poll()
    sent: list[str] = []
    original = DAVClient.request

    def counting(self: Any, url: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
        sent.append(method)
        return original(self, url, method, *args, **kwargs)

    monkeypatch.setattr(DAVClient, "request", counting)
    assert await watch.poll() == 0
    assert sent == ["REPORT"]  # sync-collection; no multiget, no PROPFIND


@pytest.mark.one_database
async def test_occurrences_and_rules_changed_on_the_server_reach_the_series(
    watch: DavWatch,
) -> None:
    uid, meeting_id, link = await watch.turn_zoom_on("dav-series", START, marker="dav-series")
    await watch.poll()
    weekly = "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6"
    watch.put(uid, START, location=link, marker="dav-series", extra=weekly)
    await watch.poll()
    series = watch.meeting(meeting_id)
    assert series is not None and series["type"] == 8
    second, third = START + timedelta(days=7), START + timedelta(days=14)
    moved = second + timedelta(hours=2)
    override = "\n".join([
        "BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{START:%Y%m%dT%H%M%SZ}",
        f"RECURRENCE-ID:{second:%Y%m%dT%H%M%SZ}", f"DTSTART:{moved:%Y%m%dT%H%M%SZ}",
        f"DTEND:{moved + timedelta(hours=1):%Y%m%dT%H%M%SZ}", "SUMMARY:Planning", "END:VEVENT",
    ])  # fmt: skip
    cancelled = f"{weekly}\nEXDATE:{third:%Y%m%dT%H%M%SZ}"
    watch.put(uid, START, location=link, marker="dav-series", extra=cancelled, overrides=override)
    await watch.poll()
    series = watch.meeting(meeting_id)
    assert series is not None
    starts = [o["start_time"] for o in series["occurrences"]]
    assert "2026-12-14T11:00:00Z" in starts and "2026-12-21T09:00:00Z" not in starts
    # The rule changed: daily now, four times.
    watch.put(uid, START, location=link, marker="dav-series", extra="RRULE:FREQ=DAILY;COUNT=4")
    await watch.poll()
    series = watch.meeting(meeting_id)
    assert series is not None
    assert [o["start_time"][:10] for o in series["occurrences"]] == [
        "2026-12-07", "2026-12-08", "2026-12-09", "2026-12-10",
    ]  # fmt: skip


@pytest.mark.one_database
async def test_an_expired_sync_token_lists_again_without_duplicates_or_wrong_deletes(
    watch: DavWatch,
) -> None:
    _, kept, _ = await watch.turn_zoom_on("dav-kept", START, marker="dav-kept")
    gone_uid, gone, _ = await watch.turn_zoom_on(
        "dav-gone", START + timedelta(hours=2), marker="dav-gone"
    )
    await watch.poll()
    watch.radicale.forget_sync_tokens()
    watch.calendar.get_event_by_uid(gone_uid).delete()  # deleted while the token was lost
    meetings_before = len(watch.sandbox.meetings())
    await watch.poll()
    assert watch.meeting(kept) is not None and watch.meeting(gone) is None
    assert len(watch.sandbox.meetings()) == meetings_before - 1  # nothing created again


async def test_a_changed_link_is_written_back_on_top_of_a_concurrent_edit(
    watch: DavWatch, monkeypatch: pytest.MonkeyPatch
) -> None:
    uid, meeting_id, old_link = await watch.turn_zoom_on("dav-relink", START)
    await watch.poll()
    # The meeting is deleted at Zoom; the mirror makes it again, with a new link.
    fired = watch.sandbox.control("POST", f"/meetings/{meeting_id}/delete", json={})
    register(watch.runtime)
    async with transaction(watch.runtime.sessions) as session:
        await watch.runtime.webhooks._handlers[fired["event"]["event"]](
            session, fired["event"]["payload"]
        )
    await drain(watch.mirror, watch.clock)
    (meeting,) = [m for m in watch.sandbox.meetings() if m["topic"] == "Planning"]
    new_id = meeting["id"]
    assert new_id != meeting_id

    # Someone edits the event (a new title) right after linkzoom read it: the If-Match PUT
    # answers 412, and the link goes into their version.
    relink, edited = caldav_source._relink, list[bool]()

    def edit_first(calendar: Any, **link: Any) -> bool:
        if not edited:
            edited.append(True)
            foreign = ical(uid, START, location=f"Room 4, {old_link}").replace(
                "SUMMARY:Planning", "SUMMARY:Planning (moved to room 4)"
            )
            watch.calendar.add_event(foreign)
        return relink(calendar, **link)

    monkeypatch.setattr(caldav_source, "_relink", edit_first)
    await watch.poll()
    stored = watch.calendar.get_event_by_uid(uid).icalendar_component
    assert edited and str(stored["SUMMARY"]) == "Planning (moved to room 4)"
    assert str(stored["LOCATION"]).startswith("Room 4, ") and f"/j/{new_id}" in str(
        stored["LOCATION"]
    )
    assert old_link not in str(stored["LOCATION"])
    assert str(stored["X-LINKZOOM-EVENT"]) == "dav-relink"
    # The next sync brings their rename (one Zoom update) with our write; then all is still.
    await watch.poll()
    assert (watch.meeting(new_id) or {})["topic"] == "Planning (moved to room 4)"
    calls = watch.sandbox.calls()
    await watch.poll()
    assert watch.sandbox.calls() == calls


@pytest.mark.one_database
async def test_a_wrong_password_is_reported_and_the_secret_is_sealed(watch: DavWatch) -> None:
    async with transaction(watch.runtime.sessions) as session:
        row = await session.scalar(
            select(WatchedMailbox).where(WatchedMailbox.id == watch.mailbox_id)
        )
        assert row is not None and row.secret is not None and PASSWORD.encode() not in row.secret
        await caldav_accounts.enrol(
            session, watch.runtime.sealer, username="alice", url=watch.url, login="alice",
            password="not-the-password", actor="test", now=watch.clock(),
        )  # fmt: skip
    polled = await watch.watcher().poll_due()
    assert [p.status for p in polled] == [mailboxes.ERROR]
    async with transaction(watch.runtime.sessions) as session:
        row = await session.scalar(
            select(WatchedMailbox).where(WatchedMailbox.id == watch.mailbox_id)
        )
    assert row is not None and row.last_error == "The CalDAV server refused the calendar's login."
    assert await watch.source.check(watch.url) == row.last_error


@pytest.mark.one_database
async def test_two_workers_share_calendars_and_apply_each_change_once(
    runtime: Runtime, sandbox: SandboxProcess, clock: FakeClock, radicale: RadicaleServer,
    tmp_path: Path,
) -> None:  # fmt: skip
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    urls, meetings = [], {}
    # Three calendars: three creates and three updates are the sandbox's daily writes per user.
    for n in range(3):
        url = radicale.make_calendar("alice", f"shared-{n}-{id(runtime)}")
        answer = await mirror.service.put(
            user_id=user_id, event_key=f"k{n}", event=event(START, 60)
        )
        assert answer.binding.confirmed is not None
        meetings[n] = answer.binding.confirmed.meeting_id
        radicale.calendar("alice", url).add_event(
            ical(f"k{n}@tests", START, marker=f"k{n}", location=answer.binding.confirmed.join_url)
        )
        async with transaction(runtime.sessions) as session:
            await caldav_accounts.enrol(
                session, runtime.sealer, username="alice", url=url, login="alice",
                password=PASSWORD, actor="test", now=clock(),
            )  # fmt: skip
        urls.append(url)
    source = CaldavSource(Logins(runtime.sessions, runtime.sealer))

    def worker(owner: str) -> MailboxWatcher:
        return MailboxWatcher(
            sessions=runtime.sessions, calendar=mirror.service, readers={CALDAV: source},
            clock=clock, owner=owner, poll_interval=timedelta(minutes=1), batch=2,
        )  # fmt: skip

    try:
        first = await worker("w1").poll_due() + await worker("w2").poll_due()
        assert sorted(p.mailbox_id for p in first) == sorted(set(p.mailbox_id for p in first))
        assert len(first) == 3
        advance(sandbox, clock, seconds=61)  # every calendar due again
        for n, url in enumerate(urls):
            radicale.calendar("alice", url).add_event(
                ical(f"k{n}@tests", START + timedelta(hours=n + 1), marker=f"k{n}")
            )
        import asyncio

        polled = await asyncio.gather(worker("w1").poll_due(), worker("w2").poll_due())
        assert sum(p.applied for batch in polled for p in batch) == 3  # each change once
        assert {p.mailbox_id for batch in polled for p in batch} == {p.mailbox_id for p in first}
        advance(sandbox, clock, seconds=3)
        await drain(mirror, clock)
        starts = {m["id"]: m["start_time"] for m in sandbox.meetings()}
        assert [starts.get(meetings[n]) for n in range(3)] == [
            f"2026-12-07T{10 + n:02d}:00:00Z" for n in range(3)
        ]
    finally:
        source.close()


@pytest.mark.one_database
async def test_a_read_only_calendar_is_still_watched_and_its_link_left_alone(
    runtime: Runtime,
    sandbox: SandboxProcess,
    clock: FakeClock,
    radicale: RadicaleServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    align_clocks(sandbox, clock)
    user_id = await link_user(runtime, sandbox, "alice")
    mirror = mirror_of(runtime)
    answer = await mirror.service.put(user_id=user_id, event_key="ro", event=event(START, 60))
    assert answer.binding.confirmed is not None
    meeting_id, link = answer.binding.confirmed.meeting_id, answer.binding.confirmed.join_url
    url = radicale.seed_calendar(
        "alice", f"ro-{id(runtime)}", {"ro": ical("ro@tests", START, marker="ro", location=link)}
    )
    async with transaction(runtime.sessions) as session:
        mailbox_id = await caldav_accounts.enrol(
            session, runtime.sealer, username="alice", url=url, login="alice",
            password=PASSWORD, actor="test", now=clock(),
        )  # fmt: skip
    source = CaldavSource(Logins(runtime.sessions, runtime.sealer))
    watch = DavWatch(
        runtime=runtime, mirror=mirror, sandbox=sandbox, clock=clock, radicale=radicale,
        source=source, user_id=user_id, url=url, mailbox_id=mailbox_id,
    )  # fmt: skip
    try:
        assert await watch.poll() == 1
        register(runtime)
        fired = sandbox.control("POST", f"/meetings/{meeting_id}/delete", json={})
        async with transaction(runtime.sessions) as session:
            await runtime.webhooks._handlers[fired["event"]["event"]](
                session, fired["event"]["payload"]
            )
        await drain(mirror, clock)
        await watch.poll()  # the PUT is refused (403): the poll is still fine
        sent: list[str] = []
        original = DAVClient.request

        def counting(self: Any, url: str, method: str = "GET", *args: Any, **kwargs: Any) -> Any:
            sent.append(method)
            return original(self, url, method, *args, **kwargs)

        monkeypatch.setattr(DAVClient, "request", counting)
        await watch.poll()
        assert sent == ["REPORT"]  # refused once: not tried again for this link
        stored = watch.calendar.get_event_by_uid("ro@tests").icalendar_component
        assert str(stored["LOCATION"]) == link  # as it was: the server would not take the new one
        async with transaction(runtime.sessions) as session:
            row = await session.scalar(
                select(WatchedMailbox).where(WatchedMailbox.id == mailbox_id)
            )
        assert row is not None and row.status == mailboxes.OK and row.last_error is None
    finally:
        source.close()
