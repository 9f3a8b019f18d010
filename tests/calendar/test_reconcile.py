"""plan(): the calls that bring Zoom to what the calendar wants, as tables."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from linkzoom.calendar.models import (
    Confirmed,
    Desired,
    InDoubt,
    KnownOccurrence,
    OccurrenceEdit,
    Series,
)
from linkzoom.calendar.reconcile import (
    Action,
    Create,
    Delete,
    DeleteOccurrence,
    Fetch,
    FindLost,
    Forget,
    State,
    Update,
    UpdateOccurrence,
    Wait,
    plan,
    regenerate,
    series_update,
    state_of,
)
from linkzoom.zoom.models import MeetingRequest, Recurrence

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
START = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
WEEKLY = Recurrence(type=2, repeat_interval=1, weekly_days="2", end_times=4)
SINGLE = Series(topic="Plan", type=2, start=START, duration=30, timezone="Europe/Berlin")
SERIES = replace(SINGLE, type=8, recurrence=WEEKLY)
LOOSE = replace(SINGLE, type=3, start=None)
DOUBT = InDoubt(
    marker="m" * 16, topic="Plan", sent_at=NOW, conclusive_at=NOW + timedelta(seconds=6)
)
ID = 123456789


def weeks(n: int) -> datetime:
    return START + timedelta(weeks=n)


def known(*changes: tuple[int, datetime | None, int | None, bool]) -> tuple[KnownOccurrence, ...]:
    """Four weekly occurrences; ``changes`` (index, start, duration, deleted) edit some."""
    items = {
        n: KnownOccurrence(
            occurrence_id=f"o{n}", original_start=weeks(n), start=weeks(n), duration=30
        )
        for n in range(4)
    }
    for n, start, duration, deleted in changes:
        items[n] = replace(
            items[n], start=start or items[n].start, duration=duration or 30, deleted=deleted
        )
    return tuple(items.values())


def confirmed(series: Series = SINGLE, **changes: object) -> Confirmed:
    base = Confirmed(meeting_id=ID, join_url="https://zoom.test/j/1", series=series)
    return replace(base, **changes)  # type: ignore[arg-type]


def want(series: Series = SINGLE, *edits: OccurrenceEdit, deleted: bool = False) -> Desired:
    return Desired(series=series, edits=edits, deleted=deleted)


def cancel(n: int) -> OccurrenceEdit:
    return OccurrenceEdit(original_start=weeks(n), cancelled=True)


def move(n: int, hours: int = 0, duration: int | None = None) -> OccurrenceEdit:
    return OccurrenceEdit(
        original_start=weeks(n),
        start=weeks(n) + timedelta(hours=hours) if hours else None,
        duration=duration,
    )


def patch(series: Series, regenerates: bool = False, **fields: object) -> Update:
    return Update(
        meeting_id=ID,
        request=MeetingRequest(**fields),  # type: ignore[arg-type]
        series=series,
        regenerates=regenerates,
    )


CASES: list[tuple[str, Desired, Confirmed | None, InDoubt | None, tuple[Action, ...]]] = [
    ("new event: create", want(), None, None, (Create(series=SINGLE),)),
    ("nothing wanted, nothing there: forget", want(deleted=True), None, None, (Forget(),)),
    (
        "create in doubt: look first",
        want(),
        None,
        DOUBT,
        (FindLost(in_doubt=DOUBT, conclusive=False),),
    ),
    (
        "in doubt and deleted: look first too",
        want(deleted=True),
        None,
        DOUBT,
        (FindLost(in_doubt=DOUBT, conclusive=False),),
    ),
    ("equal: nothing", want(), confirmed(), None, ()),
    ("toggle off: delete", want(deleted=True), confirmed(), None, (Delete(meeting_id=ID),)),
    ("stale: fetch first", want(), confirmed(stale=True), None, (Fetch(meeting_id=ID),)),
    (
        "stale and deleted: delete",
        want(deleted=True),
        confirmed(stale=True),
        None,
        (Delete(meeting_id=ID),),
    ),
    (
        "renamed: topic only",
        want(replace(SINGLE, topic="New")),
        confirmed(),
        None,
        (patch(replace(SINGLE, topic="New"), topic="New"),),
    ),
    (
        "moved: start only",
        want(replace(SINGLE, start=weeks(1))),
        confirmed(),
        None,
        (patch(replace(SINGLE, start=weeks(1)), start_time=weeks(1)),),
    ),
    (
        "longer: duration only",
        want(replace(SINGLE, duration=45)),
        confirmed(),
        None,
        (patch(replace(SINGLE, duration=45), duration=45),),
    ),
    (
        "other zone, same instant: zone only",
        want(replace(SINGLE, timezone="UTC")),
        confirmed(),
        None,
        (patch(replace(SINGLE, timezone="UTC"), timezone="UTC"),),
    ),
    (
        "becomes recurring: type, start, zone, recurrence",
        want(SERIES),
        confirmed(),
        None,
        (
            patch(
                SERIES,
                True,
                type=8,
                start_time=START,
                timezone="Europe/Berlin",
                recurrence=WEEKLY,
            ),
        ),
    ),
    (
        "series rule changed: start, zone and rule together",
        want(replace(SERIES, recurrence=replace(WEEKLY, end_times=6))),
        confirmed(SERIES, occurrences=known()),
        None,
        (
            patch(
                replace(SERIES, recurrence=replace(WEEKLY, end_times=6)),
                True,
                start_time=START,
                timezone="Europe/Berlin",
                recurrence=replace(WEEKLY, end_times=6),
            ),
        ),
    ),
    (
        "series renamed: no renumbering",
        want(replace(SERIES, topic="New")),
        confirmed(SERIES, occurrences=known()),
        None,
        (patch(replace(SERIES, topic="New"), topic="New"),),
    ),
    (
        "no longer expressible: no fixed time",
        want(LOOSE),
        confirmed(SERIES),
        None,
        (patch(LOOSE, type=3),),
    ),
    (
        "single again",
        want(SINGLE),
        confirmed(SERIES),
        None,
        (patch(SINGLE, type=2, start_time=START),),
    ),
    ("series without edits, ids unknown: nothing", want(SERIES), confirmed(SERIES), None, ()),
    (
        "edits, ids unknown: fetch",
        want(SERIES, cancel(1)),
        confirmed(SERIES),
        None,
        (Fetch(meeting_id=ID),),
    ),
    (
        "cancelled occurrence",
        want(SERIES, cancel(1)),
        confirmed(SERIES, occurrences=known()),
        None,
        (DeleteOccurrence(meeting_id=ID, occurrence_id="o1"),),
    ),
    (
        "moved and shortened occurrence, sent together",
        want(SERIES, move(2, hours=3, duration=20)),
        confirmed(SERIES, occurrences=known()),
        None,
        (
            UpdateOccurrence(
                meeting_id=ID, occurrence_id="o2", start=weeks(2) + timedelta(hours=3), duration=20
            ),
        ),
    ),
    (
        "edits already at Zoom: nothing",
        want(SERIES, cancel(1), move(2, hours=3)),
        confirmed(
            SERIES,
            occurrences=known(
                (1, None, None, True), (2, weeks(2) + timedelta(hours=3), None, False)
            ),
        ),
        None,
        (),
    ),
    (
        "move undone: back to where the series puts it",
        want(SERIES),
        confirmed(SERIES, occurrences=known((2, weeks(2) + timedelta(hours=3), 45, False))),
        None,
        (UpdateOccurrence(meeting_id=ID, occurrence_id="o2", start=weeks(2), duration=30),),
    ),
    (
        "cancellation undone: Zoom cannot undelete, so the series is sent again",
        want(SERIES),
        confirmed(SERIES, occurrences=known((1, None, None, True))),
        None,
        (regenerate(ID, SERIES),),
    ),
    (
        "series change first; occurrences wait for the next round",
        want(replace(SERIES, topic="New"), cancel(1)),
        confirmed(SERIES, occurrences=known()),
        None,
        (patch(replace(SERIES, topic="New"), topic="New"),),
    ),
]


@pytest.mark.parametrize(
    ("desired", "known_state", "in_doubt", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
def test_plan(
    desired: Desired,
    known_state: Confirmed | None,
    in_doubt: InDoubt | None,
    expected: tuple[Action, ...],
) -> None:
    assert plan(desired, known_state, in_doubt, NOW) == expected


def test_a_lost_create_is_conclusively_lost_only_after_its_window() -> None:
    (early,) = plan(want(), None, DOUBT, NOW + timedelta(seconds=5))
    (late,) = plan(want(), None, DOUBT, NOW + timedelta(seconds=6))
    assert early == FindLost(in_doubt=DOUBT, conclusive=False)
    assert late == FindLost(in_doubt=DOUBT, conclusive=True)


def test_after_a_lost_answer_zoom_is_looked_at_only_once_it_has_settled() -> None:
    until = NOW + timedelta(seconds=6)
    lost = confirmed(stale=True, stale_until=until)
    assert plan(want(), lost, None, NOW) == (Wait(until=until),)
    assert plan(want(), lost, None, until) == (Fetch(meeting_id=ID),)
    assert plan(want(deleted=True), lost, None, NOW) == (Delete(meeting_id=ID),)


def test_occurrences_already_over_are_left_alone() -> None:
    later = START + timedelta(weeks=1, hours=1)
    assert plan(want(SERIES, cancel(0)), confirmed(SERIES, occurrences=known()), None, later) == ()


def test_a_series_already_running_is_not_regenerated() -> None:
    running = START + timedelta(days=1)  # Zoom ignores a past start_time: we would loop
    state = confirmed(SERIES, occurrences=known((1, None, None, True)))
    assert plan(want(SERIES), state, None, running) == ()


@pytest.mark.parametrize(
    ("known_state", "in_doubt", "state"),
    [
        (None, None, State.ABSENT),
        (None, DOUBT, State.IN_DOUBT),
        (confirmed(), None, State.LIVE),
        (confirmed(stale=True), None, State.STALE),
    ],
)
def test_states(known_state: Confirmed | None, in_doubt: InDoubt | None, state: State) -> None:
    assert state_of(known_state, in_doubt) is state


series_values = st.builds(
    Series,
    topic=st.sampled_from(["A", "B"]),
    type=st.sampled_from([2, 3, 8]),
    start=st.sampled_from([START, weeks(1)]),
    duration=st.sampled_from([30, 60]),
    timezone=st.sampled_from(["Europe/Berlin", "UTC"]),
    recurrence=st.sampled_from([WEEKLY, replace(WEEKLY, end_times=9)]),
).map(
    lambda s: replace(
        s,
        start=None if s.type == 3 else s.start,
        recurrence=s.recurrence if s.type == 8 else None,
    )
)


@given(series_values, series_values)
def test_only_what_differs_is_sent(wanted: Series, have: Series) -> None:
    update = series_update(ID, wanted, have)
    if wanted == have:
        assert update is None
        return
    assert update is not None and update.series == wanted
    request = update.request
    assert (request.topic is not None) == (wanted.topic != have.topic)
    assert (request.duration is not None) == (wanted.duration != have.duration)
    assert (request.type is not None) == (wanted.type != have.type)
    timing_same = (wanted.start, wanted.timezone, wanted.recurrence) == (
        have.start,
        have.timezone,
        have.recurrence,
    )
    if wanted.type == 8:
        # Zoom renumbers occurrences on any timing change and wants the three together.
        sent = request.start_time is not None
        assert sent == (not timing_same or wanted.type != have.type) == update.regenerates
    elif wanted.type == 2:
        assert (request.start_time is not None) == (
            wanted.start != have.start or wanted.type != have.type
        )
        assert request.recurrence is None
    else:
        assert request.start_time is None and request.recurrence is None
    # Once Zoom has it, there is nothing more to send.
    assert plan(want(wanted), confirmed(wanted), None, NOW) == ()
