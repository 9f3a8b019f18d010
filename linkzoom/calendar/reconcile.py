"""The calendar mirror's pure core: ``plan(desired, confirmed, in_doubt, now) -> actions``.

Theory of operation
-------------------
A binding holds two pictures of one Zoom meeting: what the calendar wants (:class:`Desired`,
replaced wholesale by every PUT and DELETE) and what Zoom last confirmed (:class:`Confirmed`,
changed only by Zoom's answers). Nothing remembers *which* edits happened. The reconciler is
level-triggered: it compares the two pictures and asks for the calls that make Zoom's equal to
the calendar's. Five quick edits are therefore one difference and one call; an edit that puts
the event back where Zoom has it is no difference and no call; a crash loses nothing, because
both pictures are in the database and the next pass compares again. Only changed fields are sent.

Three facts need more than a comparison.

* **A create whose answer was lost** (``InDoubt``): Zoom may have made the meeting. We never
  create again before looking: every create carries a marker in its agenda, and ``FindLost``
  searches the user's meetings for it. Not finding it proves nothing while the request may still
  be on its way (until ``InDoubt.conclusive_at``); only a look after that is conclusive.
* **Zoom may have changed** (a webhook said so; a call failed in a way that leaves Zoom's state
  unknown; or a PATCH was answered only after the client's timeout, so the client had sent it
  again and the first copy may still land): ``Confirmed.stale``. We ``Fetch`` before anything
  else; then the calendar wins. After a lost answer we ``Wait`` first, until the unanswered
  request can no longer arrive: a look before it lands would be believed, then silently
  overtaken by it (a late PATCH that renumbers occurrences undoes a later occurrence delete).
* **Zoom regenerates a recurring meeting's occurrences** (new ids, per-occurrence changes lost)
  whenever its start, time zone or recurrence changes, and it wants all three together when the
  start changes. So a series change sends all three and forgets the occurrences; if the calendar
  has changed occurrences, ``Fetch`` learns the new ids and the changes are applied again, one
  occurrence call each. Zoom cannot restore a deleted occurrence; regenerating is the only way.

Each answer from Zoom updates ``Confirmed``; the runner stores it and plans again, until the plan
is empty. A binding's state is derived, never stored:

=========  ==========================  ==================================  ===================
state      meaning                     calendar wants a meeting            calendar wants none
=========  ==========================  ==================================  ===================
IN_DOUBT   a create may have reached   FindLost: found -> LIVE; not found  FindLost, as left
           Zoom, answer unknown        and conclusive -> ABSENT; else wait
ABSENT     no meeting at Zoom          Create -> LIVE (IN_DOUBT if the     Forget (row removed)
                                       answer is lost)
STALE      Zoom may differ from what   Wait (a lost answer may still       Delete -> ABSENT
           we last saw                 land), then Fetch -> LIVE (ABSENT
                                       if Zoom says it is gone)
LIVE       Zoom has what we last saw   Update / occurrence calls -> LIVE   Delete -> ABSENT
                                       (ABSENT if gone); equal: nothing
=========  ==========================  ==================================  ===================
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from linkzoom.calendar.models import (
    RECURRING,
    SCHEDULED,
    Confirmed,
    Desired,
    InDoubt,
    KnownOccurrence,
    OccurrenceEdit,
    Series,
)
from linkzoom.zoom.models import MeetingRequest


class State(enum.Enum):
    IN_DOUBT = "in doubt"
    ABSENT = "absent"
    STALE = "stale"
    LIVE = "live"


@dataclass(frozen=True, kw_only=True)
class Create:
    series: Series


@dataclass(frozen=True, kw_only=True)
class FindLost:
    in_doubt: InDoubt
    conclusive: bool


@dataclass(frozen=True, kw_only=True)
class Fetch:
    meeting_id: int


@dataclass(frozen=True, kw_only=True)
class Update:
    """PATCH the meeting with ``request`` (only what differs); Zoom then has ``series``."""

    meeting_id: int
    request: MeetingRequest
    series: Series
    regenerates: bool


@dataclass(frozen=True, kw_only=True)
class UpdateOccurrence:
    meeting_id: int
    occurrence_id: str
    start: datetime | None = None
    duration: int | None = None


@dataclass(frozen=True, kw_only=True)
class DeleteOccurrence:
    meeting_id: int
    occurrence_id: str


@dataclass(frozen=True, kw_only=True)
class Delete:
    meeting_id: int


@dataclass(frozen=True, kw_only=True)
class Wait:
    """Nothing to do before ``until``."""

    until: datetime


@dataclass(frozen=True, kw_only=True)
class Forget:
    """Nothing is left at Zoom and the calendar wants nothing: drop the binding."""


Action = (
    Create
    | FindLost
    | Fetch
    | Update
    | UpdateOccurrence
    | DeleteOccurrence
    | Delete
    | Forget
    | Wait
)


@dataclass(frozen=True, kw_only=True)
class _Facts:
    desired: Desired
    confirmed: Confirmed | None
    in_doubt: InDoubt | None
    now: datetime


def state_of(confirmed: Confirmed | None, in_doubt: InDoubt | None) -> State:
    if in_doubt is not None:
        return State.IN_DOUBT
    if confirmed is None:
        return State.ABSENT
    return State.STALE if confirmed.stale else State.LIVE


def plan(
    desired: Desired, confirmed: Confirmed | None, in_doubt: InDoubt | None, now: datetime
) -> tuple[Action, ...]:
    """The calls that bring Zoom to ``desired``, in order; empty when it is there."""
    facts = _Facts(desired=desired, confirmed=confirmed, in_doubt=in_doubt, now=now)
    return TRANSITIONS[state_of(confirmed, in_doubt), not desired.deleted](facts)


def _find_lost(facts: _Facts) -> tuple[Action, ...]:
    assert facts.in_doubt is not None
    conclusive = facts.now >= facts.in_doubt.conclusive_at
    return (FindLost(in_doubt=facts.in_doubt, conclusive=conclusive),)


def _create(facts: _Facts) -> tuple[Action, ...]:
    return (Create(series=facts.desired.series),)


def _forget(facts: _Facts) -> tuple[Action, ...]:
    return (Forget(),)


def _fetch(facts: _Facts) -> tuple[Action, ...]:
    confirmed = facts.confirmed
    assert confirmed is not None
    if confirmed.stale_until is not None and facts.now < confirmed.stale_until:
        return (Wait(until=confirmed.stale_until),)
    return (Fetch(meeting_id=confirmed.meeting_id),)


def _delete(facts: _Facts) -> tuple[Action, ...]:
    assert facts.confirmed is not None
    return (Delete(meeting_id=facts.confirmed.meeting_id),)


def _converge(facts: _Facts) -> tuple[Action, ...]:
    confirmed = facts.confirmed
    assert confirmed is not None
    update = series_update(confirmed.meeting_id, facts.desired.series, confirmed.series)
    if update is not None:
        # Occurrence work waits for the next round: the series call may renumber occurrences.
        return (update,)
    if facts.desired.series.type != RECURRING:
        return ()
    return _occurrences(facts.desired, confirmed, facts.now)


TRANSITIONS: dict[tuple[State, bool], Callable[[_Facts], tuple[Action, ...]]] = {
    (State.IN_DOUBT, True): _find_lost,
    (State.IN_DOUBT, False): _find_lost,
    (State.ABSENT, True): _create,
    (State.ABSENT, False): _forget,
    (State.STALE, True): _fetch,
    (State.STALE, False): _delete,
    (State.LIVE, True): _converge,
    (State.LIVE, False): _delete,
}


def series_update(meeting_id: int, want: Series, have: Series) -> Update | None:
    """The PATCH that turns ``have`` into ``want``, sending only what differs (a recurring
    meeting's start, time zone and recurrence go together, as Zoom requires)."""
    if want == have:
        return None
    retyped = want.type != have.type
    timing = (want.start, want.timezone, want.recurrence) != (
        have.start,
        have.timezone,
        have.recurrence,
    )
    recurring = want.type == RECURRING and (timing or retyped)
    start_sent = want.type == SCHEDULED and (want.start != have.start or retyped)
    request = MeetingRequest(
        topic=want.topic if want.topic != have.topic else None,
        type=want.type if retyped else None,
        start_time=want.start if recurring or start_sent else None,
        duration=want.duration if want.duration != have.duration else None,
        timezone=want.timezone if recurring or want.timezone != have.timezone else None,
        recurrence=want.recurrence if recurring else None,
    )
    return Update(meeting_id=meeting_id, request=request, series=want, regenerates=recurring)


def regenerate(meeting_id: int, series: Series) -> Update:
    """Send the series again so Zoom rebuilds every occurrence (restores deleted ones)."""
    request = MeetingRequest(
        start_time=series.start, timezone=series.timezone, recurrence=series.recurrence
    )
    return Update(meeting_id=meeting_id, request=request, series=series, regenerates=True)


def _occurrences(desired: Desired, confirmed: Confirmed, now: datetime) -> tuple[Action, ...]:
    series = desired.series
    length = timedelta(minutes=series.duration)
    edits = {e.original_start: e for e in desired.edits if e.original_start + length > now}
    known = confirmed.occurrences
    if known is None:
        return (Fetch(meeting_id=confirmed.meeting_id),) if edits else ()
    upcoming = [o for o in known if o.original_start + length > now]
    restore = [o for o in upcoming if o.deleted and not _cancelled(edits.get(o.original_start))]
    # Zoom cannot undelete an occurrence; regenerating can, but only before the series starts
    # (Zoom ignores a past start_time on a recurring meeting, and we would ask forever).
    if restore and series.start is not None and series.start > now:
        return (regenerate(confirmed.meeting_id, series),)
    actions: list[Action] = []
    for occurrence in upcoming:
        action = _occurrence_action(confirmed.meeting_id, occurrence, edits, series)
        if action is not None:
            actions.append(action)
    return tuple(actions)


def _cancelled(edit: OccurrenceEdit | None) -> bool:
    return edit is not None and edit.cancelled


def _occurrence_action(
    meeting_id: int,
    occurrence: KnownOccurrence,
    edits: dict[datetime, OccurrenceEdit],
    series: Series,
) -> Action | None:
    edit = edits.get(occurrence.original_start)
    if edit is not None and edit.cancelled:
        if occurrence.deleted:
            return None
        return DeleteOccurrence(meeting_id=meeting_id, occurrence_id=occurrence.occurrence_id)
    if occurrence.deleted:
        return None  # could not be restored (see _occurrences)
    start = edit.start if edit is not None and edit.start is not None else None
    start = start or occurrence.original_start
    duration = edit.duration if edit is not None and edit.duration is not None else None
    duration = duration or series.duration
    if (start, duration) == (occurrence.start, occurrence.duration):
        return None
    return UpdateOccurrence(
        meeting_id=meeting_id,
        occurrence_id=occurrence.occurrence_id,
        start=start if start != occurrence.start else None,
        duration=duration if duration != occurrence.duration else None,
    )
