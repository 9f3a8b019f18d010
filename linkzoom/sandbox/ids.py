"""Identifiers and secrets shaped like Zoom's.

Everything secret comes from :mod:`secrets`; ids only need to look like Zoom's (22-character user
and account ids, meeting ids of 11 digits, base64 meeting UUIDs) so that a client which stores
or validates them meets realistic values.
"""

from __future__ import annotations

import base64
import secrets
import string

_PASSCODE_ALPHABET = string.ascii_letters + string.digits


def zoom_user_id() -> str:
    """A 22-character id like Zoom's user and account ids (base64url of 16 bytes)."""
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")


def meeting_uuid() -> str:
    """A meeting instance UUID, standard base64 (may contain ``/`` and ``+``, as Zoom's do)."""
    return base64.b64encode(secrets.token_bytes(16)).decode()


def meeting_number() -> int:
    """An 11-digit meeting id (Zoom: int64, "can be more than 10 digits")."""
    return 10**10 + secrets.randbelow(9 * 10**10)


def pmi() -> int:
    return 10**9 + secrets.randbelow(9 * 10**9)


def passcode(length: int = 8) -> str:
    return "".join(secrets.choice(_PASSCODE_ALPHABET) for _ in range(length))


def numeric_passcode(length: int = 8) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(length))


def token(prefix: str) -> str:
    """An unguessable bearer secret; the prefix only tells kinds apart in logs and tests."""
    return prefix + secrets.token_urlsafe(32)


def short_secret() -> str:
    return secrets.token_urlsafe(24)
