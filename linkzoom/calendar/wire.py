"""Calendar values to Zoom's request models and back (pure).

What Zoom confirms after a create or an update is what we sent (Zoom's echo may word the same
meeting differently); only a fetch replaces our picture with Zoom's own, and a fetch keeps what
we know that Zoom does not show: where each occurrence was before it was moved.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta

from linkzoom.calendar.models import RECURRING, SCHEDULED, Confirmed, KnownOccurrence, Series
from linkzoom.zoom.meeting_defaults import MeetingDefaults
from linkzoom.zoom.models import Meeting, MeetingRequest, MeetingSettings, Recurrence

_MARKER = re.compile(r"\[linkzoom:([A-Za-z0-9_-]{8,64})\]")


def agenda_for(marker: str) -> str:
    """The agenda of a meeting we create: says who keeps it, and carries the create's marker,
    by which a create whose answer was lost is found again."""
    return f"Zoom meeting of a calendar event, kept in step by linkzoom. [linkzoom:{marker}]"


def carries_marker(agenda: str | None, marker: str) -> bool:
    return agenda is not None and marker in _MARKER.findall(agenda)


def create_request(series: Series, *, marker: str, defaults: MeetingDefaults) -> MeetingRequest:
    return MeetingRequest(
        topic=series.topic,
        type=series.type,
        start_time=series.start if series.type in (SCHEDULED, RECURRING) else None,
        duration=series.duration,
        timezone=series.timezone,
        agenda=agenda_for(marker),
        default_password=defaults.passcode,
        recurrence=series.recurrence if series.type == RECURRING else None,
        settings=MeetingSettings(
            join_before_host=defaults.join_before_host,
            waiting_room=defaults.waiting_room,
            mute_upon_entry=defaults.mute_upon_entry,
        ),
    )


def created(meeting: Meeting, series: Series) -> Confirmed:
    """Zoom's answer to our create of ``series``."""
    occurrences = None
    if series.type == RECURRING:
        occurrences = tuple(
            KnownOccurrence(
                occurrence_id=o.occurrence_id,
                original_start=o.start_time,
                start=o.start_time,
                duration=o.duration,
            )
            for o in meeting.occurrences
        )
    return Confirmed(
        meeting_id=meeting.id,
        join_url=meeting.join_url,
        series=series,
        occurrences=occurrences,
    )


def series_of(meeting: Meeting) -> Series:
    """The meeting's series as Zoom shows it, normalised so equal meetings compare equal."""
    kind = meeting.type
    return Series(
        topic=meeting.topic,
        type=kind,
        start=meeting.start_time if kind in (SCHEDULED, RECURRING) else None,
        duration=meeting.duration or 0,
        timezone=meeting.timezone or "UTC",
        recurrence=normal(meeting.recurrence) if kind == RECURRING and meeting.recurrence else None,
    )


def normal(recurrence: Recurrence) -> Recurrence:
    """Only the fields that mean something for the recurrence's type, weekdays in order."""
    days = recurrence.weekly_days
    monthly = recurrence.type == 3
    by_week = monthly and recurrence.monthly_week is not None
    return Recurrence(
        type=recurrence.type,
        repeat_interval=recurrence.repeat_interval or 1,
        weekly_days=",".join(sorted(set(days.split(","))))
        if recurrence.type == 2 and days
        else None,
        monthly_day=recurrence.monthly_day if monthly and not by_week else None,
        monthly_week=recurrence.monthly_week if by_week else None,
        monthly_week_day=recurrence.monthly_week_day if by_week else None,
        end_times=recurrence.end_times if recurrence.end_date_time is None else None,
        end_date_time=recurrence.end_date_time,
    )


def fetched(meeting: Meeting, previous: Confirmed | None, now: datetime) -> Confirmed:
    """Zoom's own picture of the meeting, merged with what only we know (see module doc)."""
    series = series_of(meeting)
    known = (
        {}
        if previous is None or previous.occurrences is None
        else {o.occurrence_id: o for o in previous.occurrences}
    )
    if previous is not None and series.type == RECURRING == previous.series.type:
        originals = {o.original_start for o in known.values()}
        # Zoom may show a later occurrence as the series start; the series is unchanged.
        if series.start in originals and replace(series, start=previous.series.start) == (
            previous.series
        ):
            series = previous.series
    occurrences = None
    if series.type == RECURRING:
        occurrences = _occurrences(meeting, known, series.duration, now)
    return Confirmed(
        meeting_id=meeting.id,
        join_url=meeting.join_url,
        series=series,
        occurrences=occurrences,
    )


def _occurrences(
    meeting: Meeting, known: dict[str, KnownOccurrence], duration: int, now: datetime
) -> tuple[KnownOccurrence, ...]:
    listed = {o.occurrence_id: o for o in meeting.occurrences}
    if not known.keys() & listed.keys():
        known = {}  # Zoom renumbered them all: every occurrence is where the series puts it
    items = [
        KnownOccurrence(
            occurrence_id=o.occurrence_id,
            original_start=known[o.occurrence_id].original_start
            if o.occurrence_id in known
            else o.start_time,
            start=o.start_time,
            duration=o.duration,
        )
        for o in listed.values()
    ]
    length = timedelta(minutes=duration)
    # Zoom lists only occurrences not yet over; a known one that is missing was deleted.
    items += [
        replace(o, deleted=True)
        for key, o in known.items()
        if key not in listed and o.original_start + length > now
    ]
    return tuple(sorted(items, key=lambda o: o.original_start))
