"""The calendar mirror against public iCalendar test corpora: how each event would be mirrored.

Reads every ``.ics`` file the installed ``icalendar`` and ``recurring_ical_events`` packages ship
as test data (real-world producers: Outlook, Google, Apple, Thunderbird, Zimbra, odd and broken
ones; DST changes, EXDATE, moved occurrences), splits each into one iCalendar object per UID
(its VEVENTs and the VTIMEZONEs), as a CalDAV server stores them, and hands each to the
``text/calendar`` reader of ``PUT /calendar/events/…/zoom``. Counts, per object:

- *single*: an event without recurrence (a scheduled meeting);
- *exact*: a recurring event Zoom holds occurrence for occurrence (type 8);
- *window*: a series mirrored over a rolling window (not built yet: always 0);
- *fallback*: a recurring meeting with no fixed time (type 3), with the reason;
- *refused*: a 422, with the field it names;
- *unreadable*: files ``icalendar`` itself cannot parse (not ours to judge).

    .venv/bin/python bench/ical_corpus.py [--show-refused]
"""

from __future__ import annotations

import argparse
import collections
import sys
import warnings
from datetime import UTC, datetime
from importlib.util import find_spec
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import icalendar

from linkzoom.calendar.event import desired_from_event
from linkzoom.calendar.ical import event_from_ical
from linkzoom.calendar.models import NO_FIXED_TIME_MAPPING, WINDOW_MAPPING
from linkzoom.problems import Problem, ValidationFailed

# When the events are read: it places the window of a series longer than one Zoom meeting.
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

CORPORA = [("icalendar", "tests"), ("recurring_ical_events", "test")]


def corpus_files() -> list[Path]:
    files: list[Path] = []
    for package, tests in CORPORA:
        spec = find_spec(package)
        if spec is None or spec.origin is None:
            continue
        files += sorted((Path(spec.origin).parent / tests).rglob("*.ics"))
    return files


def objects(path: Path) -> list[bytes] | None:
    """One VCALENDAR per UID, with every VTIMEZONE of the file; ``None`` if unreadable."""
    try:
        calendar = icalendar.Calendar.from_ical(path.read_bytes())
    except Exception:  # a corpus of broken files: any parser failure counts as unreadable
        return None
    zones = list(calendar.walk("VTIMEZONE"))
    by_uid: dict[str, list[icalendar.cal.Component]] = collections.defaultdict(list)
    for event in calendar.walk("VEVENT"):
        by_uid[str(event.get("UID", f"no-uid-{id(event)}"))].append(event)
    found = []
    for events in by_uid.values():
        one = icalendar.Calendar()
        one.add("prodid", "-//linkzoom corpus bench//EN")
        one.add("version", "2.0")
        for component in [*zones, *events]:
            one.add_component(component)
        found.append(one.to_ical())
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show-refused", action="store_true")
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # icalendar's notes on vendor TZIDs: not what is measured
    counts: collections.Counter[str] = collections.Counter()
    fallbacks: collections.Counter[str] = collections.Counter()
    refusals: collections.Counter[str] = collections.Counter()
    files = corpus_files()
    for path in files:
        found = objects(path)
        if found is None:
            counts["unreadable"] += 1
            continue
        for data in found:
            try:
                event = event_from_ical(data, default_timezone="UTC")
                desired = desired_from_event(event, now=NOW)
            except ValidationFailed as exc:
                counts["refused"] += 1
                fields = ", ".join(sorted({e.field for e in exc.errors}))
                refusals[fields] += 1
                if args.show_refused:
                    print(f"refused {path.name}: {exc.detail}")
                continue
            except Problem as exc:
                counts["refused"] += 1
                refusals[type(exc).__name__] += 1
                continue
            if desired.mapping is None:
                counts["single"] += 1
            elif desired.mapping == NO_FIXED_TIME_MAPPING:
                counts["fallback"] += 1
                fallbacks[desired.reason or "?"] += 1
            elif desired.mapping == WINDOW_MAPPING:
                counts["window"] += 1
            else:
                counts["exact"] += 1
    total = sum(v for k, v in counts.items() if k != "unreadable")
    print(f"{len(files)} files, {total} iCalendar objects (one per UID), "
          f"{counts['unreadable']} files icalendar cannot read")  # fmt: skip
    for kind in ("single", "exact", "window", "fallback", "refused"):
        share = counts[kind] / total * 100 if total else 0.0
        print(f"  {kind:>9}: {counts[kind]:4d}  ({share:4.1f} %)")
    recurring = counts["exact"] + counts["window"] + counts["fallback"]
    if recurring:
        exact = counts["exact"] / recurring * 100
        timed = (counts["exact"] + counts["window"]) / recurring * 100
        print(f"  recurring mirrored exactly: {exact:.1f} %; with their times: {timed:.1f} %")
    print("fallback reasons:")
    for reason, n in fallbacks.most_common():
        print(f"  {n:4d}  {reason}")
    print("refused, by the field named:")
    for field, n in refusals.most_common():
        print(f"  {n:4d}  {field}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
