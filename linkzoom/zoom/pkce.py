"""PKCE (RFC 7636) for the Zoom authorization-code flow.

Zoom defaults ``code_challenge_method`` to ``plain`` when it is omitted, so callers always send
``S256`` with :func:`challenge_s256`; the verifier stays server-side until the token exchange.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import string

__all__ = ["challenge_s256", "new_verifier"]

# RFC 7636 §4.1: unreserved characters of RFC 3986.
_UNRESERVED = string.ascii_letters + string.digits + "-._~"
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")


def new_verifier(length: int = 64) -> str:
    """A fresh high-entropy ``code_verifier`` of ``length`` (43 to 128) unreserved characters."""
    if not 43 <= length <= 128:
        raise ValueError("a PKCE code verifier has 43 to 128 characters")
    return "".join(secrets.choice(_UNRESERVED) for _ in range(length))


def challenge_s256(verifier: str) -> str:
    """``BASE64URL(SHA256(ASCII(verifier)))`` without padding (RFC 7636 §4.2)."""
    if not _VERIFIER.fullmatch(verifier):
        raise ValueError("not a valid PKCE code verifier")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
