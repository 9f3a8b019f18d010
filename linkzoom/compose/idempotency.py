"""One meeting per press of the Zoom button: the ``Idempotency-Key`` of a compose create.

The add-in sends a fresh key with each press (IETF draft-ietf-httpapi-idempotency-key-header).
A client that retries after a lost answer (a timeout, a dropped connection) sends the same key
and gets the first answer again instead of a second meeting:

- the key is recorded with the attempt row itself, by an insert that does nothing when the
  user already has a row with that key (a unique index on user and key digest), so the key costs
  no extra round trip, and two copies racing make one meeting;
- the successful answer is kept sealed by the vault (it carries the passcode) for a day;
- a repeat with another body is refused (422), a repeat while the first is still running waits
  (409 with ``Retry-After``), a repeat after the meeting was discarded is a 404;
- an answer that was an error is not kept: the key is released, so the retry creates anew (the
  lost-create lookup still finds or deletes whatever Zoom made the first time).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.compose.models import ComposedMeeting, ComposeOrder, Keyed
from linkzoom.problems import IdempotencyKeyInUse, NotFound, ValidationFailed
from linkzoom.store.compose_tables import ComposeMeeting
from linkzoom.store.programs import Program, Statement
from linkzoom.vault.seal import Sealer, preference_context
from linkzoom.zoom.invitation import Invitation

HEADER = "Idempotency-Key"
MAX_KEY = 255
RETENTION = timedelta(hours=24)


def keyed(key: str | None, order: ComposeOrder) -> Keyed | None:
    """``None`` without a key; a key must be 1 to 255 printable ASCII characters."""
    if key is None:
        return None
    if not 0 < len(key) <= MAX_KEY or not all(" " <= c <= "~" for c in key):
        raise ValidationFailed.one(HEADER, f"must be 1 to {MAX_KEY} printable ASCII characters")
    fingerprint = json.dumps(
        [order.topic, order.duration_minutes, order.timezone], separators=(",", ":")
    )
    return Keyed(
        key_hash=hashlib.sha256(key.encode()).digest(),
        request_digest=hashlib.sha256(fingerprint.encode()).digest(),
    )


def _context(user_id: int, row_id: str) -> bytes:
    return preference_context(user_id, "linkzoom.compose", f"answer/{row_id}")


_T = ComposeMeeting.__table__.c
_EARLIER = Statement(
    select(_T.id, _T.state, _T.request_digest, _T.answer_key_id, _T.sealed_answer).where(
        _T.user_id == bindparam("user_id"), _T.idempotency_key_hash == bindparam("key_hash")
    )
)
_KEEP = Statement(
    update(ComposeMeeting)
    .where(_T.id == bindparam("row_id"))
    .values(answer_key_id=bindparam("kid"), sealed_answer=bindparam("sealed"))
)


def earlier(sealer: Sealer, *, user_id: int, keyed: Keyed) -> Program[ComposedMeeting]:
    """The first answer for this key (the insert found it taken), or the problem to answer."""
    row = (yield _EARLIER(user_id=user_id, key_hash=keyed.key_hash)).first()
    if row is None:  # released between our insert and this read: the client may retry
        raise IdempotencyKeyInUse("The first request with this Idempotency-Key just ended.")
    row_id, state, request_digest, answer_key_id, sealed_answer = row
    if request_digest != keyed.request_digest:
        raise ValidationFailed.one(
            HEADER, "was already used for a different request; send a new key"
        )
    if sealed_answer is None or answer_key_id is None:
        if state == "creating":
            raise IdempotencyKeyInUse(
                "The first request with this Idempotency-Key is still being answered."
            )
        raise NotFound("The meeting this Idempotency-Key created was discarded.")
    if state != "active":
        raise NotFound("The meeting this Idempotency-Key created was discarded.")
    return _opened(sealer.open(answer_key_id, sealed_answer, _context(user_id, row_id)))


def keeping_answer(sealer: Sealer, *, user_id: int, answer: ComposedMeeting) -> Program[None]:
    kid, sealed = sealer.seal(_sealable(answer), _context(user_id, answer.id))
    yield _KEEP(row_id=answer.id, kid=kid, sealed=sealed)


async def release(session: AsyncSession, *, row_id: str) -> None:
    """The attempt's answer was an error: free its key for the client's retry."""
    await session.execute(
        update(ComposeMeeting)
        .where(ComposeMeeting.id == row_id)
        .values(idempotency_key_hash=None, request_digest=None)
    )


async def prune(session: AsyncSession, *, now: datetime) -> None:
    """Keys and answers older than :data:`RETENTION` are forgotten (the key may be reused)."""
    await session.execute(
        update(ComposeMeeting)
        .where(
            ComposeMeeting.idempotency_key_hash.is_not(None),
            ComposeMeeting.attempted_at < now - RETENTION,
        )
        .values(
            idempotency_key_hash=None, request_digest=None, answer_key_id=None, sealed_answer=None
        )
    )


async def reseal(session: AsyncSession, sealer: Sealer) -> int:
    """``linkzoom keys rotate``: kept answers are sealed too."""
    rows = await session.scalars(
        select(ComposeMeeting).where(
            ComposeMeeting.sealed_answer.is_not(None),
            ComposeMeeting.answer_key_id != sealer.primary_kid,
        )
    )
    count = 0
    for row in list(rows):
        assert row.sealed_answer is not None and row.answer_key_id is not None
        context = _context(row.user_id, row.id)
        row.answer_key_id, row.sealed_answer = sealer.seal(
            sealer.open(row.answer_key_id, row.sealed_answer, context), context
        )
        count += 1
    return count


def _sealable(answer: ComposedMeeting) -> bytes:
    data: dict[str, Any] = {
        "id": answer.id,
        "zoom_meeting_id": answer.zoom_meeting_id,
        "join_url": answer.join_url,
        "passcode": answer.passcode,
        "start_time": answer.start_time.isoformat(),
        "duration_minutes": answer.duration_minutes,
        "timezone": answer.timezone,
        "invitation": {"text": answer.invitation.text, "html": answer.invitation.html},
    }
    return json.dumps(data).encode()


def _opened(plaintext: bytes) -> ComposedMeeting:
    data = json.loads(plaintext)
    return ComposedMeeting(
        id=data["id"],
        zoom_meeting_id=data["zoom_meeting_id"],
        join_url=data["join_url"],
        passcode=data["passcode"],
        start_time=datetime.fromisoformat(data["start_time"]),
        duration_minutes=data["duration_minutes"],
        timezone=data["timezone"],
        invitation=Invitation(text=data["invitation"]["text"], html=data["invitation"]["html"]),
    )
