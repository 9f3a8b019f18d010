"""The compose API over real sockets: the service and the Zoom sandbox as processes, on both
databases. Each call, each error a user can act on, time zones across DST, HTML escaping,
ownership, and the bodies the sandbox received checked against Zoom's spec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.e2e.compose_support import (
    COMPOSE,
    assert_spec_valid,
    live_meetings,
    problem_code,
    sandbox_meeting,
    sql,
    zoom_requests,
)
from tests.e2e.conftest import Deployment
from tests.e2e.test_secrets_never_leak import database_text

DAILY_LIMIT = 6
ZOOM_DAILY_429 = {
    "code": 429,
    "message": "You have exceeded the daily rate limit (100) of Meeting Create/Update API requests "
    "permitted for this particular user. You may resume these requests at GMT 00:00:00.",
}


@pytest.fixture
def deployment_env() -> dict[str, str]:
    return {"LINKZOOM_ZOOM_DAILY_WRITE_LIMIT": str(DAILY_LIMIT)}


def linked(deployment: Deployment, name: str) -> httpx.Client:
    api = deployment.login(name)
    done = deployment.link_zoom(api, f"{name}@zoom.test")
    assert done.status_code == 200, done.text
    return api


def local_time(instant: str, zone: str) -> str:
    """The invitation's time line, computed independently of the service."""
    local = datetime.fromisoformat(instant).astimezone(ZoneInfo(zone))
    label = local.tzname() or ""
    if not label.isalpha():
        offset = local.utcoffset() or timedelta()
        minutes = int(offset.total_seconds() // 60)
        label = f"UTC{'+' if minutes >= 0 else '-'}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return f"{local:%b} {local.day}, {local.year} {local:%I:%M %p} {zone} ({label})"


def next_dst_change(zone: str, after: datetime) -> datetime:
    """The first instant after ``after`` at which ``zone``'s UTC offset changes."""
    tz, moment = ZoneInfo(zone), after.replace(minute=0, second=0, microsecond=0)
    offset = moment.astimezone(tz).utcoffset()
    while moment.astimezone(tz).utcoffset() == offset:
        moment += timedelta(hours=1)
    return moment


def test_create_sent_and_discard(deployment: Deployment) -> None:
    alice = linked(deployment, "alice")
    deployment.control("DELETE", "/requests")
    topic = '<img src=x onerror="alert(1)"> & Q3 <b>review</b>'
    created = alice.post(COMPOSE, json={"topic": topic, "timezone": "Europe/Berlin"})
    assert created.status_code == 201, created.text
    assert created.headers["cache-control"] == "no-store"
    body = created.json()
    assert set(body) == {
        "id",
        "zoom_meeting_id",
        "join_url",
        "passcode",
        "start_time",
        "duration_minutes",
        "timezone",
        "invitation",
    }
    started = datetime.fromisoformat(body["start_time"])
    assert abs(datetime.now(UTC) - started) < timedelta(seconds=30)
    assert (body["timezone"], body["duration_minutes"]) == ("Europe/Berlin", 30)

    # What Zoom holds: a scheduled meeting starting now, recipients may join before the host.
    at_zoom = sandbox_meeting(deployment, body["zoom_meeting_id"])
    assert at_zoom["type"] == 2 and at_zoom["topic"] == topic
    assert at_zoom["start_time"] == body["start_time"] and at_zoom["timezone"] == "Europe/Berlin"
    assert at_zoom["password"] == body["passcode"]
    # (the control API renders URLs under its own /_sandbox prefix)
    assert at_zoom["join_url"].replace("/_sandbox/", "/") == body["join_url"]
    settings = at_zoom["settings"]
    assert (settings["join_before_host"], settings["jbh_time"], settings["waiting_room"]) == (
        True,
        0,
        False,
    )

    # The invitation: everything typed is escaped in HTML, verbatim in text; the block is marked.
    html, text = body["invitation"]["html"], body["invitation"]["text"]
    assert "<img" not in html and "<b>" not in html
    assert (
        "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; &amp; Q3 &lt;b&gt;review&lt;/b&gt;" in html
    )
    assert f'data-linkzoom-meeting="{body["id"]}"' in html and f"Topic: {topic}\n" in text
    assert f"Time: {local_time(body['start_time'], 'Europe/Berlin')}\n" in text
    digits = str(body["zoom_meeting_id"])
    assert f"Meeting ID: {digits[:3]} {digits[3:7]} {digits[7:]}" in text
    assert (
        f"Passcode: {body['passcode']}" in text and f"Passcode: {at_zoom['pstn_password']}" in text
    )
    assert f",,{digits}#,,,,*{at_zoom['pstn_password']}#" in text  # one tap mobile
    assert "Dial by your location\n• +1 212 555 0100 US (New York)" in text

    # Recorded locally, without passcode or start URL.
    ((state, origin, zoom_id, join_url, sent_at),) = sql(
        deployment,
        "SELECT state, origin, zoom_meeting_id, join_url, sent_at FROM compose_meetings",
    )
    assert (state, origin, zoom_id, join_url, sent_at) == (
        "active",
        "compose",
        body["zoom_meeting_id"],
        body["join_url"],
        None,
    )

    # Sent a moment later: within five minutes, nothing moves and no quota is spent.
    meeting = f"{COMPOSE}/{body['id']}"
    soon = alice.post(f"{meeting}/sent")
    assert soon.status_code == 200 and soon.json()["moved"] is False
    assert soon.json()["start_time"] == body["start_time"]
    assert not zoom_requests(deployment, "PATCH")
    # Scheduled to go out in an hour: the start moves; a repeat changes nothing more.
    later = (started + timedelta(hours=1)).isoformat()
    moved = alice.post(f"{meeting}/sent", json={"sent_at": later})
    assert moved.status_code == 200 and moved.json()["moved"] is True
    assert moved.json()["start_time"] == (started + timedelta(hours=1)).isoformat().replace(
        "+00:00", "Z"
    )
    assert alice.post(f"{meeting}/sent", json={"sent_at": later}).json()["moved"] is False
    assert alice.post(f"{meeting}/sent").json()["moved"] is False
    (patch,) = zoom_requests(deployment, "PATCH")
    assert patch["json"] == {"start_time": moved.json()["start_time"], "timezone": "Europe/Berlin"}
    assert sandbox_meeting(deployment, zoom_id)["start_time"] == moved.json()["start_time"]

    # Another user sees no such meeting, and cannot touch it.
    bob = linked(deployment, "bob")
    for attempt in (bob.post(f"{meeting}/sent"), bob.delete(meeting)):
        assert attempt.status_code == 404 and problem_code(attempt) == "not-found"
    assert not sandbox_meeting(deployment, zoom_id)["deleted"]

    # Discarded: deleted at Zoom without cancellation e-mails; a repeat is harmless.
    assert alice.delete(meeting).status_code == 204
    assert sandbox_meeting(deployment, zoom_id)["deleted"]
    (deleted,) = zoom_requests(deployment, "DELETE")
    assert deleted["query"] == {
        "schedule_for_reminder": "false",
        "cancel_meeting_reminder": "false",
    }
    assert alice.delete(meeting).status_code == 204
    assert len(zoom_requests(deployment, "DELETE")) == 1
    assert alice.post(f"{meeting}/sent").status_code == 404

    # No body at all: the default topic; a meeting deleted at Zoom meanwhile is still "done".
    plain = alice.post(COMPOSE)
    assert plain.status_code == 201 and plain.json()["timezone"] == "UTC"
    assert "Topic: Zoom meeting — alice\n" in plain.json()["invitation"]["text"]
    deployment.control("POST", f"/meetings/{plain.json()['zoom_meeting_id']}/delete", json={})
    assert alice.delete(f"{COMPOSE}/{plain.json()['id']}").status_code == 204
    assert live_meetings(deployment) == []

    assert assert_spec_valid(deployment) == 3  # two creates and one update
    # The start URL (it logs in as the host) is neither logged nor stored; nor is a passcode.
    zaks = deployment.control("GET", "/secrets")["start_url_zaks"]
    assert len(zaks) == 2
    for process in deployment.services:
        process.stop()
    logs = "".join(p.output() for p in deployment.services)
    assert "compose meeting created" in logs
    stored = database_text(deployment)
    for secret in [*zaks, body["passcode"], plain.json()["passcode"]]:
        assert secret not in logs and not any(secret.encode() in blob for blob in stored)


def test_errors_a_user_can_act_on(deployment: Deployment) -> None:
    anonymous = httpx.post(deployment.service_url + COMPOSE, json={})
    assert anonymous.status_code == 401 and problem_code(anonymous) == "not-authenticated"

    # Not linked: 409 with a one-time link that leads through Zoom consent.
    bob = deployment.login("bob")
    unlinked = bob.post(COMPOSE, json={})
    assert unlinked.status_code == 409 and problem_code(unlinked) == "zoom-not-linked"
    assert unlinked.json()["authorize_url"].startswith(
        deployment.service_url + "/oauth/zoom/start?ticket="
    )

    alice = linked(deployment, "alice")
    invalid = alice.post(COMPOSE, json={"duration_minutes": 0, "timezone": "Mars/Olympus_Mons"})
    assert invalid.status_code == 422 and problem_code(invalid) == "validation-failed"
    assert [e["field"] for e in invalid.json()["errors"]] == ["duration_minutes", "timezone"]
    assert (
        alice.post(
            COMPOSE, content=b"[1]", headers={"content-type": "application/json"}
        ).status_code
        == 422
    )
    made = alice.post(COMPOSE, json={}).json()
    naive = alice.post(f"{COMPOSE}/{made['id']}/sent", json={"sent_at": "2026-03-08T09:30:00"})
    assert naive.status_code == 422 and naive.json()["errors"][0]["field"] == "sent_at"

    # Zoom down (every attempt answers 503): a clear 503, and no meeting appears.
    deployment.control(
        "POST",
        "/faults",
        json={"method": "POST", "path_regex": "^/v2/users/[^/]+/meetings$", "status": 503},
    )
    down = alice.post(COMPOSE, json={})
    assert down.status_code == 503 and problem_code(down) == "zoom-unavailable"
    assert "nothing was added" in down.json()["detail"]
    deployment.control("DELETE", "/faults")
    assert len(live_meetings(deployment)) == 1

    # Zoom's own daily cap (a 429 without rate-limit type, told apart by its message): 429 with
    # Retry-After until 00:00 UTC, and linkzoom stops asking Zoom for the rest of the day.
    deployment.control(
        "POST",
        "/faults",
        json={
            "method": "PATCH",
            "path_regex": "^/v2/meetings/",
            "status": 429,
            "body": ZOOM_DAILY_429,
            "headers": {"X-RateLimit-Category": "Light", "X-RateLimit-Limit": "6000"},
        },
    )
    capped = alice.post(f"{COMPOSE}/{made['id']}/sent", json={"sent_at": _in(hours=2)})
    assert capped.status_code == 429 and problem_code(capped) == "zoom-rate-limited"
    _assert_resets_at_midnight(capped)
    creates = len(zoom_requests(deployment, "POST", r"/meetings$"))
    again = alice.post(COMPOSE, json={})
    assert again.status_code == 429 and "00:00 UTC" in again.json()["detail"]
    assert len(zoom_requests(deployment, "POST", r"/meetings$")) == creates

    # The yearly re-consent is due: 409 with a link, for compose as for everything else.
    carol = linked(deployment, "carol")
    sql(
        deployment,
        "UPDATE zoom_grants SET reauthorize_by = :past WHERE user_id = "
        "(SELECT id FROM users WHERE username = 'carol')",
        past=datetime.now(UTC) - timedelta(days=1),
    )
    lapsed = carol.post(COMPOSE, json={})
    assert lapsed.status_code == 409 and problem_code(lapsed) == "reauthorization-required"
    assert lapsed.json()["authorize_url"].startswith(deployment.service_url + "/oauth/zoom/")
    carol = linked(deployment, "carol")  # consents again

    # linkzoom's own count of the daily cap (LINKZOOM_ZOOM_DAILY_WRITE_LIMIT): the call that
    # would pass it is never sent.
    # The refused 409 above spent nothing: a user who must reconnect is stopped before the
    # daily count (regression: it used to cost one of the day's writes).
    for _ in range(DAILY_LIMIT):
        assert carol.post(COMPOSE, json={}).status_code == 201
    creates = len(zoom_requests(deployment, "POST", r"/meetings$"))
    over = carol.post(COMPOSE, json={})
    assert over.status_code == 429 and problem_code(over) == "zoom-rate-limited"
    _assert_resets_at_midnight(over)
    assert len(zoom_requests(deployment, "POST", r"/meetings$")) == creates

    # An administrator switches Zoom off: every compose call answers 403.
    sql(deployment, "UPDATE app_settings SET value = 'false' WHERE key = 'zoom.enabled'")
    for response in (
        alice.post(COMPOSE, json={}),
        alice.post(f"{COMPOSE}/{made['id']}/sent"),
        alice.delete(f"{COMPOSE}/{made['id']}"),
    ):
        assert response.status_code == 403 and problem_code(response) == "feature-disabled"
    assert assert_spec_valid(deployment) >= DAILY_LIMIT + 1


def _in(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).isoformat()


def _assert_resets_at_midnight(response: httpx.Response) -> None:
    now = datetime.now(UTC)
    midnight = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    retry_after = int(response.headers["retry-after"])
    assert abs((now + timedelta(seconds=retry_after)) - midnight) < timedelta(seconds=60)
    assert "resets at" in response.json()["detail"] and "00:00 UTC" in response.json()["detail"]


@pytest.mark.one_database
def test_time_zones_across_a_dst_change(deployment: Deployment) -> None:
    alice = linked(deployment, "alice")
    sql(deployment, "UPDATE users SET timezone = 'America/New_York' WHERE username = 'alice'")
    from_profile = alice.post(COMPOSE, json={}).json()
    from_request = alice.post(COMPOSE, json={"timezone": "Australia/Sydney"}).json()
    bob = linked(deployment, "bob")
    fallback = bob.post(COMPOSE, json={}).json()
    for made, zone in (
        (from_profile, "America/New_York"),
        (from_request, "Australia/Sydney"),
        (fallback, "UTC"),
    ):
        assert made["timezone"] == zone
        assert sandbox_meeting(deployment, made["zoom_meeting_id"])["timezone"] == zone
        if zone != "UTC":
            assert f"Time: {local_time(made['start_time'], zone)}\n" in made["invitation"]["text"]
    assert "Time: " in fallback["invitation"]["text"] and " UTC\n" in fallback["invitation"]["text"]

    # Sent (scheduled) for just after New York's next clock change, and for just before
    # Sydney's: the instants reach Zoom exactly, with the zones unchanged.
    now = datetime.now(UTC)
    for made, zone, shift in (
        (from_profile, "America/New_York", timedelta(minutes=30)),
        (from_request, "Australia/Sydney", -timedelta(minutes=30)),
    ):
        moment = next_dst_change(zone, now) + shift
        local = moment.astimezone(ZoneInfo(zone)).isoformat()  # sent with the local offset
        answer = alice.post(f"{COMPOSE}/{made['id']}/sent", json={"sent_at": local})
        assert answer.status_code == 200 and answer.json()["moved"] is True
        expected = moment.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert answer.json()["start_time"] == expected
        at_zoom = sandbox_meeting(deployment, made["zoom_meeting_id"])
        assert (at_zoom["start_time"], at_zoom["timezone"]) == (expected, zone)
    patches = zoom_requests(deployment, "PATCH")
    assert [p["json"]["timezone"] for p in patches] == ["America/New_York", "Australia/Sydney"]
    assert all(p["json"]["start_time"].endswith("Z") for p in patches)
    assert assert_spec_valid(deployment) == 5


def test_a_retried_press_with_its_idempotency_key_makes_one_meeting(
    deployment: Deployment,
) -> None:
    api = linked(deployment, "bob")
    key = {"idempotency-key": "a3f1c2e4-press"}
    first = api.post(COMPOSE, json={"topic": "Retry me"}, headers=key)
    again = api.post(COMPOSE, json={"topic": "Retry me"}, headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert [m["topic"] for m in live_meetings(deployment)] == ["Retry me"]
    other = api.post(COMPOSE, json={"topic": "Something else"}, headers=key)
    assert other.status_code == 422 and problem_code(other) == "validation-failed"
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    # The kept answer holds the passcode, sealed: never in the clear in any column or file.
    passcode = first.json()["passcode"]
    assert passcode and not any(passcode.encode() in blob for blob in database_text(deployment))


@pytest.mark.one_database
def test_zoom_daily_refusal_lasts_until_the_instant_zoom_names(deployment: Deployment) -> None:
    """Zoom's Retry-After is the authority: not the next 00:00 UTC when it names another time."""
    bob = linked(deployment, "bob")
    until = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    deployment.control(
        "POST",
        "/faults",
        json={
            "method": "POST",
            "path_regex": r"/meetings$",
            "status": 429,
            "body": ZOOM_DAILY_429,
            "headers": {"Retry-After": until.strftime("%a, %d %b %Y %H:%M:%S GMT")},
            "count": 1,
        },
    )
    capped = bob.post(COMPOSE, json={})
    assert capped.status_code == 429 and problem_code(capped) == "zoom-rate-limited"
    assert datetime.fromisoformat(capped.json()["retry_at"].replace("Z", "+00:00")) == until
    creates = len(zoom_requests(deployment, "POST", r"/meetings$"))
    again = bob.post(COMPOSE, json={})
    assert again.status_code == 429
    assert datetime.fromisoformat(again.json()["retry_at"].replace("Z", "+00:00")) == until
    assert len(zoom_requests(deployment, "POST", r"/meetings$")) == creates  # Zoom not asked
