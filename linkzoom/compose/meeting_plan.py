"""The pure core of compose: what meeting to ask for, when ``sent`` moves it, which meeting at
Zoom a lost create made. No I/O; the clock and the organisation's defaults are arguments, and
everything but :func:`new_passcode` (which draws from :mod:`secrets`) is deterministic.
"""

from __future__ import annotations

import functools
import secrets
import string
import zoneinfo
from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, datetime, timedelta

from linkzoom.compose.models import Attempt, ComposeOrder, MeetingPlan, SentPlan
from linkzoom.zoom.meeting_defaults import MeetingDefaults
from linkzoom.zoom.models import MeetingSummary
from linkzoom.zoom.text import clean_text, fit

DEFAULT_TOPIC = "Zoom meeting"
# Each move spends one of the user's 100 daily Zoom writes, so a few minutes' drift between the
# compose click and the send is left alone: recipients can join before the host anyway.
SENT_TOLERANCE = timedelta(minutes=5)
PASSCODE_LENGTH = 10  # Zoom's maximum
_PASSCODE_ALPHABET = string.ascii_letters + string.digits
# Clocks differ a little between Zoom and us; a lost create's meeting is made within moments.
_CREATED_EARLIEST = timedelta(minutes=5)
_CREATED_LATEST = timedelta(minutes=30)
# Names in the zone database that are not places a person lives in.
_NOT_A_ZONE = frozenset({"localtime", "Factory", "posixrules"})


def topic_for(requested: str | None, display_name: str) -> str:
    """The user's topic, else "Zoom meeting — {display name}", as one line within Zoom's limit."""
    topic = clean_text(requested or "")
    if not topic:
        name = clean_text(display_name)
        topic = f"{DEFAULT_TOPIC} — {name}" if name else DEFAULT_TOPIC
    return fit(topic)


@functools.cache
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones() - _NOT_A_ZONE)


def is_time_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time zone (``Europe/Berlin``, ``UTC``) this host knows."""
    return name in _zones()


def resolve_timezone(requested: str | None, profile: str | None) -> str:
    """The request's zone, else the user's profile zone, else UTC. ``requested`` has been
    validated already; a profile zone this host does not know is passed over, not an error."""
    for candidate in (requested, profile):
        if candidate and is_time_zone(candidate):
            return candidate
    return "UTC"


def new_passcode() -> str:
    """Ten letters and digits with at least one of each: Zoom's longest passcode, and one that
    meets the usual account rules (letters and numbers required)."""
    while True:
        code = "".join(secrets.choice(_PASSCODE_ALPHABET) for _ in range(PASSCODE_LENGTH))
        if any(c.isdigit() for c in code) and any(c.isalpha() for c in code):
            return code


def meeting_plan(
    order: ComposeOrder,
    *,
    defaults: MeetingDefaults,
    display_name: str,
    profile_timezone: str | None,
    now: datetime,
    passcode: str | None,
) -> MeetingPlan:
    """The meeting for ``order``: starting ``now`` (to the second, as Zoom keeps it), in the
    user's zone, with the organisation's defaults. ``passcode`` is used when policy wants one.
    Zoom turns join-before-host off whenever the waiting room is on; the plan says so too."""
    return MeetingPlan(
        topic=topic_for(order.topic, display_name),
        start_time=now.astimezone(UTC).replace(microsecond=0),
        duration_minutes=order.duration_minutes or defaults.duration_minutes,
        timezone=resolve_timezone(order.timezone, profile_timezone),
        passcode=passcode if defaults.passcode else None,
        join_before_host=defaults.join_before_host and not defaults.waiting_room,
        waiting_room=defaults.waiting_room,
        mute_upon_entry=defaults.mute_upon_entry,
    )


def plan_sent(
    *, start: datetime, requested: datetime | None, recorded: datetime | None, now: datetime
) -> SentPlan:
    """Where a ``sent`` call leaves the meeting.

    ========================  ==================  ==========================================
    sent_at in the call       already recorded    then
    ========================  ==================  ==========================================
    absent                    yes                 nothing: a retry of the same notice
    absent                    no                  sent now
    given                     either              sent then (the client knows best)
    ========================  ==================  ==========================================

    The start moves to the send time only when the two differ by more than
    :data:`SENT_TOLERANCE`; so a repeated call, having moved it once, moves nothing.
    """
    if requested is None and recorded is not None:
        return SentPlan(move_to=None, sent_at=recorded)
    sent_at = (requested or now).astimezone(UTC).replace(microsecond=0)
    moved = abs(sent_at - start) > SENT_TOLERANCE
    return SentPlan(move_to=sent_at if moved else None, sent_at=sent_at)


def match_orphans(
    attempts: Sequence[Attempt], listed: Iterable[MeetingSummary], *, known: Collection[int]
) -> dict[str, int]:
    """Pair each lost create with the meeting Zoom made for it: ``{attempt id: Zoom id}``.

    A meeting matches when it is a scheduled meeting (type 2) that no row of ours holds yet,
    with exactly the topic and start second that attempt sent, created by Zoom around the
    attempt. Other meetings of the user's never match, so nothing the user made elsewhere is
    ever touched. Each meeting answers one attempt and each attempt one meeting (two identical
    lost attempts each claim one of two identical meetings, oldest first).
    """
    candidates = [
        m for m in listed if m.type == 2 and m.id not in known and m.created_at is not None
    ]
    matched: dict[str, int] = {}
    taken: set[int] = set()
    for attempt in sorted(attempts, key=lambda a: (a.attempted_at, a.id)):
        for meeting in candidates:
            if meeting.id in taken or not _made_by(attempt, meeting):
                continue
            matched[attempt.id] = meeting.id
            taken.add(meeting.id)
            break
    return matched


def _made_by(attempt: Attempt, meeting: MeetingSummary) -> bool:
    created = meeting.created_at
    return (
        meeting.topic == attempt.topic
        and meeting.start_time == attempt.start_time
        and created is not None
        and attempt.attempted_at - _CREATED_EARLIEST
        <= created
        <= attempt.attempted_at + _CREATED_LATEST
    )
