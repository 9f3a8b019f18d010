"""CalDAV logins: checked, sealed bound to their calendar's row, write-only, rotated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select, update

from linkzoom.calendar.sources import caldav_accounts
from linkzoom.calendar.sources.base import SourceError
from linkzoom.calendar.sources.caldav_accounts import Login, Logins
from linkzoom.identity.users import add_local
from linkzoom.problems import ValidationFailed
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.vault.keyring import KeyRing, generate_key
from linkzoom.vault.rotation import reseal_all

NOW = datetime(2026, 12, 7, 9, tzinfo=UTC)
A, B = "https://dav.example.org/alice/work/", "https://dav.example.org/alice/home/"


async def enrol(runtime: Runtime, url: str, password: str | None, user: str = "alice") -> int:
    async with transaction(runtime.sessions) as session:
        return await caldav_accounts.enrol(
            session, runtime.sealer, username=user, url=url, login="alice",
            password=password, actor="test", now=NOW,
        )  # fmt: skip


@pytest.fixture
async def users(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await add_local(session, username="alice", password="password-123", now=NOW)
        await add_local(session, username="bob", password="password-123", now=NOW)


@pytest.mark.usefixtures("users")
async def test_logins_are_sealed_per_calendar_write_only_and_rotated(runtime: Runtime) -> None:
    first = await enrol(runtime, A, "first-password")
    second = await enrol(runtime, B, "second-password")
    logins = Logins(runtime.sessions, runtime.sealer)
    assert await logins(A) == Login(username="alice", password="first-password")
    assert await enrol(runtime, A, None) == first  # kept: write-only, never shown
    assert (await logins(A)).password == "first-password"

    runtime.keys.ring = KeyRing((generate_key(), *runtime.keys.ring.keys))
    report = await reseal_all(
        runtime.sessions,
        runtime.sealer,
        others=(caldav_accounts.reseal,),
        leftovers=(caldav_accounts.left_to_reseal,),
    )
    assert report.resealed == 2 and report.remaining == 0
    assert (await logins(B)).password == "second-password"

    # A sealed password copied to another calendar's row does not open there.
    async with transaction(runtime.sessions) as session:
        row = await session.scalar(select(WatchedMailbox).where(WatchedMailbox.id == first))
        assert row is not None and b"first-password" not in (row.secret or b"")
        await session.execute(
            update(WatchedMailbox)
            .where(WatchedMailbox.id == second)
            .values(secret_key_id=row.secret_key_id, secret=row.secret)
        )
    with pytest.raises(SourceError, match="cannot be read; enrol it again"):
        await logins(B)


@pytest.mark.one_database
@pytest.mark.usefixtures("users")
async def test_bad_enrolments_are_named(runtime: Runtime) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await enrol(runtime, "http://dav.example.org/alice/work/", "")
    assert {(e.field, e.message) for e in refused.value.errors} == {
        ("url", "must be https: the password travels with every request"),
        ("password", "must not be empty"),
    }
    with pytest.raises(ValidationFailed, match="is required the first time"):
        await enrol(runtime, A, None)
    with pytest.raises(ValidationFailed, match="no such user: carol"):
        await enrol(runtime, A, "pw", user="carol")
    await enrol(runtime, A, "alice-password")
    # The calendar passes to Bob: his login must be typed, Alice's stays sealed for her.
    with pytest.raises(ValidationFailed, match="is required the first time"):
        await enrol(runtime, A, None, user="bob")
