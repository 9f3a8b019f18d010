"""The calendar values as JSON, for the ``calendar_bindings`` columns.

Only this module knows the stored shape. Instants are ISO-8601 UTC strings; a recurrence is
Zoom's own object (``Recurrence.to_json``), so what we store is what we send.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from linkzoom.calendar.models import (
    Confirmed,
    Desired,
    InDoubt,
    KnownOccurrence,
    OccurrenceEdit,
    Series,
    Window,
)
from linkzoom.calendar.rrule import format_rule, parse_rule
from linkzoom.zoom.models import Recurrence


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _optional_time(moment: datetime | None) -> str | None:
    return None if moment is None else _time(moment)


def _optional_parse(text: str | None) -> datetime | None:
    return None if text is None else _parse(text)


def series_to_json(series: Series) -> dict[str, Any]:
    return {
        "topic": series.topic,
        "type": series.type,
        "start": _optional_time(series.start),
        "duration": series.duration,
        "timezone": series.timezone,
        "recurrence": None if series.recurrence is None else series.recurrence.to_json(),
    }


def series_from_json(data: dict[str, Any]) -> Series:
    recurrence = data.get("recurrence")
    return Series(
        topic=data["topic"],
        type=data["type"],
        start=_optional_parse(data.get("start")),
        duration=data["duration"],
        timezone=data["timezone"],
        recurrence=None if recurrence is None else Recurrence.from_json(recurrence),
    )


def desired_to_json(desired: Desired) -> dict[str, Any]:
    return {
        "series": series_to_json(desired.series),
        "edits": [
            {
                "original_start": _time(edit.original_start),
                "cancelled": edit.cancelled,
                "start": _optional_time(edit.start),
                "duration": edit.duration,
            }
            for edit in desired.edits
        ],
        "deleted": desired.deleted,
        "mapping": desired.mapping,
        "reason": desired.reason,
        "window": None
        if desired.window is None
        else {"rule": format_rule(desired.window.rule), "first": _time(desired.window.first)},
    }


def desired_from_json(data: dict[str, Any]) -> Desired:
    return Desired(
        series=series_from_json(data["series"]),
        edits=tuple(
            OccurrenceEdit(
                original_start=_parse(item["original_start"]),
                cancelled=item["cancelled"],
                start=_optional_parse(item.get("start")),
                duration=item.get("duration"),
            )
            for item in data.get("edits", ())
        ),
        deleted=data.get("deleted", False),
        mapping=data.get("mapping"),
        reason=data.get("reason"),
        window=None if data.get("window") is None else _window(data["window"]),
    )


def _window(data: dict[str, Any]) -> Window:
    return Window(rule=parse_rule(data["rule"]), first=_parse(data["first"]))


def confirmed_to_json(confirmed: Confirmed) -> dict[str, Any]:
    occurrences = confirmed.occurrences
    return {
        "meeting_id": confirmed.meeting_id,
        "join_url": confirmed.join_url,
        "series": series_to_json(confirmed.series),
        "occurrences": None
        if occurrences is None
        else [
            {
                "id": o.occurrence_id,
                "original_start": _time(o.original_start),
                "start": _time(o.start),
                "duration": o.duration,
                "deleted": o.deleted,
            }
            for o in occurrences
        ],
        "stale": confirmed.stale,
        "stale_until": _optional_time(confirmed.stale_until),
    }


def confirmed_from_json(data: dict[str, Any]) -> Confirmed:
    occurrences = data.get("occurrences")
    return Confirmed(
        meeting_id=data["meeting_id"],
        join_url=data["join_url"],
        series=series_from_json(data["series"]),
        occurrences=None
        if occurrences is None
        else tuple(
            KnownOccurrence(
                occurrence_id=o["id"],
                original_start=_parse(o["original_start"]),
                start=_parse(o["start"]),
                duration=o["duration"],
                deleted=o["deleted"],
            )
            for o in occurrences
        ),
        stale=data.get("stale", False),
        stale_until=_optional_parse(data.get("stale_until")),
    )


def in_doubt_to_json(value: InDoubt) -> dict[str, Any]:
    return {
        "marker": value.marker,
        "topic": value.topic,
        "sent_at": _time(value.sent_at),
        "conclusive_at": _time(value.conclusive_at),
    }


def in_doubt_from_json(data: dict[str, Any]) -> InDoubt:
    return InDoubt(
        marker=data["marker"],
        topic=data["topic"],
        sent_at=_parse(data["sent_at"]),
        conclusive_at=_parse(data["conclusive_at"]),
    )
