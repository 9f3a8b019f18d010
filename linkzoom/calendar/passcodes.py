"""Meeting passcodes at rest: sealed with the vault's key ring, never stored in the clear.

A passcode is sealed as soon as Zoom tells it to us and opened only to answer the add-in. The
associated data names the user, the binding and the meeting, so a sealed passcode copied to
another row does not open. ``linkzoom keys rotate`` re-seals them through :func:`reseal`.
"""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.vault.seal import Sealer, preference_context

Sealed = tuple[str, bytes]  # key id, nonce + ciphertext


def _context(user_id: int, binding_id: int, meeting_id: int) -> bytes:
    return preference_context(user_id, "linkzoom.calendar", f"passcode/{binding_id}/{meeting_id}")


def seal(
    sealer: Sealer, passcode: str | None, *, user_id: int, binding_id: int, meeting_id: int
) -> Sealed | None:
    if not passcode:
        return None
    return sealer.seal(passcode.encode(), _context(user_id, binding_id, meeting_id))


def open_passcode(
    sealer: Sealer, sealed: Sealed | None, *, user_id: int, binding_id: int, meeting_id: int
) -> str | None:
    if sealed is None:
        return None
    kid, ciphertext = sealed
    return sealer.open(kid, ciphertext, _context(user_id, binding_id, meeting_id)).decode()


async def left_to_reseal(session: AsyncSession, primary_kid: str) -> int:
    """Passcodes still sealed under another key than ``primary_kid``."""
    count = await session.scalar(
        select(func.count())
        .select_from(CalendarBinding)
        .where(
            CalendarBinding.sealed_passcode.is_not(None),
            CalendarBinding.passcode_key_id != primary_kid,
        )
    )
    return int(count or 0)


async def reseal(session: AsyncSession, sealer: Sealer) -> int:
    """Re-seal every passcode not under the primary key. Each row is a compare-and-swap on the
    sealed value and its meeting: a passcode a worker stored meanwhile (perhaps still under the
    old key, if that process has not seen the new ring yet) is never overwritten; a later run
    re-seals it."""
    count = 0
    rows = await session.execute(
        select(
            CalendarBinding.id,
            CalendarBinding.user_id,
            CalendarBinding.zoom_meeting_id,
            CalendarBinding.passcode_key_id,
            CalendarBinding.sealed_passcode,
        ).where(
            CalendarBinding.sealed_passcode.is_not(None),
            CalendarBinding.passcode_key_id != sealer.primary_kid,
        )
    )
    for binding_id, user_id, meeting_id, kid, ciphertext in rows.all():
        # ``store.save`` writes the passcode together with its meeting: neither is missing.
        assert meeting_id is not None and kid is not None and ciphertext is not None
        context = _context(user_id, binding_id, meeting_id)
        new_kid, sealed = sealer.seal(sealer.open(kid, ciphertext, context), context)
        result = await session.execute(
            update(CalendarBinding)
            .where(
                CalendarBinding.id == binding_id,
                CalendarBinding.zoom_meeting_id == meeting_id,
                CalendarBinding.passcode_key_id == kid,
                CalendarBinding.sealed_passcode == ciphertext,
            )
            .values(passcode_key_id=new_kid, sealed_passcode=sealed)
            .execution_options(synchronize_session=False)
        )
        count += getattr(result, "rowcount", 0)
    return count
