"""Key rings for tests."""

from __future__ import annotations

import base64
import secrets


def new_keyring(kid: str = "k1") -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"
