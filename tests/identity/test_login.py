"""Local-directory sign-in, throttling and device sessions against a real database."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select

from linkzoom.identity import device_sessions
from linkzoom.identity import login as login_module
from linkzoom.identity.ldap import DirectoryUser
from linkzoom.identity.passwords import verify_password
from linkzoom.identity.usernames import normalise_username
from linkzoom.identity.users import add_local, bootstrap_admin
from linkzoom.problems import (
    InvalidCredentials,
    NotAuthenticated,
    TooManyAttempts,
    ValidationFailed,
)
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import AuditEvent, DeviceSession, LoginThrottle, User
from tests.support.clock import FakeClock

PASSWORD = "correct horse battery"


async def add(runtime: Runtime, name: str = "Alice", **kwargs: object) -> User:
    async with transaction(runtime.sessions) as session:
        return await add_local(
            session,
            username=name,
            password=PASSWORD,
            now=runtime.clock(),
            **kwargs,  # type: ignore[arg-type]
        )


async def test_password_is_stored_hashed_and_login_is_case_insensitive(runtime: Runtime) -> None:
    user = await add(runtime)
    assert user.password_hash and PASSWORD not in user.password_hash
    assert user.password_hash.startswith("$argon2id$")
    logged_in = await runtime.authenticator.login("ALICE", PASSWORD, address="10.0.0.1")
    assert logged_in.id == user.id and logged_in.last_login_at is not None


@pytest.mark.parametrize(
    ("username", "password"),
    [("alice", "wrong password"), ("nobody", PASSWORD), ("", PASSWORD), ("al ice", PASSWORD)],
)
async def test_every_refusal_looks_the_same(runtime: Runtime, username: str, password: str) -> None:
    await add(runtime)
    with pytest.raises(InvalidCredentials) as caught:
        await runtime.authenticator.login(username, password, address="10.0.0.1")
    assert caught.value.detail == "Invalid username or password"


async def test_failed_logins_are_audited_without_the_password(runtime: Runtime) -> None:
    await add(runtime)
    with pytest.raises(InvalidCredentials):
        await runtime.authenticator.login("alice", "guess-123", address="10.9.9.9")
    async with transaction(runtime.sessions) as session:
        event = await session.scalar(select(AuditEvent))
    assert event is not None and event.action == "login.failed"
    assert event.actor == "alice" and event.address == "10.9.9.9"
    assert "guess-123" not in repr(event.detail)


async def test_throttle_blocks_user_then_lifts(runtime: Runtime, clock: FakeClock) -> None:
    await add(runtime)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await runtime.authenticator.login("alice", "wrong", address="10.0.0.1")
    with pytest.raises(TooManyAttempts) as caught:
        await runtime.authenticator.login("alice", PASSWORD, address="10.0.0.1")
    assert caught.value.headers()["Retry-After"] == "30"
    clock.advance(seconds=31)
    assert (
        await runtime.authenticator.login("alice", PASSWORD, address="10.0.0.1")
    ).username == "alice"


@pytest.mark.one_database
async def test_a_stranger_guessing_cannot_lock_the_user_out_as_fast(
    runtime: Runtime, clock: FakeClock
) -> None:
    await add(runtime)
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await runtime.authenticator.login("alice", "wrong", address="10.6.6.6")
    # The guesser's own client is blocked; alice, elsewhere, still signs in.
    with pytest.raises(TooManyAttempts):
        await runtime.authenticator.login("alice", "wrong", address="10.6.6.6")
    assert await runtime.authenticator.login("alice", PASSWORD, address="10.0.0.2")
    # Guesses spread over many addresses still block the account itself.
    for i in range(10):
        with pytest.raises(InvalidCredentials):
            await runtime.authenticator.login("alice", "wrong", address=f"10.7.0.{i}")
    with pytest.raises(TooManyAttempts):
        await runtime.authenticator.login("alice", PASSWORD, address="10.0.0.2")


async def test_parallel_wrong_passwords_are_counted_before_they_are_checked(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Fifty guesses at once: only the free five get a password check, none answers 500."""
    await add(runtime)
    checked = 0
    real_verify = verify_password

    def counting_verify(hashed: str | None, password: str) -> bool:
        nonlocal checked
        checked += 1
        return real_verify(hashed, password)

    monkeypatch.setattr(login_module, "verify_password", counting_verify)
    results = await asyncio.gather(
        *(runtime.authenticator.login("alice", f"g{i}", address="10.5.5.5") for i in range(50)),
        return_exceptions=True,
    )
    kinds = {type(r) for r in results}
    assert kinds <= {InvalidCredentials, TooManyAttempts}, results
    assert checked <= 5
    assert sum(isinstance(r, InvalidCredentials) for r in results) == checked


async def test_first_failures_of_a_new_key_racing_never_fail_the_request(
    runtime: Runtime,
) -> None:
    """Many first failures for fresh keys at once: no IntegrityError, every one recorded."""
    results = await asyncio.gather(
        *(runtime.authenticator.login("nobody", "x", address="10.4.4.4") for _ in range(4)),
        return_exceptions=True,
    )
    assert all(isinstance(r, InvalidCredentials) for r in results), results
    async with transaction(runtime.sessions) as session:
        row = await session.get(LoginThrottle, "pair:nobody@10.4.4.4")
    assert row is not None and row.failures == 4


async def test_throttle_blocks_an_address_spraying_many_users(runtime: Runtime) -> None:
    for i in range(20):
        with pytest.raises(InvalidCredentials):
            await runtime.authenticator.login(f"user{i}", "wrong", address="10.6.6.6")
    await add(runtime)
    with pytest.raises(TooManyAttempts):
        await runtime.authenticator.login("alice", PASSWORD, address="10.6.6.6")
    assert await runtime.authenticator.login("alice", PASSWORD, address="10.0.0.7")


async def test_disabled_user_cannot_log_in(runtime: Runtime) -> None:
    user = await add(runtime)
    async with transaction(runtime.sessions) as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.disabled_at = runtime.clock()
    with pytest.raises(InvalidCredentials):
        await runtime.authenticator.login("alice", PASSWORD, address=None)


async def test_device_sessions_are_hashed_expire_and_revoke(
    runtime: Runtime, clock: FakeClock
) -> None:
    user = await add(runtime)
    async with transaction(runtime.sessions) as session:
        issued = await device_sessions.issue(
            session,
            user=user,
            device_name="Outlook",
            lifetime=timedelta(days=1),
            now=clock(),
            address="10.0.0.1",
        )
    async with transaction(runtime.sessions) as session:
        stored = await session.scalar(select(DeviceSession))
        assert stored is not None and issued.token.encode() not in stored.token_hash
        found, device = await device_sessions.authenticate(session, issued.token, now=clock())
        assert found.id == user.id and device.device_name == "Outlook"
    clock.advance(minutes=5)
    async with transaction(runtime.sessions) as session:
        await device_sessions.authenticate(session, issued.token, now=clock())
    async with transaction(runtime.sessions) as session:
        stored = await session.get(DeviceSession, issued.session.id)
        assert stored is not None and stored.last_seen_at == clock()
    clock.advance(days=2)
    async with transaction(runtime.sessions) as session:
        with pytest.raises(NotAuthenticated, match="ended"):
            await device_sessions.authenticate(session, issued.token, now=clock())


async def test_revoked_session_is_refused(runtime: Runtime, clock: FakeClock) -> None:
    user = await add(runtime)
    async with transaction(runtime.sessions) as session:
        issued = await device_sessions.issue(
            session,
            user=user,
            device_name="x",
            lifetime=timedelta(days=1),
            now=clock(),
            address=None,
        )
    async with transaction(runtime.sessions) as session:
        assert await device_sessions.revoke(
            session, session_id=issued.session.id, user_id=user.id, now=clock()
        )
    async with transaction(runtime.sessions) as session:
        with pytest.raises(NotAuthenticated):
            await device_sessions.authenticate(session, issued.token, now=clock())
        with pytest.raises(NotAuthenticated):
            await device_sessions.authenticate(session, "lzd_forged", now=clock())


async def test_bootstrap_admin_only_on_an_empty_directory(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        password = await bootstrap_admin(session, now=runtime.clock())
        assert password is not None and len(password) >= 16
        assert await bootstrap_admin(session, now=runtime.clock()) is None
    admin = await runtime.authenticator.login("admin", password, address=None)
    assert admin.is_admin


@pytest.mark.parametrize("name", ["", " ", "a\x00b", "tab\there", "x" * 257])
def test_bad_usernames_are_refused(name: str) -> None:
    with pytest.raises(ValidationFailed):
        normalise_username(name)


def test_usernames_are_case_folded_and_normalised() -> None:
    assert normalise_username("  Chlo\u0065\u0301 ") == normalise_username("chlo\u00e9")


async def test_device_sessions_per_user_are_bounded(runtime: Runtime, clock: FakeClock) -> None:
    """Signing in in a loop used to add a row (and a Devices entry) each time, forever."""
    user = await add(runtime)
    issued = []
    for n in range(60):
        clock.advance(seconds=1)
        async with transaction(runtime.sessions) as session:
            issued.append(
                await device_sessions.issue(
                    session,
                    user=user,
                    device_name=f"loop {n}",
                    lifetime=timedelta(days=30),
                    now=clock(),
                    address=None,
                    keep=20,
                )
            )
    async with transaction(runtime.sessions) as session:
        live = await device_sessions.for_user(session, user_id=user.id, now=clock())
        rows = list(await session.scalars(select(DeviceSession)))
    assert [d.device_name for d in live] == [f"loop {n}" for n in range(59, 39, -1)]
    assert len(rows) == 40  # 20 live and the 20 most recently ended
    # The newest session works; one pushed out of the window is signed out.
    async with transaction(runtime.sessions) as session:
        await device_sessions.authenticate(session, issued[-1].token, now=clock())
        with pytest.raises(NotAuthenticated):
            await device_sessions.authenticate(session, issued[0].token, now=clock())


class _RefusingDirectory:
    """Active Directory with a UPN suffix that knows nobody."""

    upn_suffix = "Example.org"

    async def authenticate(self, username: str, password: str) -> DirectoryUser | None:
        return None


async def test_one_person_typed_two_ways_fills_one_throttle_bucket(
    runtime: Runtime, clock: FakeClock
) -> None:
    """ "alice" and "Alice@EXAMPLE.org" used to be two buckets (the login's name kept the UPN
    suffix the directory dropped), so typing both ways doubled the guesses allowed."""
    authenticator = login_module.Authenticator(
        runtime.sessions, directory=_RefusingDirectory(), clock=clock
    )
    for typed in ("alice", " Alice@EXAMPLE.org", "ALICE"):
        with pytest.raises(InvalidCredentials):
            await authenticator.login(typed, "wrong password", address=None)
    async with transaction(runtime.sessions) as session:
        rows = list(await session.scalars(select(LoginThrottle)))
    assert [(row.key, row.failures) for row in rows] == [("user:alice", 3)]
