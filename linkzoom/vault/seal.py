"""AES-256-GCM sealing with associated data, the only crypto construction in the service.

A sealed value is ``nonce (12 bytes) || ciphertext+tag`` under the key named by the stored key id.
The associated data names what the value *is* (user, resource, tag), so a ciphertext copied into
another user's row, or under another tag, fails authentication instead of opening.
"""

from __future__ import annotations

import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from linkzoom.problems import SealedDataUnreadable
from linkzoom.vault.keyring import KeySource

NONCE_BYTES = 12
_DOMAIN = b"linkzoom/preference/v1"


def preference_context(user_id: int, resource: str, tag: str) -> bytes:
    """Associated data for a preference; parts are length-prefixed so no two tuples collide."""
    parts = [_DOMAIN, str(user_id).encode(), resource.encode(), tag.encode()]
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


class Sealer:
    def __init__(self, keys: KeySource) -> None:
        self.keys = keys

    @property
    def primary_kid(self) -> str:
        return self.keys.ring.primary.kid

    def seal(self, plaintext: bytes, context: bytes) -> tuple[str, bytes]:
        key = self.keys.ring.primary
        nonce = secrets.token_bytes(NONCE_BYTES)
        return key.kid, nonce + AESGCM(key.secret).encrypt(nonce, plaintext, context)

    def open(self, kid: str, sealed: bytes, context: bytes) -> bytes:
        key = self.keys.find(kid)
        if key is None:
            raise SealedDataUnreadable(f"Stored data is sealed under unknown key {kid!r}.")
        try:
            return AESGCM(key.secret).decrypt(sealed[:NONCE_BYTES], sealed[NONCE_BYTES:], context)
        except (InvalidTag, ValueError):
            raise SealedDataUnreadable("Stored data failed its integrity check.") from None
