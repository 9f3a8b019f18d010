"""The invitation pasted into an e-mail or a calendar event, as text and as HTML (pure).

It reads like Zoom's own: who invites, topic, time in the meeting's zone (left out for calendar
events, which show their own time), the join link, the meeting id grouped as Zoom prints it, the
passcode, then one-tap mobile and dial-in lines when the meeting has dial-in numbers (phones use
the numeric ``phone_passcode``).

Everything interpolated is untrusted (the topic is typed by the user, names come from a
directory): the text form flattens it to one line so it cannot forge lines of its own, the HTML
form escapes it. The HTML is one ``div`` carrying ``id="linkzoom-{marker}"``, the class
``linkzoom-invitation`` and ``data-linkzoom-{kind}="{marker}"`` (``meeting`` for a compose
meeting's id, ``event`` for a calendar event's key), so the add-in can find the block again to
replace or remove it; editors that drop one of the three keep another.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from linkzoom.zoom.models import DialInNumber
from linkzoom.zoom.text import clean_text

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# How Zoom splits a meeting id by its number of digits (9: 123 456 789; 11: 123 4567 8901).
_ID_GROUPS: dict[int, tuple[int, ...]] = {9: (3, 3, 3), 10: (3, 3, 4), 11: (3, 4, 4)}
MarkerKind = Literal["meeting", "event"]


@dataclass(frozen=True, kw_only=True)
class Invitation:
    text: str
    html: str


@dataclass(frozen=True, kw_only=True)
class InvitationDetails:
    """Everything an invitation shows; ``marker`` names the HTML block for later edits, and
    ``start_time`` is ``None`` where the invitation sits in an event that shows its own time."""

    marker: str
    marker_kind: MarkerKind = "meeting"
    host_name: str
    topic: str
    start_time: datetime | None
    timezone: str
    join_url: str
    meeting_id: int
    passcode: str | None = None
    phone_passcode: str | None = None
    dial_in: tuple[DialInNumber, ...] = ()


# One line of an invitation: its text, and the URL it links to in HTML (if any).
Line = tuple[str, str | None]


def group_meeting_id(meeting_id: int) -> str:
    """Zoom's printed form; lengths Zoom does not use today are split in fours from the right."""
    digits = str(meeting_id)
    sizes = _ID_GROUPS.get(len(digits))
    if sizes is None:
        head = len(digits) % 4 or 4
        sizes = (head, *(4,) * ((len(digits) - head) // 4))
    groups: list[str] = []
    at = 0
    for size in sizes:
        groups.append(digits[at : at + size])
        at += size
    return " ".join(groups)


def format_time(start: datetime, timezone: str) -> str:
    """``Mar 8, 2026 09:30 AM America/New_York (EDT)``: the local wall time and the zone, with
    the abbreviation in force at that instant (so both sides of a DST change read right). Zones
    without a lettered abbreviation show the offset instead (``UTC+05:45``). English month names
    are spelled out here so the process locale cannot change the text."""
    local = start.astimezone(ZoneInfo(timezone))
    hour = local.hour % 12 or 12
    clock = f"{hour:02d}:{local.minute:02d} {'AM' if local.hour < 12 else 'PM'}"
    day = f"{_MONTHS[local.month - 1]} {local.day}, {local.year}"
    if timezone in ("UTC", "Etc/UTC"):
        return f"{day} {clock} UTC"
    abbreviation = local.tzname() or ""
    label = abbreviation if abbreviation.isalpha() else _offset(local)
    return f"{day} {clock} {timezone} ({label})"


def _offset(local: datetime) -> str:
    offset = local.utcoffset()
    assert offset is not None  # astimezone(ZoneInfo) always has one
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def one_tap(number: DialInNumber, meeting_id: int, phone_passcode: str | None) -> str:
    """``+12125550100,,85012345678#,,,,*123456# US (New York)``: dial, wait, id, wait, passcode."""
    dial = "".join(ch for ch in number.number if ch.isdigit() or ch == "+")
    code = f",,,,*{phone_passcode}#" if phone_passcode else ""
    return f"{dial},,{meeting_id}#{code}{_place(number)}"


def _place(number: DialInNumber) -> str:
    """`` US (New York)``, with its leading space, or nothing when Zoom named no place."""
    country = clean_text(number.country_name or number.country or "")
    city = clean_text(number.city or "")
    place = f"{country} ({city})" if country and city else country or city
    return f" {place}" if place else ""


def build(details: InvitationDetails) -> Invitation:
    return Invitation(text=_text(details), html=_html(details))


def _sections(details: InvitationDetails) -> list[list[Line]]:
    """The invitation as paragraphs of lines."""
    meeting_id = group_meeting_id(details.meeting_id)
    host = clean_text(details.host_name)
    opening = (
        f"{host} is inviting you to a scheduled Zoom meeting."
        if host
        else "You are invited to a scheduled Zoom meeting."
    )
    link = details.join_url if _is_web_link(details.join_url) else None
    sections = [
        _plain(opening),
        _plain(
            f"Topic: {clean_text(details.topic)}",
            *(
                [f"Time: {format_time(details.start_time, details.timezone)}"]
                if details.start_time is not None
                else []
            ),
        ),
        [("Join Zoom Meeting", link), (clean_text(details.join_url), link)],
        _plain(f"Meeting ID: {meeting_id}", *_passcode(details.passcode)),
    ]
    if details.dial_in:
        numbers = details.dial_in
        sections += [
            _plain("---"),
            _plain(
                "One tap mobile",
                *(one_tap(n, details.meeting_id, details.phone_passcode) for n in numbers),
            ),
            _plain("---"),
            _plain(
                "Dial by your location", *(f"• {clean_text(n.number)}{_place(n)}" for n in numbers)
            ),
            _plain(f"Meeting ID: {meeting_id}", *_passcode(details.phone_passcode)),
        ]
    return sections


def _plain(*lines: str) -> list[Line]:
    return [(line, None) for line in lines]


def _passcode(code: str | None) -> list[str]:
    return [f"Passcode: {clean_text(code)}"] if code else []


def _is_web_link(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("https", "http") and bool(parts.netloc)


def _text(details: InvitationDetails) -> str:
    return "\n\n".join("\n".join(line for line, _ in lines) for lines in _sections(details)) + "\n"


def _html(details: InvitationDetails) -> str:
    marker = html.escape(details.marker, quote=True)
    paragraphs = []
    for lines in _sections(details):
        rendered = []
        for line, target in lines:
            body = html.escape(line, quote=True)
            if target is not None:
                body = f'<a href="{html.escape(target, quote=True)}">{body}</a>'
            rendered.append(body)
        paragraphs.append(f"<p>{'<br>'.join(rendered)}</p>")
    return (
        f'<div id="linkzoom-{marker}" class="linkzoom-invitation" '
        f'data-linkzoom-{details.marker_kind}="{marker}">{"".join(paragraphs)}</div>'
    )
