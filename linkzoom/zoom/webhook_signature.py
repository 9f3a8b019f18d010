"""Zoom webhook signatures and endpoint URL validation (pure; the clock is an argument).

Zoom signs each delivery with ``x-zm-signature: v0=hex(HMAC-SHA256(secret, "v0:{ts}:{body}"))``
where ``ts`` is the ``x-zm-request-timestamp`` header, and answers its ``endpoint.url_validation``
challenge with ``hex(HMAC-SHA256(secret, plainToken))`` (Zoom's webhook-sample ``index.js``, the
official Rivet SDK). The body must be the raw bytes received: re-serialised JSON would not match.
The replay window is ours: Zoom documents none, so we refuse anything more than ``max_age`` old
or ahead of our clock.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from linkzoom.problems import WebhookRejected

__all__ = ["sign", "url_validation_response", "verify"]

_PREFIX = "v0"
# Timestamps above this are milliseconds: 10**12 seconds is the year 33658.
_MILLISECONDS_THRESHOLD = 10**12


def _hmac_hex(secret: str, message: bytes) -> str:
    if not secret:
        # An empty key is public knowledge; refusing here beats accepting forgeries.
        raise ValueError("the Zoom webhook secret token is empty")
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The ``x-zm-signature`` value Zoom sends for ``body`` delivered at ``timestamp``."""
    message = f"{_PREFIX}:{timestamp}:".encode() + body
    return f"{_PREFIX}={_hmac_hex(secret, message)}"


def verify(
    secret: str,
    timestamp: str | None,
    signature: str | None,
    body: bytes,
    *,
    now: datetime,
    max_age: timedelta = timedelta(minutes=5),
) -> None:
    """Raise :class:`WebhookRejected` unless ``signature`` signs ``body`` at a fresh time."""
    if not timestamp or not signature:
        raise WebhookRejected("The x-zm-signature or x-zm-request-timestamp header is missing.")
    expected = sign(secret, timestamp, body)
    # Compare bytes: compare_digest refuses non-ASCII str, and a header may carry anything.
    if not hmac.compare_digest(expected.encode(), signature.strip().encode("utf-8", "replace")):
        raise WebhookRejected("The x-zm-signature header does not match the body.")
    sent_at = _parse_timestamp(timestamp)
    if sent_at is None:
        raise WebhookRejected("The x-zm-request-timestamp header is not a Unix time.")
    if abs(now.astimezone(UTC) - sent_at) > max_age:
        raise WebhookRejected("The x-zm-request-timestamp header is outside the replay window.")


def _parse_timestamp(value: str) -> datetime | None:
    text = value.strip()
    if not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    seconds = number / 1000 if number > _MILLISECONDS_THRESHOLD else float(number)
    try:
        return datetime.fromtimestamp(seconds, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def url_validation_response(secret: str, plain_token: str) -> dict[str, str]:
    """The JSON body answering Zoom's ``endpoint.url_validation`` event."""
    return {
        "plainToken": plain_token,
        "encryptedToken": _hmac_hex(secret, plain_token.encode("utf-8")),
    }
