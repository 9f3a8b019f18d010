"""Which key ids the stored ciphertexts name that the key ring does not hold.

Every sealed column of every table is listed here, so ``/readyz`` can refuse to call a process
ready that would answer "sealed-data-unreadable" for stored secrets: a process started with
the wrong ``LINKZOOM_KEYS`` (or its own generated ring) is taken out of the load balancer
instead of failing users one request at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from linkzoom.problems import SealedDataUnreadable
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.compose_tables import ComposeMeeting
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.grant_tables import ZoomAuthorization, ZoomPendingRevoke
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import Preference
from linkzoom.vault import preferences
from linkzoom.vault.seal import Sealer

SEALED_KEY_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    Preference.key_id,
    SealedSetting.key_id,
    ZoomPendingRevoke.key_id,
    CalendarBinding.passcode_key_id,
    ZoomAuthorization.verifier_key_id,
    ZoomAuthorization.grant_key_id,
    WatchedMailbox.secret_key_id,
    ComposeMeeting.answer_key_id,
)


async def missing_key_ids(
    session: AsyncSession, *, known: Callable[[str], bool], sealer: Sealer
) -> set[str]:
    """Key ids in use that ``known`` does not recognise (``KeySource.find`` re-reads a file
    ring first, so a key just added elsewhere is found), and key ids whose sample preference
    does not open: the same id given other key bytes in another process's ``LINKZOOM_KEYS``."""
    used: set[str] = set()
    for column in SEALED_KEY_COLUMNS:
        used.update(
            kid
            for kid in await session.scalars(select(column).where(column.is_not(None)).distinct())
            if kid is not None
        )
    missing = {kid for kid in used if not known(kid)}
    for kid in used - missing:
        sample = await session.scalar(select(Preference).where(Preference.key_id == kid).limit(1))
        if sample is None:
            continue
        try:
            preferences.open_row(sealer, sample)
        except SealedDataUnreadable:
            missing.add(kid)
    return missing
