"""Values of the calendar mirror: what the calendar wants, and what Zoom last confirmed.

Everything is in Zoom's terms already (meeting types, minutes, UTC instants, IANA zones), so
:mod:`linkzoom.calendar.reconcile` compares like with like. All datetimes are aware and in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from linkzoom.calendar.rrule import Rule
from linkzoom.zoom.models import Recurrence

SCHEDULED, NO_FIXED_TIME, RECURRING = 2, 3, 8  # Zoom meeting types we make
# Values of ``recurrence_mapping``: Zoom holds the whole series, a rolling window of it, or one
# meeting with no fixed time.
EXACT, WINDOW_MAPPING, NO_FIXED_TIME_MAPPING = "exact", "window", "no-fixed-time"

# Binding status as the add-in sees it.
SYNCED, PENDING, FAILED, DELETING = "synced", "pending", "failed", "deleting"


@dataclass(frozen=True, kw_only=True)
class Series:
    """The meeting proper: its topic and timing. ``start`` is ``None`` for type 3 (no fixed
    time), ``recurrence`` is set for type 8 only."""

    topic: str
    type: int
    start: datetime | None
    duration: int
    timezone: str
    recurrence: Recurrence | None = None


@dataclass(frozen=True, kw_only=True)
class OccurrenceEdit:
    """One occurrence of a recurring event the calendar changed: cancelled (EXDATE, or an
    override with STATUS:CANCELLED) or moved (a RECURRENCE-ID override). ``original_start`` is
    the instant the rule generates, which is how Zoom's occurrence is found."""

    original_start: datetime
    cancelled: bool = False
    start: datetime | None = None
    duration: int | None = None


@dataclass(frozen=True, kw_only=True)
class Window:
    """A series longer than one Zoom meeting: its rule and first start (UTC), from which
    :mod:`linkzoom.calendar.rolling` places the meeting's occurrences at any time."""

    rule: Rule
    first: datetime


@dataclass(frozen=True, kw_only=True)
class Desired:
    """What the calendar wants at Zoom. ``deleted``: no meeting at all (toggle off, event gone).
    ``mapping`` is ``exact``, ``window`` or ``no-fixed-time`` for recurring events, else
    ``None``, with the ``reason`` for the latter two. With a ``window``, ``series`` holds its
    current place: the start and number of the occurrences Zoom has now."""

    series: Series
    edits: tuple[OccurrenceEdit, ...] = ()
    deleted: bool = False
    mapping: str | None = None
    reason: str | None = None
    window: Window | None = None


@dataclass(frozen=True, kw_only=True)
class KnownOccurrence:
    """An occurrence of a type-8 meeting as Zoom has it; ``original_start`` is where the series
    put it before any edit (Zoom's list shows only where it is now)."""

    occurrence_id: str
    original_start: datetime
    start: datetime
    duration: int
    deleted: bool = False


@dataclass(frozen=True, kw_only=True)
class Confirmed:
    """What Zoom last told us about the meeting, or what it accepted since.

    ``occurrences`` is ``None`` when Zoom regenerated them (their ids are new and unknown).
    ``stale`` means Zoom may have changed since (a webhook, an ambiguous failure): fetch first,
    but not before ``stale_until`` (a change whose answer was lost may still be on its way, and
    a look before it lands would be believed and then overtaken).
    """

    meeting_id: int
    join_url: str
    series: Series
    occurrences: tuple[KnownOccurrence, ...] | None = None
    stale: bool = False
    stale_until: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class InDoubt:
    """A create that may have reached Zoom: its ``marker`` (written into the meeting's agenda),
    the topic it was sent with, when it was sent, and from when on a search that does not find
    it proves that it never arrived (the request can no longer be on its way)."""

    marker: str
    topic: str
    sent_at: datetime
    conclusive_at: datetime
