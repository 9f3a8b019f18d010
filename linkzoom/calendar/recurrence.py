"""From RFC 5545 recurrence to Zoom's ``recurrence`` object (pure).

Zoom repeats a type-8 meeting daily (every 1-90 days), weekly (every 1-12 weeks, on a set of
weekdays, weeks starting on Sunday) or monthly (every 1-3 months, on a day of the month or on
the 1st-4th or last given weekday), ending after at most 60 occurrences; it keeps the wall-clock
time in the meeting's own time zone. A rule maps *exactly* only when Zoom's occurrences are the
calendar's, instant for instant. The rule is read in the event's time zone, so ``BYDAY=MO`` means
Monday there, and Zoom gets that zone with the meeting.

A rule of Zoom's shape with no end, or with more than 60 occurrences, maps to a *window*: the
pattern without an end, which :mod:`linkzoom.calendar.rolling` gives the next (up to) 60
occurrences and moves on as they pass. Within the window Zoom's occurrences are again the
calendar's.

Month days 29-31 and 5th weekdays are Zoom's edge: RFC 5545 skips a month without that day,
and Zoom does not document what it does there. Such a rule maps exactly when no month of its
span lacks the day — every occurrence then falls in the month Zoom's interval steps to, and a 5th
weekday is that month's last — and falls back otherwise (``_every_month_has_it``). A series
longer than one meeting is checked over ``HORIZON`` occurrences, decades of months: its months
repeat every year, so that span meets every month it ever will, and a leap year's February.

Everything else maps to a recurring meeting with no fixed time (type 3), whose one link serves
every occurrence; that is never an error. It happens for: yearly and sub-daily rules; several
RRULEs, RDATE or EXRULE; intervals beyond Zoom's; BYMONTH/BYYEARDAY/BYWEEKNO/BYHOUR/BYMINUTE/
BYSECOND; several or negative month days; month days 29-31 and 5th weekdays whose span meets a
month without them; 2nd-to-last weekdays, several weekdays a month; a weekly rule whose ``WKST``
groups its days into weeks differently than Zoom's Sunday weeks; a DTSTART that is not
itself an occurrence of the rule (RFC 5545 counts it anyway; Zoom would skip it); and a
DTSTART at a time the clocks skip (``keeps_wall_clock``).

Counting and the DTSTART check use ``dateutil``'s RFC 5545 expansion; the mapping itself is
structural, and the tests prove it against dateutil for every rule Zoom can express.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, tzinfo
from itertools import islice
from typing import Literal

from dateutil import rrule as du

from linkzoom.calendar.rrule import Rule
from linkzoom.zoom.models import Recurrence

MAX_OCCURRENCES = 60
# Occurrences a month-edge rule is checked over when it is longer than one meeting: 33 years of
# a monthly rule (see the module docstring); a few milliseconds of dateutil.
HORIZON = 400
MAX_INTERVAL = {"DAILY": 90, "WEEKLY": 12, "MONTHLY": 3}
ZOOM_DAILY, ZOOM_WEEKLY, ZOOM_MONTHLY = 1, 2, 3
_SAFE_MONTH_DAY = 28  # every month has the days up to it
FIFTH = 5
_DATEUTIL_FREQ: dict[str, Literal[1, 2, 3]] = {"DAILY": 3, "WEEKLY": 2, "MONTHLY": 1}  # dateutil's


@dataclass(frozen=True, kw_only=True)
class Mapping:
    """The outcome: Zoom's recurrence (exact); its pattern without an end (``window``), with
    the reason; or ``None`` with the reason (no fixed time)."""

    recurrence: Recurrence | None
    reason: str | None = None
    window: bool = False

    @property
    def exact(self) -> bool:
        return self.recurrence is not None and not self.window


def _loose(reason: str) -> Mapping:
    return Mapping(recurrence=None, reason=reason)


def map_recurrence(rules: Sequence[Rule], *, start: datetime, extra_dates: bool = False) -> Mapping:
    """Map an event's rules; ``start`` is DTSTART, aware, in the event's own time zone;
    ``extra_dates`` says the event also has RDATE or EXRULE."""
    if extra_dates:
        return _loose("RDATE and EXRULE have no Zoom equivalent")
    if len(rules) != 1:
        return _loose("Zoom meetings follow one recurrence rule")
    return map_rule(rules[0], start=start)


def map_rule(rule: Rule, *, start: datetime) -> Mapping:
    """See the module docstring."""
    if rule.freq not in MAX_INTERVAL:
        return _loose(f"Zoom does not repeat {rule.freq.lower()}")
    if any(
        (rule.bymonth, rule.byyearday, rule.byweekno, rule.byhour, rule.byminute, rule.bysecond)
    ):
        return _loose("the rule filters by parts Zoom does not have")
    if rule.interval > MAX_INTERVAL[rule.freq]:
        return _loose(f"Zoom repeats {rule.freq.lower()} at most every {MAX_INTERVAL[rule.freq]}")
    # The shape first: only rules of Zoom's shapes are expanded, and those match often, so the
    # expansion is quick (a rule matching nothing would make dateutil search for millennia).
    shape = _shape(rule, start=start)
    if isinstance(shape, str):
        return _loose(shape)
    edge = _at_month_edge(rule, shape)
    limit = HORIZON if edge else MAX_OCCURRENCES + 1
    try:
        expansion = expand(rule, start=start, limit=limit)
        sunday_weeks = expansion
        if shape.type == ZOOM_WEEKLY and rule.interval > 1:
            sunday_weeks = expand(rule, start=start, limit=limit, wkst=du.SU.weekday)
    except (ValueError, OverflowError):  # dateutil refuses some valid-looking rules
        return _loose("the rule cannot be expanded")
    if not expansion or expansion[0] != start:
        return _loose("DTSTART is not an occurrence of the rule")
    if not keeps_wall_clock(start):
        return _loose("DTSTART is a time the clocks skip there (a daylight-saving change)")
    if sunday_weeks != expansion:
        return _loose("WKST groups the weekdays into weeks unlike Zoom's Sunday weeks")
    if edge and not _every_month_has_it(expansion, rule.interval):
        return _loose(
            "a month of the series has no such day, and Zoom does not document what it does then"
        )
    # A daily rule on some weekdays became weekly; its interval is 1 (checked in _shape).
    interval = rule.interval if rule.freq != "DAILY" or shape.type == ZOOM_DAILY else 1
    pattern = replace(shape, repeat_interval=interval)
    if len(expansion) > MAX_OCCURRENCES:
        endless = rule.count is None and rule.until is None
        length = "has no end" if endless else f"has more than {MAX_OCCURRENCES} occurrences"
        return Mapping(
            recurrence=pattern,
            window=True,
            reason=f"the series {length} and a Zoom meeting holds {MAX_OCCURRENCES}: Zoom has "
            "the next ones, moved on as they pass",
        )
    return Mapping(recurrence=replace(pattern, end_times=len(expansion)))


def keeps_wall_clock(moment: datetime) -> bool:
    """Whether ``moment``'s wall-clock time exists in its zone. Zoom takes a series' start as
    an instant and repeats the wall-clock time it reads there; a time the clocks skip (02:30
    on a spring-forward day) reads as another (03:30), which Zoom would then repeat."""
    back = moment.astimezone(UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) == moment.replace(tzinfo=None)


def _shape(rule: Rule, *, start: datetime) -> Recurrence | str:
    """Zoom's type and pattern for the rule (interval and end still to fill in), or why there
    is none."""
    ordinals = [n for n, _ in rule.byday if n is not None]
    if rule.freq == "DAILY":
        if rule.bymonthday or rule.bysetpos or ordinals:
            return "Zoom's daily meetings cannot be filtered"
        if not rule.byday:
            return Recurrence(type=ZOOM_DAILY)
        if rule.interval != 1:
            return "every n days on some weekdays has no Zoom form"
        return Recurrence(type=ZOOM_WEEKLY, weekly_days=_zoom_days(d for _, d in rule.byday))
    if rule.freq == "WEEKLY":
        if rule.bymonthday or rule.bysetpos or ordinals:
            return "Zoom's weekly meetings cannot be filtered that way"
        days = [d for _, d in rule.byday] or [start.weekday()]
        return Recurrence(type=ZOOM_WEEKLY, weekly_days=_zoom_days(days))
    return _monthly_shape(rule, start=start)


def _monthly_shape(rule: Rule, *, start: datetime) -> Recurrence | str:
    if rule.bymonthday:
        if rule.byday or rule.bysetpos or len(rule.bymonthday) != 1:
            return "Zoom's monthly meetings fall on one day of the month"
        return _month_day(rule.bymonthday[0])
    if not rule.byday:
        return _month_day(start.day)
    if len(rule.byday) != 1 or len(rule.bysetpos) > 1:
        return "Zoom's monthly meetings fall on one weekday of the month"
    ordinal, weekday = rule.byday[0]
    if (ordinal is None) == (not rule.bysetpos):
        return "Zoom's monthly weekday needs exactly one position (1st-4th or last)"
    position = ordinal if ordinal is not None else rule.bysetpos[0]
    if position not in (1, 2, 3, 4, 5, -1):
        return "Zoom's monthly weekday is the 1st, 2nd, 3rd, 4th or last"
    # A 5th weekday is the month's last one: exact where every month has five (checked later).
    week = -1 if position == FIFTH else position
    return Recurrence(type=ZOOM_MONTHLY, monthly_week=week, monthly_week_day=_zoom_day(weekday))


def _month_day(day: int) -> Recurrence | str:
    if not 1 <= day <= 31:
        return "Zoom's monthly meetings have no day counted from the end of the month"
    return Recurrence(type=ZOOM_MONTHLY, monthly_day=day)


def _at_month_edge(rule: Rule, shape: Recurrence) -> bool:
    """A monthly day some months lack: the 29th-31st, or a 5th weekday."""
    if shape.type != ZOOM_MONTHLY:
        return False
    fifth = any(n == FIFTH for n, _ in rule.byday) or FIFTH in rule.bysetpos
    return fifth or (shape.monthly_day or 0) > _SAFE_MONTH_DAY


def _every_month_has_it(expansion: Sequence[datetime], interval: int) -> bool:
    """Whether the k-th occurrence falls in the month ``k * interval`` after the first: RFC
    5545 skipped no month for lacking the day, so Zoom never meets such a month either."""
    first = expansion[0].year * 12 + expansion[0].month
    return all(
        moment.year * 12 + moment.month == first + k * interval
        for k, moment in enumerate(expansion)
    )


def _zoom_day(weekday: int) -> int:
    """Python's weekday (0 = Monday) as Zoom's (1 = Sunday … 7 = Saturday)."""
    return (weekday + 1) % 7 + 1


def _zoom_days(weekdays: Iterable[int]) -> str:
    days = {_zoom_day(d) for d in weekdays}
    return ",".join(str(d) for d in sorted(days))


def expand(rule: Rule, *, start: datetime, limit: int, wkst: int | None = None) -> list[datetime]:
    """The rule's first ``limit`` occurrences (RFC 5545, via dateutil), aware in ``start``'s
    zone. An UNTIL that is a date or a floating time is read in that zone, inclusively."""
    return list(islice(_rrule(rule, start=start, wkst=wkst), limit))


def expand_from(rule: Rule, *, start: datetime, after: datetime, limit: int) -> list[datetime]:
    """The first ``limit`` occurrences at or after ``after`` (an aware instant), as
    :func:`expand` gives them. dateutil walks there from DTSTART: about 2 ms a year of a daily
    rule."""
    return list(islice(_rrule(rule, start=start).xafter(after, inc=True), limit))


def _rrule(rule: Rule, *, start: datetime, wkst: int | None = None) -> du.rrule:
    zone = start.tzinfo
    assert zone is not None, "start must be aware"
    return du.rrule(
        _DATEUTIL_FREQ[rule.freq],
        dtstart=start,
        interval=rule.interval,
        count=rule.count,
        until=_until(rule.until, zone),
        wkst=rule.wkst if wkst is None else wkst,
        byweekday=[du.weekday(d, n) for n, d in rule.byday] or None,
        bymonthday=rule.bymonthday or None,
        bysetpos=rule.bysetpos or None,
    )


def _until(until: date | datetime | None, zone: tzinfo) -> datetime | None:
    if until is None:
        return None
    if not isinstance(until, datetime):
        return datetime.combine(until, time(23, 59, 59), tzinfo=zone)
    return until if until.tzinfo is not None else until.replace(tzinfo=zone)
