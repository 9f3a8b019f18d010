"""``linkzoom keys rotate``: every row re-sealed, readable throughout, resumable."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from linkzoom.runtime import Runtime
from linkzoom.store.db import transaction
from linkzoom.store.models import Preference
from linkzoom.vault import preferences
from linkzoom.vault.keyring import KeyRing, generate_key
from linkzoom.vault.rotation import reseal_all
from tests.vault.test_preferences import make_users

NOW = datetime(2026, 11, 22, 12, tzinfo=UTC)


async def seed(runtime: Runtime, count: int) -> list[int]:
    users = await make_users(runtime, *(f"user{i}" for i in range(count)))
    async with transaction(runtime.sessions) as session:
        for user_id in users:
            for tag in ("oauth", "defaults"):
                await preferences.put(
                    session,
                    runtime.sealer,
                    user_id=user_id,
                    resource="Zoom",
                    tag=tag,
                    payload={"value": f"{user_id}-{tag}"},
                    now=NOW,
                )
    return users


async def all_open(runtime: Runtime) -> dict[tuple[int, str], str]:
    async with transaction(runtime.sessions) as session:
        rows = await session.scalars(select(Preference))
        return {(r.user_id, r.tag): preferences.open_row(runtime.sealer, r)["value"] for r in rows}


async def test_rotation_reseals_everything_and_keeps_it_readable(runtime: Runtime) -> None:
    await seed(runtime, 7)
    before = await all_open(runtime)
    old = runtime.keys.ring
    runtime.keys.ring = KeyRing((generate_key(), *old.keys))
    report = await reseal_all(runtime.sessions, runtime.sealer, batch=3)
    assert report.resealed == 14 and report.remaining == 0
    assert await all_open(runtime) == before
    async with transaction(runtime.sessions) as session:
        kids = set(await session.scalars(select(Preference.key_id)))
    assert kids == {runtime.keys.ring.primary.kid}
    # Once everything is re-sealed the old key can leave the ring.
    runtime.keys.ring = KeyRing((runtime.keys.ring.primary,))
    assert await all_open(runtime) == before


async def test_interrupted_rotation_leaves_everything_readable_and_resumes(
    runtime: Runtime,
) -> None:
    await seed(runtime, 5)
    before = await all_open(runtime)
    runtime.keys.ring = KeyRing((generate_key(), *runtime.keys.ring.keys))
    # Simulate a crash after the first batch: re-seal one batch by hand, then stop.
    async with transaction(runtime.sessions) as session:
        first = list(await session.scalars(select(Preference).order_by(Preference.id).limit(4)))
        for row in first:
            payload = preferences.open_row(runtime.sealer, row)
            await preferences.put(
                session,
                runtime.sealer,
                user_id=row.user_id,
                resource=row.resource,
                tag=row.tag,
                payload=payload,
                now=NOW,
            )
    assert await all_open(runtime) == before  # half old key, half new: all readable
    report = await reseal_all(runtime.sessions, runtime.sealer)
    assert report.resealed == 6 and report.remaining == 0
    assert await all_open(runtime) == before


async def test_rotation_also_reseals_app_secrets_and_owed_revokes(runtime: Runtime) -> None:
    from linkzoom.grant import revocations
    from linkzoom.store.controller_tables import SealedSetting
    from linkzoom.store.grant_tables import ZoomPendingRevoke
    from linkzoom.zoom import app_credentials
    from tests.grant.test_refresh import linked_user, stored

    user_id = await linked_user(runtime)
    state = await stored(runtime, user_id)
    async with transaction(runtime.sessions) as session:
        await app_credentials.save_stored(
            session,
            runtime.sealer,
            client_id="cid",
            client_secret="app-secret-1",
            webhook_secret="hook-secret-1",
            now=NOW,
        )
        await revocations.enqueue(session, runtime.sealer, state=state, now=NOW)
    runtime.keys.ring = KeyRing((generate_key(), *runtime.keys.ring.keys))
    report = await reseal_all(
        runtime.sessions,
        runtime.sealer,
        others=(app_credentials.reseal, revocations.reseal),
    )
    assert report.remaining == 0 and report.resealed == 1 + 2 + 1
    primary = runtime.keys.ring.primary.kid
    async with transaction(runtime.sessions) as session:
        assert set(await session.scalars(select(SealedSetting.key_id))) == {primary}
        assert set(await session.scalars(select(ZoomPendingRevoke.key_id))) == {primary}
        stored_app = await app_credentials.load_stored(session, runtime.sealer)
    assert stored_app.client_secret == "app-secret-1"
