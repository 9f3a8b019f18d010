"""RFC 5545 RRULE values, parsed into a typed :class:`Rule` (pure).

Parsing is strict about syntax (a malformed rule is the caller's mistake and reported as such)
and neutral about meaning: every well-formed rule parses, whether or not Zoom can express it;
:mod:`linkzoom.calendar.recurrence` decides that. ``X-`` parts are ignored, as RFC 5545 allows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

FREQUENCIES = ("SECONDLY", "MINUTELY", "HOURLY", "DAILY", "WEEKLY", "MONTHLY", "YEARLY")
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index = Python's date.weekday()
_BYDAY = re.compile(r"([+-]?\d{1,2})?(MO|TU|WE|TH|FR|SA|SU)")
_NUMBER = re.compile(r"[+-]?\d{1,3}")
# Allowed magnitudes of the numeric BYxxx parts (RFC 5545 §3.3.10) and whether a sign is allowed.
_NUMERIC_PARTS: dict[str, tuple[int, int, bool]] = {
    "BYSECOND": (0, 60, False),
    "BYMINUTE": (0, 59, False),
    "BYHOUR": (0, 23, False),
    "BYMONTHDAY": (1, 31, True),
    "BYYEARDAY": (1, 366, True),
    "BYWEEKNO": (1, 53, True),
    "BYMONTH": (1, 12, False),
    "BYSETPOS": (1, 366, True),
}


class RuleError(ValueError):
    """The text is not a well-formed RRULE; the message says what is wrong."""


@dataclass(frozen=True, kw_only=True)
class Rule:
    """One RRULE. ``until`` is a date, an aware UTC datetime, or a naive (floating) datetime,
    as written; weekdays are 0 = Monday … 6 = Sunday, with an optional ordinal (``2TU``)."""

    freq: str
    interval: int = 1
    count: int | None = None
    until: date | datetime | None = None
    byday: tuple[tuple[int | None, int], ...] = ()
    bymonthday: tuple[int, ...] = ()
    bysetpos: tuple[int, ...] = ()
    bymonth: tuple[int, ...] = ()
    byyearday: tuple[int, ...] = ()
    byweekno: tuple[int, ...] = ()
    byhour: tuple[int, ...] = ()
    byminute: tuple[int, ...] = ()
    bysecond: tuple[int, ...] = ()
    wkst: int = 0


def parse_rule(text: str) -> Rule:
    """Parse ``FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10`` (an ``RRULE:`` prefix is tolerated)."""
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if not body:
        raise RuleError("the rule is empty")
    parts: dict[str, str] = {}
    for item in body.split(";"):
        name, sep, value = item.partition("=")
        name = name.strip().upper()
        if not sep or not name or not value.strip():
            raise RuleError(f"{item!r} is not NAME=VALUE")
        if name.startswith("X-"):
            continue
        if name in parts:
            raise RuleError(f"{name} appears twice")
        parts[name] = value.strip().upper()
    return _build(parts)


def _build(parts: dict[str, str]) -> Rule:
    freq = parts.pop("FREQ", None)
    if freq not in FREQUENCIES:
        raise RuleError("FREQ is required: one of " + ", ".join(FREQUENCIES))
    interval = _positive(parts.pop("INTERVAL", "1"), "INTERVAL")
    count = _positive(parts.pop("COUNT"), "COUNT") if "COUNT" in parts else None
    until = _until(parts.pop("UNTIL")) if "UNTIL" in parts else None
    if count is not None and until is not None:
        raise RuleError("COUNT and UNTIL cannot both be given")
    byday = (
        tuple(_weekday(item) for item in parts.pop("BYDAY").split(",")) if "BYDAY" in parts else ()
    )
    wkst = parts.pop("WKST", "MO")
    if wkst not in WEEKDAYS:
        raise RuleError(f"WKST {wkst!r} is not a weekday")
    numbers = {
        name: tuple(_bounded(v, name, low, high, signed) for v in parts.pop(name).split(","))
        for name, (low, high, signed) in _NUMERIC_PARTS.items()
        if name in parts
    }
    if parts:
        raise RuleError(f"unknown rule part {sorted(parts)[0]}")
    return Rule(
        freq=freq,
        interval=interval,
        count=count,
        until=until,
        byday=byday,
        bymonthday=numbers.get("BYMONTHDAY", ()),
        bysetpos=numbers.get("BYSETPOS", ()),
        bymonth=numbers.get("BYMONTH", ()),
        byyearday=numbers.get("BYYEARDAY", ()),
        byweekno=numbers.get("BYWEEKNO", ()),
        byhour=numbers.get("BYHOUR", ()),
        byminute=numbers.get("BYMINUTE", ()),
        bysecond=numbers.get("BYSECOND", ()),
        wkst=WEEKDAYS.index(wkst),
    )


def _positive(text: str, name: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise RuleError(f"{name} must be a positive integer")
    return int(text)


def _bounded(text: str, name: str, low: int, high: int, signed: bool) -> int:
    text = text.strip()
    if not _NUMBER.fullmatch(text) or (not signed and text[0] in "+-"):
        raise RuleError(f"{name} value {text!r} is not a number")
    value = int(text)
    if not low <= abs(value) <= high or (value < 0 and not signed):
        raise RuleError(f"{name} value {value} is out of range")
    return value


def _weekday(text: str) -> tuple[int | None, int]:
    match = _BYDAY.fullmatch(text.strip())
    if match is None:
        raise RuleError(f"BYDAY value {text!r} is not a weekday like MO or 2TU")
    ordinal = int(match.group(1)) if match.group(1) else None
    if ordinal is not None and not 1 <= abs(ordinal) <= 53:
        raise RuleError(f"BYDAY ordinal {ordinal} is out of range")
    return ordinal, WEEKDAYS.index(match.group(2))


def _until(text: str) -> date | datetime:
    try:
        if len(text) == 8:
            return datetime.strptime(text, "%Y%m%d").date()
        if text.endswith("Z"):
            return datetime.strptime(text, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        return datetime.strptime(text, "%Y%m%dT%H%M%S")
    except ValueError:
        raise RuleError(f"UNTIL {text!r} is not a date or date-time") from None


def format_rule(rule: Rule) -> str:
    """The rule as RFC 5545 text, which :func:`parse_rule` reads back as the same rule (how a
    rolling window keeps its series' rule in the database)."""
    parts = [f"FREQ={rule.freq}"]
    if rule.interval != 1:
        parts.append(f"INTERVAL={rule.interval}")
    if rule.count is not None:
        parts.append(f"COUNT={rule.count}")
    if rule.until is not None:
        parts.append("UNTIL=" + _format_until(rule.until))
    if rule.byday:
        days = (f"{'' if n is None else n}{WEEKDAYS[d]}" for n, d in rule.byday)
        parts.append("BYDAY=" + ",".join(days))
    for name in _NUMERIC_PARTS:
        values: tuple[int, ...] = getattr(rule, name.lower())
        if values:
            parts.append(f"{name}=" + ",".join(str(v) for v in values))
    parts.append(f"WKST={WEEKDAYS[rule.wkst]}")
    return ";".join(parts)


def _format_until(until: date | datetime) -> str:
    if not isinstance(until, datetime):
        return until.strftime("%Y%m%d")
    if until.tzinfo is None:
        return until.strftime("%Y%m%dT%H%M%S")
    return until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
