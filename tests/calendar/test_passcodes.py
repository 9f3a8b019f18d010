"""Meeting passcodes at rest, on both databases: sealed, bound to their row, re-sealed by key
rotation, and moved out of the clear by the migration that introduced sealing."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import create_engine, text, update

from linkzoom.calendar import passcodes, store
from linkzoom.calendar.models import PENDING, Confirmed, Desired, Series
from linkzoom.identity.users import add_local
from linkzoom.problems import SealedDataUnreadable
from linkzoom.runtime import Runtime
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.db import driver_url, transaction
from linkzoom.store.migrate import alembic_config
from linkzoom.vault.keyring import KeyRing, KeySource, generate_key
from linkzoom.vault.rotation import reseal_all
from linkzoom.vault.seal import Sealer

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
SERIES = Series(topic="T", type=2, start=NOW, duration=30, timezone="UTC")
PASSCODE = "Zq7pass3cd"


async def binding_with_passcode(runtime: Runtime, event_key: str, meeting_id: int) -> int:
    async with transaction(runtime.sessions) as session:
        binding_id = await store.insert(
            session,
            user_id=1,
            event_key=event_key,
            desired=Desired(series=SERIES),
            status=PENDING,
            due_at=None,
            settle_from=None,
            now=NOW,
            lease_owner="me",
            lease_until=NOW,
        )
        sealed = passcodes.seal(
            runtime.sealer, PASSCODE, user_id=1, binding_id=binding_id, meeting_id=meeting_id
        )
        assert await store.save(
            session,
            binding_id=binding_id,
            owner="me",
            now=NOW,
            confirmed=Confirmed(meeting_id=meeting_id, join_url="https://z/j/1", series=SERIES),
            in_doubt=None,
            lost_at=None,
            sealed_passcode=sealed,
        )
    return binding_id


async def opened(runtime: Runtime, binding_id: int) -> str | None:
    async with transaction(runtime.sessions) as session:
        found = await store.load(session, binding_id=binding_id)
    assert found is not None and found.confirmed is not None
    return passcodes.open_passcode(
        runtime.sealer,
        found.sealed_passcode,
        user_id=found.user_id,
        binding_id=found.id,
        meeting_id=found.confirmed.meeting_id,
    )


def stored_text(database_url: str) -> str:
    engine = create_engine(driver_url(database_url, asynchronous=False))
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM calendar_bindings")).all()
    engine.dispose()
    return repr(rows)


async def test_a_passcode_is_sealed_bound_to_its_row_and_rotated(runtime: Runtime) -> None:
    async with transaction(runtime.sessions) as session:
        await add_local(session, username="u", password="password-123", now=NOW)
    first = await binding_with_passcode(runtime, "a", 81111111111)
    second = await binding_with_passcode(runtime, "b", 82222222222)
    assert await opened(runtime, first) == PASSCODE
    assert PASSCODE not in stored_text(runtime.settings.database_url)

    runtime.keys.ring = KeyRing((generate_key(), *runtime.keys.ring.keys))
    report = await reseal_all(runtime.sessions, runtime.sealer, others=(passcodes.reseal,))
    assert report.resealed == 2
    async with transaction(runtime.sessions) as session:
        first_row = await session.get(CalendarBinding, first)
        assert first_row is not None and first_row.passcode_key_id == runtime.sealer.primary_kid
        kid, sealed = first_row.passcode_key_id, first_row.sealed_passcode
    assert await opened(runtime, first) == PASSCODE

    # A sealed passcode copied into another row does not open there.
    async with transaction(runtime.sessions) as session:
        await session.execute(
            update(CalendarBinding)
            .where(CalendarBinding.id == second)
            .values(passcode_key_id=kid, sealed_passcode=sealed)
        )
    with pytest.raises(SealedDataUnreadable):
        await opened(runtime, second)


def test_the_migration_takes_plain_passcodes_out_and_asks_zoom_again(database_url: str) -> None:
    config = alembic_config(database_url)
    command.downgrade(config, "0003_calendar")
    engine = create_engine(driver_url(database_url, asynchronous=False))
    confirmed = {"meeting_id": 81234567890, "join_url": "https://z/j/1", "password": PASSCODE}
    confirmed["series"] = {"topic": "T", "type": 2, "start": "2026-12-04T12:00:00Z"}
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO users (id, username, display_name, source, is_admin, created_at) "
                "VALUES (1, 'u', 'u', 'local', false, :now)"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        for binding_id, password in ((1, PASSCODE), (2, None)):
            connection.execute(
                text(
                    "INSERT INTO calendar_bindings (id, user_id, event_key, desired, "
                    "desired_version, deleted, confirmed, zoom_meeting_id, status, attempts, "
                    "link_changed, created_at, updated_at) VALUES (:id, 1, :key, :desired, 1, "
                    "false, :confirmed, 81234567890, 'synced', 0, false, :now, :now)"
                ),
                {
                    "id": binding_id,
                    "key": f"e{binding_id}",
                    "desired": "{}",
                    "confirmed": json.dumps(confirmed | {"password": password}),
                    "now": NOW.replace(tzinfo=None),
                },
            )
    command.upgrade(config, "heads")
    assert PASSCODE not in stored_text(database_url)
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT zoom_changed_at, due_at, sealed_passcode, confirmed FROM calendar_bindings"
                " ORDER BY id"
            )
        ).all()
    engine.dispose()
    (changed, due, sealed, _), (untouched, not_due, _, without) = rows
    assert changed is not None and due is not None and sealed is None
    # A meeting that had no passcode has nothing to fetch again.
    without = json.loads(without) if isinstance(without, str) else without
    assert untouched is None and not_due is None and "password" not in without


async def test_a_save_that_only_read_the_passcode_leaves_it_as_stored(runtime: Runtime) -> None:
    """Regression: every save wrote back the passcode the pass had read, undoing a rotation
    that re-sealed it meanwhile."""
    async with transaction(runtime.sessions) as session:
        await add_local(session, username="u", password="password-123", now=NOW)
    binding_id = await binding_with_passcode(runtime, "a", 81111111111)
    async with transaction(runtime.sessions) as session:
        before = await store.load(session, binding_id=binding_id)
        assert before is not None and before.confirmed is not None
        await session.execute(
            update(CalendarBinding)
            .where(CalendarBinding.id == binding_id)
            .values(passcode_key_id="rotated", sealed_passcode=b"re-sealed")
        )
        assert await store.save(
            session,
            binding_id=binding_id,
            owner="me",
            now=NOW,
            confirmed=before.confirmed,
            in_doubt=None,
            lost_at=None,
        )
    async with transaction(runtime.sessions) as session:
        row = await session.get(CalendarBinding, binding_id, populate_existing=True)
        assert row is not None and (row.passcode_key_id, row.sealed_passcode) == (
            "rotated",
            b"re-sealed",
        )


async def test_rotation_never_overwrites_a_passcode_stored_while_it_ran(runtime: Runtime) -> None:
    """Regression: a passcode a worker sealed (under the old key, its ring not yet reloaded)
    while the rotation ran was overwritten with the re-sealed old one."""
    async with transaction(runtime.sessions) as session:
        await add_local(session, username="u", password="password-123", now=NOW)
    binding_id = await binding_with_passcode(runtime, "a", 81111111111)
    old_sealer = Sealer(KeySource(runtime.settings))  # a worker that has not seen the new key
    new_keys = KeySource(runtime.settings)
    new_keys.ring = KeyRing((generate_key(), *new_keys.ring.keys))
    rotating = Sealer(new_keys)
    opened_once: list[bool] = []
    worker = create_engine(driver_url(runtime.settings.database_url, asynchronous=False))

    class WorkerSealsMeanwhile(Sealer):
        def open(self, kid: str, sealed: bytes, context: bytes) -> bytes:
            plaintext = rotating.open(kid, sealed, context)
            if not opened_once:
                opened_once.append(True)
                newer = passcodes.seal(
                    old_sealer, "n3wer", user_id=1, binding_id=binding_id, meeting_id=81111111111
                )
                assert newer is not None
                with worker.begin() as connection:
                    connection.execute(
                        update(CalendarBinding)
                        .where(CalendarBinding.id == binding_id)
                        .values(passcode_key_id=newer[0], sealed_passcode=newer[1])
                    )
            return plaintext

    report = await reseal_all(
        runtime.sessions,
        WorkerSealsMeanwhile(rotating.keys),
        others=(passcodes.reseal,),
        leftovers=(passcodes.left_to_reseal,),
    )
    worker.dispose()
    assert opened_once and report.resealed == 0 and report.remaining == 1
    assert await opened(runtime, binding_id) == "n3wer"  # run again to finish
