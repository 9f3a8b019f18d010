"""The join details the add-in puts into the calendar event's body, as text and HTML (pure).

The topic is the user's own text: the text form flattens it to one line, the HTML form escapes
everything interpolated. The HTML block carries ``class="linkzoom-invitation"`` and
``data-linkzoom-event`` so the add-in can find and replace it when the link changes.
"""

from __future__ import annotations

import html
from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Invitation:
    text: str
    html: str


def grouped(meeting_id: int) -> str:
    """The meeting id as Zoom prints it: 123 4567 8901 (11 digits), 123 456 7890 (10)."""
    digits = str(meeting_id)
    sizes = {9: (3, 3, 3), 10: (3, 3, 4), 11: (3, 4, 4)}.get(len(digits), (len(digits),))
    parts, at = [], 0
    for size in sizes:
        parts.append(digits[at : at + size])
        at += size
    return " ".join(parts)


def invitation(
    *, topic: str, join_url: str, meeting_id: int, passcode: str | None, event_key: str
) -> Invitation:
    title = " ".join(topic.split())
    lines = [
        "Join Zoom Meeting",
        join_url,
        "",
        f"Meeting ID: {grouped(meeting_id)}",
    ]
    if passcode:
        lines.append(f"Passcode: {passcode}")
    text = "\n".join([title, "", *lines]) + "\n"
    e = html.escape
    body = (
        f'<div class="linkzoom-invitation" data-linkzoom-event="{e(event_key)}">'
        f"<p>{e(title)}</p>"
        f'<p>Join Zoom Meeting<br><a href="{e(join_url)}">{e(join_url)}</a></p>'
        f"<p>Meeting ID: {e(grouped(meeting_id))}"
        + (f"<br>Passcode: {e(passcode)}" if passcode else "")
        + "</p></div>"
    )
    return Invitation(text=text, html=body)
