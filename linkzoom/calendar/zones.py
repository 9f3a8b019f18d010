"""Naming an event's time zone in IANA terms, which is what Zoom takes (pure).

Calendars name zones three ways: IANA names (``Europe/Berlin``), Windows names as Exchange sends
them (``W. Europe Standard Time``), and, in iCalendar, anything at all, as long as a VTIMEZONE
in the same object defines it (Outlook writes display names such as ``(UTC+01:00) Amsterdam,
Berlin…``; Lotus writes ``/mozilla.org/…/Europe/Berlin``). For the last kind we look for the IANA
zone whose offsets agree with the definition, day by day, around the event.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, tzinfo
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

from linkzoom.calendar.windows_zones import WINDOWS_TO_IANA

_COMPARE_DAYS = 366  # half a year either side of the event: both DST changes


@cache
def _iana_names() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _windows_names() -> dict[str, str]:
    return {name.casefold(): zone for name, zone in WINDOWS_TO_IANA.items()}


def named_zone(name: str) -> ZoneInfo | None:
    """The IANA zone a name stands for (IANA, Windows, or a path ending in an IANA name)."""
    text = name.strip().strip('"')
    if text in _iana_names():
        return ZoneInfo(text)
    windows = _windows_names().get(text.casefold())
    if windows is not None:
        return ZoneInfo(windows)
    segments = [s for s in text.split("/") if s]
    for first in range(1, max(len(segments) - 1, 1)):
        candidate = "/".join(segments[first:])
        if candidate in _iana_names():
            return ZoneInfo(candidate)
    return None


def zone_like(definition: tzinfo, around: datetime) -> ZoneInfo | None:
    """The IANA zone whose UTC offsets equal ``definition``'s within half a year of ``around``:
    compared daily, and hourly on the days the offset changes (so a change at 00:00 is told from
    one at 02:00). Windows' golden zones are tried first, so the answer is a familiar name."""
    first = around.astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    days = [first + timedelta(days=day - _COMPARE_DAYS // 2) for day in range(_COMPARE_DAYS)]
    daily = [day.astimezone(definition).utcoffset() for day in days]
    samples, wanted = list(days), list(daily)
    for index in range(len(days) - 1):
        if daily[index] != daily[index + 1]:
            hours = [days[index] + timedelta(hours=h) for h in range(1, 24)]
            samples += hours
            wanted += [moment.astimezone(definition).utcoffset() for moment in hours]
    quick = range(0, len(days), len(days) // 16)  # rule most candidates out cheaply
    for name in _candidates():
        zone = ZoneInfo(name)
        if any(samples[i].astimezone(zone).utcoffset() != wanted[i] for i in quick):
            continue
        if all(m.astimezone(zone).utcoffset() == w for m, w in zip(samples, wanted, strict=True)):
            return zone
    return None


@cache
def _candidates() -> tuple[str, ...]:
    golden = dict.fromkeys(WINDOWS_TO_IANA.values())
    return (*golden, *sorted(_iana_names() - golden.keys()))
