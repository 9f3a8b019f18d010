"""Exchange's recurrence patterns as RFC 5545 RRULEs (pure).

EWS ([MS-OXWSCAL] ``RecurrenceType``) and Microsoft Graph (``patternedRecurrence``) describe a
series the same way, in different spellings: a pattern (daily, weekly, absolute or relative
monthly and yearly) and a range (an end date, a number of occurrences, or none). Each source
spells its own into a :class:`Pattern`; this module writes the RRULE once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAILY, WEEKLY = "daily", "weekly"
ABSOLUTE_MONTHLY, RELATIVE_MONTHLY = "absoluteMonthly", "relativeMonthly"
ABSOLUTE_YEARLY, RELATIVE_YEARLY = "absoluteYearly", "relativeYearly"
_YEARLY = (ABSOLUTE_YEARLY, RELATIVE_YEARLY)


class NotMirrorable(ValueError):
    """The item cannot become a meeting as it stands (e.g. a task-style regenerating rule)."""


@dataclass(frozen=True, kw_only=True)
class Pattern:
    """``days``: RRULE weekday codes; a relative pattern with several (Outlook's "weekday",
    "weekend day", "day") means the ``index``-th of that set, which RRULE writes with BYSETPOS.
    ``index``: 1 to 4, or -1 for the last."""

    kind: str
    interval: int = 1
    days: tuple[str, ...] = ()
    first_day: str = "SU"
    day_of_month: int | None = None
    month: int | None = None
    index: int | None = None
    until: date | None = None
    count: int | None = None


def rrule_of(pattern: Pattern) -> str:
    kind = pattern.kind
    if kind == DAILY:
        parts = ["FREQ=DAILY"]
    elif kind == WEEKLY:
        parts = ["FREQ=WEEKLY", "BYDAY=" + ",".join(pattern.days), "WKST=" + pattern.first_day]
    elif kind == ABSOLUTE_MONTHLY:
        parts = ["FREQ=MONTHLY", f"BYMONTHDAY={pattern.day_of_month}"]
    elif kind == RELATIVE_MONTHLY:
        parts = ["FREQ=MONTHLY", *_relative(pattern)]
    elif kind == ABSOLUTE_YEARLY:
        parts = ["FREQ=YEARLY", f"BYMONTH={pattern.month}", f"BYMONTHDAY={pattern.day_of_month}"]
    elif kind == RELATIVE_YEARLY:
        parts = ["FREQ=YEARLY", f"BYMONTH={pattern.month}", *_relative(pattern)]
    else:
        raise NotMirrorable(f"the recurrence pattern {kind} has no calendar equivalent")
    # A yearly pattern's interval is in months in EWS and ignored by Outlook: every year.
    if pattern.interval > 1 and kind not in _YEARLY:
        parts.append(f"INTERVAL={pattern.interval}")
    if pattern.until is not None:
        parts.append("UNTIL=" + pattern.until.strftime("%Y%m%d"))
    elif pattern.count is not None:
        parts.append(f"COUNT={pattern.count}")
    return ";".join(parts)


def _relative(pattern: Pattern) -> list[str]:
    if not pattern.days or pattern.index is None:
        raise NotMirrorable("a relative recurrence pattern names no day or no week")
    if len(pattern.days) > 1:
        return ["BYDAY=" + ",".join(pattern.days), f"BYSETPOS={pattern.index}"]
    return [f"BYDAY={pattern.index}{pattern.days[0]}"]
