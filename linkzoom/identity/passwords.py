"""Password hashing for the local directory (Argon2id via argon2-cffi)."""

from __future__ import annotations

import functools

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_hasher = PasswordHasher()


@functools.cache
def _dummy() -> str:
    """Verifying against this when the user does not exist keeps the response time the same,
    so timing does not reveal which usernames exist. Made at the first login, not at import:
    one hash is a tenth of a second that every process start would otherwise pay."""
    return _hasher.hash("linkzoom-dummy-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash or _dummy(), password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    return _hasher.check_needs_rehash(stored_hash)
