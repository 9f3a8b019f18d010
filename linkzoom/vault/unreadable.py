"""Forget every stored secret no key of the ring opens: the way on when a key ring is lost for
good (docs/operations.md, *Backup and restore*).

Until then ``/readyz`` answers 503 and each such secret fails where it is used. What is forgotten,
and what that means:

- a preference (the ``Zoom``/``oauth`` grant and its ``zoom_grants`` row, by cascade): the user
  connects Zoom again;
- a setting sealed on the console (the Zoom app's secret, a mailbox source's credential): the
  administrator enters it again;
- a calendar's CalDAV password: entered again on the console's *Mailboxes* page;
- a revocation owed to Zoom, a consent in flight: dropped (neither can be completed without its
  token);
- a calendar meeting's passcode: left empty, and fetched from Zoom again by the reconciler;
- a compose answer kept for an ``Idempotency-Key``: dropped with its key (a retry makes a new
  meeting, as after a day).

Key ids come from :func:`linkzoom.vault.key_check.missing_key_ids`, which also names an id whose
bytes differ from the ring's: that id's secrets are unreadable too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.store.calendar_tables import CalendarBinding
from linkzoom.store.compose_tables import ComposeMeeting
from linkzoom.store.controller_tables import SealedSetting
from linkzoom.store.grant_tables import ZoomAuthorization, ZoomPendingRevoke
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import Preference
from linkzoom.vault.key_check import missing_key_ids
from linkzoom.vault.seal import Sealer


async def forget_unreadable(
    session: AsyncSession,
    *,
    known: Callable[[str], bool],
    sealer: Sealer,
    now: datetime,
    actor: str,
) -> dict[str, int]:
    """Forget what the ring cannot open; how many of each kind, also written to the audit log."""
    lost = sorted(await missing_key_ids(session, known=known, sealer=sealer))
    if not lost:
        return {}
    counts = {
        "preferences": await _delete(
            session, delete(Preference).where(Preference.key_id.in_(lost))
        ),
        "sealed settings": await _delete(
            session, delete(SealedSetting).where(SealedSetting.key_id.in_(lost))
        ),
        "owed revocations": await _delete(
            session, delete(ZoomPendingRevoke).where(ZoomPendingRevoke.key_id.in_(lost))
        ),
        "consents in flight": await _delete(
            session,
            delete(ZoomAuthorization).where(
                or_(
                    ZoomAuthorization.verifier_key_id.in_(lost),
                    ZoomAuthorization.grant_key_id.in_(lost),
                )
            ),
        ),
        "calendar passcodes": await _delete(
            session,
            update(CalendarBinding)
            .where(CalendarBinding.passcode_key_id.in_(lost))
            .values(passcode_key_id=None, sealed_passcode=None),
        ),
        "calendar passwords": await _delete(
            session,
            update(WatchedMailbox)
            .where(WatchedMailbox.secret_key_id.in_(lost))
            .values(secret_key_id=None, secret=None),
        ),
        "kept compose answers": await _delete(
            session,
            update(ComposeMeeting)
            .where(ComposeMeeting.answer_key_id.in_(lost))
            .values(
                answer_key_id=None,
                sealed_answer=None,
                idempotency_key_hash=None,
                request_digest=None,
            ),
        ),
    }
    await audit.record(
        session,
        action="keys.unreadable_forgotten",
        at=now,
        actor=actor,
        detail={"key_ids": lost, **{k.replace(" ", "_"): v for k, v in counts.items()}},
    )
    return counts


async def _delete(session: AsyncSession, statement: Any) -> int:
    result = await session.execute(statement)
    return int(getattr(result, "rowcount", 0) or 0)
