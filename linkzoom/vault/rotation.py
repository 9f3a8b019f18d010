"""Re-seal every stored secret under the primary key: resumable and safe to interrupt.

Each batch is its own transaction and each row is rewritten with a compare-and-swap on its
``version``, so a rotation killed half-way leaves every row readable (old or new key, both in
the ring) and a token refresh racing the rotation wins without being overwritten: the next pass
picks that row up again if it still needs it. Running it again simply finishes the job.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.grant_tables import ZoomAuthorization
from linkzoom.store.models import Preference
from linkzoom.vault.seal import Sealer, preference_context


@dataclass(frozen=True, kw_only=True)
class RotationReport:
    primary_kid: str
    resealed: int
    remaining: int


# Other capabilities seal values of their own (the admin-set Zoom app secrets, owed revokes);
# they hand rotation a function that re-seals theirs, so the vault need not know their tables.
Resealer = Callable[[AsyncSession, Sealer], Awaitable[int]]
# Counts a capability's values still under another key than the primary (named by its kid), for
# values a running process may seal under a key it has not yet seen replaced.
Leftovers = Callable[[AsyncSession, str], Awaitable[int]]


async def reseal_all(
    sessions: SessionFactory,
    sealer: Sealer,
    *,
    batch: int = 200,
    others: Sequence[Resealer] = (),
    leftovers: Sequence[Leftovers] = (),
) -> RotationReport:
    primary = sealer.primary_kid
    resealed = 0
    while True:
        async with transaction(sessions) as session:
            rows = list(
                await session.scalars(
                    select(Preference)
                    .where(Preference.key_id != primary)
                    .order_by(Preference.id)
                    .limit(batch)
                )
            )
            for row in rows:
                context = _context(row)
                kid, ciphertext = sealer.seal(
                    sealer.open(row.key_id, row.ciphertext, context), context
                )
                result = await session.execute(
                    update(Preference)
                    .where(Preference.id == row.id, Preference.version == row.version)
                    .values(key_id=kid, ciphertext=ciphertext, version=row.version + 1)
                )
                resealed += getattr(result, "rowcount", 0)
        if len(rows) < batch:
            break
    resealed += await _reseal_verifiers(sessions, sealer)
    for reseal in others:
        async with transaction(sessions) as session:
            resealed += await reseal(session, sealer)
    async with transaction(sessions) as session:
        remaining = len(
            list(await session.scalars(select(Preference.id).where(Preference.key_id != primary)))
        )
        for count in leftovers:
            remaining += await count(session, primary)
    return RotationReport(primary_kid=primary, resealed=resealed, remaining=remaining)


async def _reseal_verifiers(sessions: SessionFactory, sealer: Sealer) -> int:
    """Consents still in flight hold sealed values too (the PKCE verifier, then the grant
    waiting for its claim); they live ten minutes."""
    count = 0
    async with transaction(sessions) as session:
        rows = await session.scalars(
            select(ZoomAuthorization).where(
                (
                    ZoomAuthorization.sealed_verifier.is_not(None)
                    & (ZoomAuthorization.verifier_key_id != sealer.primary_kid)
                )
                | (
                    ZoomAuthorization.sealed_grant.is_not(None)
                    & (ZoomAuthorization.grant_key_id != sealer.primary_kid)
                )
            )
        )
        for row in rows:
            if row.sealed_verifier is not None and row.verifier_key_id is not None:
                context = verifier_context(row.user_id, row.id)
                plaintext = sealer.open(row.verifier_key_id, row.sealed_verifier, context)
                row.verifier_key_id, row.sealed_verifier = sealer.seal(plaintext, context)
                count += 1
            if row.sealed_grant is not None and row.grant_key_id is not None:
                context = pending_grant_context(row.user_id, row.id)
                plaintext = sealer.open(row.grant_key_id, row.sealed_grant, context)
                row.grant_key_id, row.sealed_grant = sealer.seal(plaintext, context)
                count += 1
    return count


def verifier_context(user_id: int, authorization_id: int) -> bytes:
    return preference_context(user_id, "linkzoom.oauth", f"pkce-verifier/{authorization_id}")


def pending_grant_context(user_id: int, authorization_id: int) -> bytes:
    return preference_context(user_id, "linkzoom.oauth", f"pending-grant/{authorization_id}")


def _context(row: Preference) -> bytes:
    return preference_context(row.user_id, row.resource, row.tag)
