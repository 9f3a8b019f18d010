"""Chaos: 300 events edited at random while the Zoom sandbox fails 5 % of calls (errors, per-
second 429s, answers that arrive too late) and worker processes are killed with SIGKILL at
random moments and restarted. On PostgreSQL with two ``linkzoom worker`` processes beside
``linkzoom run`` (SQLite: one worker, when no PostgreSQL is configured). Afterwards every live
event has exactly one Zoom meeting, in the state the calendar last asked for; deleted events
have none; Zoom holds no meeting nobody wants.
"""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.calendar_support import (
    CalendarDeployment,
    linked_deployment,
    path,
    sql,
    wait_until,
)
from tests.support.databases import PostgresTemplates, SqliteTemplates, postgres_url

EVENTS = 300
CHAOS_SECONDS = 9  # long enough for several worker kills; the suite has a 10-minute budget
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
FAULTS = [  # about 5 % of all Zoom calls, evaluated in order
    {"path_regex": "^/v2/", "status": 503, "probability": 0.015},
    {"path_regex": "^/v2/", "status": 500, "probability": 0.01},
    {"path_regex": "^/v2/", "status": 429, "probability": 0.01},  # per-second limit
    # Zoom acts, but after our client (1.5 s timeout) stopped waiting: the answer is lost.
    {"path_regex": "^/v2/", "latency_ms": 2000, "probability": 0.015},
]


@pytest.fixture
def chaos(
    tmp_path_factory: pytest.TempPathFactory,
    sqlite_templates: SqliteTemplates,
    postgres_templates: PostgresTemplates | None,
) -> Iterator[CalendarDeployment]:
    backend = "postgresql" if postgres_url() else "sqlite"
    env = {
        "LINKZOOM_ZOOM_TIMEOUT_SECONDS": "1.5",
        "LINKZOOM_ZOOM_DAILY_WRITE_LIMIT": "100000",
        "LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT": "100000",
        "LINKZOOM_LOG_LEVEL": "WARNING",
    }
    yield from linked_deployment(
        backend,
        tmp_path_factory.mktemp("chaos"),
        sqlite_templates,
        postgres_templates,
        extra_env=env,
    )


class Calendar:
    """What the test asked for, per event: the last body the service accepted, or ``None``."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.wanted: dict[str, dict[str, Any] | None] = {}
        self.owner: dict[str, httpx.Client] = {}

    def new_body(self) -> dict[str, Any]:
        rng = self.random
        zone = rng.choice(["Europe/Berlin", "America/New_York", "Asia/Kolkata"])
        day = datetime(2027, 2, 1) + timedelta(days=rng.randrange(300))
        start = day.replace(hour=rng.randrange(7, 19), minute=rng.choice([0, 15, 30]))
        local = start.replace(tzinfo=ZoneInfo(zone))
        body: dict[str, Any] = {
            "subject": f"Chaos {rng.randrange(10**6)}",
            "start": local.isoformat(),
            "end": (local + timedelta(minutes=rng.choice([15, 30, 45, 60]))).isoformat(),
            "timezone": zone,
        }
        if rng.random() < 0.25:
            self.recurring(body)
        return body

    def recurring(self, body: dict[str, Any]) -> None:
        rng = self.random
        # Occurrences keep their wall-clock time in the event's zone, across DST changes.
        start = datetime.fromisoformat(body["start"]).astimezone(ZoneInfo(body["timezone"]))
        count = rng.randrange(3, 9)
        body["recurrence"] = f"FREQ=WEEKLY;BYDAY={WEEKDAYS[start.weekday()]};COUNT={count}"
        body["exdates"] = [
            (start + timedelta(weeks=n)).isoformat() for n in range(1, count) if rng.random() < 0.2
        ]

    def edited(self, body: dict[str, Any]) -> dict[str, Any]:
        rng = self.random
        changed = dict(body)
        start = datetime.fromisoformat(body["start"])
        end = datetime.fromisoformat(body["end"])
        choice = rng.randrange(4)
        if choice == 0:
            shift = timedelta(hours=rng.randrange(-3, 4), days=rng.randrange(0, 3))
            changed["start"], changed["end"] = (
                (start + shift).isoformat(),
                (end + shift).isoformat(),
            )
            if "recurrence" in changed:
                self.recurring(changed)
        elif choice == 1:
            changed["end"] = (start + timedelta(minutes=rng.choice([20, 40, 90]))).isoformat()
        elif choice == 2:
            changed["subject"] = f"Renamed {rng.randrange(10**6)}"
        elif "recurrence" in changed:
            changed.pop("recurrence")
            changed.pop("exdates", None)
        else:
            self.recurring(changed)
        return changed


def put(api: httpx.Client, key: str, body: dict[str, Any]) -> bool:
    """PUT as the add-in does: a create Zoom did not confirm is tried again a few times."""
    for _ in range(6):
        answer = api.put(path(key), json=body)
        if answer.status_code in (200, 201):
            return True
        assert answer.status_code in (429, 503), answer.text
        time.sleep(0.5)
    return False


def play(calendar: Calendar, key: str, api: httpx.Client, rng: random.Random) -> None:
    body = calendar.new_body()
    calendar.wanted[key] = body if put(api, key, body) else None
    for _ in range(rng.randrange(1, 4)):
        time.sleep(rng.choice([0.0, 0.05, 0.2, 0.5]))  # bursts and pauses
        current = calendar.wanted[key]
        if current is None:
            body = calendar.new_body()
            calendar.wanted[key] = body if put(api, key, body) else None
        elif rng.random() < 0.15:
            assert api.delete(path(key)).status_code in (202, 204)
            calendar.wanted[key] = None
        else:
            changed = calendar.edited(current)
            assert put(api, key, changed)
            calendar.wanted[key] = changed


def kill_workers(
    chaos: CalendarDeployment, stop: threading.Event, rng: random.Random, kills: list[int]
) -> None:
    while not stop.wait(rng.uniform(2.5, 5.0)):
        index = rng.randrange(len(chaos.workers))
        chaos.workers[index].stop(signal.SIGKILL)  # no goodbye: its leases must lapse
        kills.append(index)
        time.sleep(rng.uniform(0.1, 1.0))
        chaos.restart_worker(index, f"worker-{index}-{len(kills)}")


def expected_meeting(body: dict[str, Any]) -> dict[str, Any]:
    start = datetime.fromisoformat(body["start"])
    end = datetime.fromisoformat(body["end"])
    expected: dict[str, Any] = {
        "topic": body["subject"],
        "timezone": body["timezone"],
        "duration": int((end - start).total_seconds() // 60),
        "start_time": start.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "type": 2,
    }
    if "recurrence" in body:
        count = int(body["recurrence"].rsplit("=", 1)[1])
        expected |= {"type": 8, "occurrences": count - len(body.get("exdates", []))}
    return expected


def actual_meeting(meeting: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    found = {
        key: meeting.get(key) for key in ("topic", "timezone", "duration", "start_time", "type")
    }
    if expected["type"] == 8:
        found["occurrences"] = len(meeting["occurrences"])
    return found


def test_chaos(chaos: CalendarDeployment) -> None:
    workers = 2 if postgres_url() else 1
    for index in range(workers):
        chaos.start_worker(f"worker-{index}")
    # One Zoom account per user, so three per-second budgets.
    chaos.deployment.link_zoom(chaos.carol, "carol@chaos.test")
    chaos.deployment.link_zoom(chaos.bob, "bob@other.test")
    users = [chaos.alice, chaos.bob, chaos.carol]
    calendar = Calendar(seed=20261122)
    for rule in FAULTS:
        chaos.control("POST", "/faults", json=rule)

    stop, kills = threading.Event(), list[int]()
    killer = threading.Thread(target=kill_workers, args=(chaos, stop, random.Random(11), kills))
    killer.start()
    rng = random.Random(7)
    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            plays = [
                pool.submit(play, calendar, f"chaos-{n}", users[n % 3], random.Random(rng.random()))
                for n in range(EVENTS)
            ]
            for done in plays:
                done.result(timeout=120)
        remaining = CHAOS_SECONDS - (time.monotonic() - started)
        if remaining > 0:
            time.sleep(remaining)  # keep killing a little longer while the workers catch up
    finally:
        stop.set()
        killer.join()
    assert len(kills) >= 3
    fired = sum(f["fired"] for f in chaos.control("GET", "/faults")["faults"])
    chaos.control("DELETE", "/faults")

    def settled() -> bool:
        ((unsettled,),) = sql(
            chaos.deployment,
            "SELECT count(*) FROM calendar_bindings WHERE status != 'synced' "
            "OR in_doubt IS NOT NULL OR due_at IS NOT NULL",
        )
        return bool(unsettled == 0)

    try:
        wait_until(settled, timeout=60, what="every binding to settle")
    except AssertionError:
        rows = sql(
            chaos.deployment,
            "SELECT event_key, status, last_error, due_at, lease_owner, lease_until, "
            "in_doubt IS NOT NULL, attempts FROM calendar_bindings WHERE status != 'synced' "
            "OR in_doubt IS NOT NULL OR due_at IS NOT NULL",
        )
        raise AssertionError(f"{len(rows)} bindings never settled, e.g. {rows[:8]}") from None

    live = {key: body for key, body in calendar.wanted.items() if body is not None}
    meetings = {
        m["id"]: m for m in chaos.control("GET", "/meetings")["meetings"] if not m["deleted"]
    }
    owners = {f"chaos-{n}": users[n % 3] for n in range(EVENTS)}
    mirrored: list[int] = []
    for key, body in calendar.wanted.items():
        answer = owners[key].get(path(key))
        if body is None:
            assert answer.status_code == 404, (key, answer.text)
            continue
        assert answer.status_code == 200 and answer.json()["status"] == "synced", answer.text
        meeting_id = answer.json()["zoom_meeting_id"]
        expected = expected_meeting(body)
        if actual_meeting(meetings[meeting_id], expected) != expected:
            stored = sql(
                chaos.deployment,
                "SELECT desired, confirmed FROM calendar_bindings WHERE event_key = :key",
                key=key,
            )
            calls = [
                (r["time"], r["method"], r["query"], r["status"], r.get("json"))
                for r in chaos.control("GET", "/requests")["requests"]
                if r["path"].endswith(str(meeting_id))
            ]
            raise AssertionError(
                f"{key}: wanted {body}, expected {expected}, Zoom has "
                f"{actual_meeting(meetings[meeting_id], expected)}, stored {stored}, calls {calls}"
            )
        mirrored.append(meeting_id)
    assert len(mirrored) == len(set(mirrored)) == len(live)  # exactly one meeting each
    assert set(meetings) == set(mirrored)  # and no orphans at Zoom
    assert fired >= 20
