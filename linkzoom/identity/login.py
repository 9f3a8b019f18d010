"""Sign-in: local directory first, then LDAP/Active Directory, behind one throttle.

Every refusal is the same :class:`InvalidCredentials`, whether the user is unknown, the password
wrong or the account disabled, so the answer never tells an attacker which usernames exist.
No transaction is held open while a password hash is checked or the directory answers.
"""

from __future__ import annotations

from typing import Protocol

from anyio import to_thread

from linkzoom import audit
from linkzoom.clock import Clock
from linkzoom.identity import throttle, users
from linkzoom.identity.ldap import DirectoryUser
from linkzoom.identity.passwords import verify_password
from linkzoom.identity.usernames import normalise_username
from linkzoom.problems import InvalidCredentials, ValidationFailed
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.models import User

MAX_PASSWORD = 1024


class Directory(Protocol):
    """Where users who are not local sign in (:class:`~linkzoom.identity.ldap.LdapDirectory`)."""

    @property
    def upn_suffix(self) -> str | None: ...

    async def authenticate(self, username: str, password: str) -> DirectoryUser | None: ...


class Authenticator:
    def __init__(
        self, sessions: SessionFactory, *, directory: Directory | None, clock: Clock
    ) -> None:
        self._sessions = sessions
        self._directory = directory
        self._clock = clock

    async def login(self, username: str, password: str, *, address: str | None) -> User:
        upn_suffix = self._directory.upn_suffix if self._directory is not None else None
        try:
            # One form for the lookup, the directory and the throttle: one person, one bucket.
            name = normalise_username(username, upn_suffix=upn_suffix)
        except ValidationFailed:
            raise InvalidCredentials() from None
        keys = throttle.keys_for(name, address)
        async with transaction(self._sessions) as session:
            await throttle.admit(session, keys, self._clock())
            local = await users.by_username(session, name)
        found: DirectoryUser | None = None
        if len(password) > MAX_PASSWORD:
            ok = False
        elif local is not None and local.source == "local":
            ok = await to_thread.run_sync(verify_password, local.password_hash, password)
        elif self._directory is not None:
            found = await self._directory.authenticate(name, password)
            ok = found is not None
        else:
            await to_thread.run_sync(verify_password, None, password)
            ok = False
        async with transaction(self._sessions) as session:
            now = self._clock()
            user = await users.by_username(session, name)
            if found is not None:
                user = await users.upsert_directory_user(session, found, now=now)
            if ok and user is not None and user.disabled_at is None:
                await throttle.succeeded(session, keys, name, now)
                user.last_login_at = now
                return user
            await throttle.failed(session, keys, now)
            await audit.record(
                session,
                action="login.failed",
                at=now,
                actor=name,
                address=address,
                subject_user_id=user.id if user else None,
            )
        raise InvalidCredentials()
