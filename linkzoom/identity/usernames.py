"""One form of a login name, for the local directory, LDAP/Active Directory and the login throttle.

A person is one name however they type it: NFC-normalised, trimmed, case-folded (as directories
compare names) and, where Active Directory's UPN suffix is configured, without it, so "Alice",
" ALICE " and "alice@EXAMPLE.org" are one user and one throttle bucket. A name with spaces or
control characters is no name.
"""

from __future__ import annotations

import unicodedata

from linkzoom.problems import ValidationFailed

MAX_USERNAME = 256


def normalise_username(raw: str, *, upn_suffix: str | None = None) -> str:
    """The one form of ``raw``; :class:`ValidationFailed` if it cannot be a username."""
    name = unicodedata.normalize("NFC", raw.strip()).casefold()
    if upn_suffix:
        name = name.removesuffix("@" + unicodedata.normalize("NFC", upn_suffix).casefold())
    if not name or len(name) > MAX_USERNAME:
        raise ValidationFailed.one("username", f"must be 1 to {MAX_USERNAME} characters")
    if any(unicodedata.category(c).startswith("C") or c.isspace() for c in name):
        raise ValidationFailed.one("username", "must not contain spaces or control characters")
    return name
