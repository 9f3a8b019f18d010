"""Sealed preferences against a real database: nothing readable at rest, nothing movable."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text, update

from linkzoom.config import Settings
from linkzoom.identity.users import add_local
from linkzoom.problems import SealedDataUnreadable
from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import Preference
from linkzoom.vault import preferences

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)
SECRET = "zoom-access-token-6f1d2c9b8a7e"


async def make_users(runtime: Runtime, *names: str) -> list[int]:
    async with transaction(runtime.sessions) as session:
        return [
            (await add_local(session, username=n, password="long-enough-pw", now=NOW)).id
            for n in names
        ]


async def test_put_get_list_remove(runtime: Runtime) -> None:
    (alice,) = await make_users(runtime, "alice")
    async with transaction(runtime.sessions) as session:
        await preferences.put(
            session,
            runtime.sealer,
            user_id=alice,
            resource="Zoom",
            tag="oauth",
            payload={"access_token": SECRET},
            now=NOW,
        )
    async with transaction(runtime.sessions) as session:
        row = await preferences.put(
            session,
            runtime.sealer,
            user_id=alice,
            resource="Zoom",
            tag="oauth",
            payload={"access_token": SECRET + "2"},
            now=NOW,
        )
        assert row.version == 2
        opened = await preferences.get(
            session, runtime.sealer, user_id=alice, resource="Zoom", tag="oauth"
        )
        assert opened is not None and opened.payload == {"access_token": SECRET + "2"}
        listed = await preferences.list_for_user(session, user_id=alice)
        assert [(p.resource, p.tag) for p in listed] == [("Zoom", "oauth")]
        assert await preferences.remove(session, user_id=alice, resource="Zoom", tag="oauth")
        assert not await preferences.remove(session, user_id=alice, resource="Zoom", tag="oauth")


async def test_no_secret_bytes_reach_the_database(runtime: Runtime, settings: Settings) -> None:
    (alice,) = await make_users(runtime, "alice")
    async with transaction(runtime.sessions) as session:
        await preferences.put(
            session,
            runtime.sealer,
            user_id=alice,
            resource="Zoom",
            tag="oauth",
            payload={"access_token": SECRET},
            now=NOW,
        )
    async with transaction(runtime.sessions) as session:
        blobs = list(await session.scalars(select(Preference.ciphertext)))
        assert blobs and all(SECRET.encode() not in blob for blob in blobs)
        if settings.database_url.startswith("postgresql"):
            dump = await session.scalar(text("SELECT string_agg(p::text, ',') FROM preferences p"))
            assert dump is not None and SECRET not in dump
    await runtime.engine.dispose()
    if settings.database_url.startswith("sqlite"):
        database = Path(settings.database_url.removeprefix("sqlite:///"))
        for file in database.parent.glob(database.name + "*"):  # the file, its WAL and SHM
            assert SECRET.encode() not in file.read_bytes()


async def test_ciphertext_copied_to_another_users_row_does_not_open(runtime: Runtime) -> None:
    alice, mallory = await make_users(runtime, "alice", "mallory")
    async with transaction(runtime.sessions) as session:
        victim = await preferences.put(
            session,
            runtime.sealer,
            user_id=alice,
            resource="Zoom",
            tag="oauth",
            payload={"access_token": SECRET},
            now=NOW,
        )
        await preferences.put(
            session,
            runtime.sealer,
            user_id=mallory,
            resource="Zoom",
            tag="oauth",
            payload={"access_token": "mallorys-own"},
            now=NOW,
        )
        await session.execute(
            update(Preference)
            .where(Preference.user_id == mallory)
            .values(ciphertext=victim.ciphertext, key_id=victim.key_id)
        )
    async with transaction(runtime.sessions) as session:
        with pytest.raises(SealedDataUnreadable):
            await preferences.get(
                session, runtime.sealer, user_id=mallory, resource="Zoom", tag="oauth"
            )
