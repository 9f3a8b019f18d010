"""Classify Zoom's HTTP 429 answers (pure: headers, body and the clock go in, a value comes out).

Zoom has two kinds of limit (zoom-api.md §3):

=================================  ===========================  ==============================
What Zoom sends                    kind                         retry at
=================================  ===========================  ==============================
``X-RateLimit-Type: QPS``          ``qps``                      now + ``Retry-After``, else +1 s
``X-RateLimit-Type: Daily-limit``  ``daily`` (account bucket)   ``Retry-After`` instant, else
                                                                next 00:00 UTC
no type header, body says          ``daily`` (per user, 100     next 00:00 UTC
"daily rate limit"                 creates/updates a day)
no type header, anything else      ``qps``                      as for ``QPS``
=================================  ===========================  ==============================

The per-user 100-a-day limit arrives *without* ``X-RateLimit-Type`` (it carries only the account
bucket's headers), so the body message is the only way to tell it from a per-second refusal.
Daily limits reset at 00:00 UTC.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from linkzoom.problems import ZoomRateLimited

__all__ = ["classify_429", "next_utc_midnight", "parse_retry_after"]

_DEFAULT_QPS_WAIT = timedelta(seconds=1)


def next_utc_midnight(now: datetime) -> datetime:
    """The first 00:00 UTC strictly after ``now`` (which must be timezone-aware)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    today = now.astimezone(UTC).date()
    return datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)


def parse_retry_after(value: str | None, now: datetime) -> datetime | None:
    """The instant a ``Retry-After`` value names: delta-seconds, ISO-8601 or an HTTP-date."""
    if value is None or not (text := value.strip()):
        return None
    try:
        seconds = float(text)
    except ValueError:
        return _parse_instant(text)
    if not 0 <= seconds < 10**7:  # NaN and absurd values fail this too
        return None
    return now + timedelta(seconds=seconds)


def _parse_instant(text: str) -> datetime | None:
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    # Zoom documents these instants in UTC; an offset-less one is read as UTC, not local time.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def classify_429(
    headers: Mapping[str, str], body: Mapping[str, Any] | None, now: datetime
) -> ZoomRateLimited:
    """Turn one 429 response into a :class:`ZoomRateLimited` saying what and until when."""
    lowered = {key.lower(): value for key, value in headers.items()}
    limit_type = lowered.get("x-ratelimit-type", "").strip().lower()
    retry_at = parse_retry_after(lowered.get("retry-after"), now)
    message = body.get("message") if body is not None else None
    says_daily = isinstance(message, str) and "daily rate limit" in message.lower()

    if limit_type == "daily-limit" or (limit_type != "qps" and says_daily):
        if retry_at is None or retry_at <= now:
            retry_at = next_utc_midnight(now)
        per_user = isinstance(message, str) and "meeting create/update" in message.lower()
        what = (
            "Zoom's daily limit of meeting creations and updates for this user"
            if per_user
            else "Zoom's daily rate limit for this API"
        )
        detail = f"{what} has been reached; it resets at {_when(retry_at)}."
        return ZoomRateLimited(detail, kind="daily", retry_at=retry_at, now=now)

    retry_at = now + _DEFAULT_QPS_WAIT if retry_at is None else max(retry_at, now)
    seconds = max(1, round((retry_at - now).total_seconds()))
    detail = (
        "Zoom's per-second rate limit has been reached; "
        f"try again in {seconds} second{'s' if seconds != 1 else ''}."
    )
    return ZoomRateLimited(detail, kind="qps", retry_at=retry_at, now=now)


def _when(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
