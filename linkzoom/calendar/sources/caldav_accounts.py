"""The logins of watched CalDAV calendars: each calendar is read with its owner's login (or an
app password), the password sealed by the vault and bound to the calendar's row, so a value
copied to another row does not open. Write-only: nothing shows it again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.calendar.sources import mailboxes
from linkzoom.calendar.sources.base import SourceError
from linkzoom.problems import FieldError, SealedDataUnreadable, ValidationFailed
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.mailbox_tables import WatchedMailbox
from linkzoom.store.models import User
from linkzoom.vault.seal import Sealer, preference_context

CALDAV = "caldav"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
MAX_URL = 320  # the column holding a mailbox's address


@dataclass(frozen=True, kw_only=True)
class Login:
    username: str
    password: str


def _context(user_id: int, mailbox_id: int) -> bytes:
    return preference_context(user_id, "linkzoom.caldav", str(mailbox_id))


def collection_url(url: str) -> str:
    """A collection's URL ends with a slash; servers answer either, the watch keys on this one."""
    url = url.strip()
    return url if url.endswith("/") or not url else url + "/"


def check(*, url: str, login: str, password: str | None) -> None:
    errors = []
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        errors.append(
            ("url", "must be the calendar's URL, e.g. https://dav.example.org/alice/work/")
        )
    elif parts.scheme == "http" and parts.hostname not in _LOOPBACK:
        errors.append(("url", "must be https: the password travels with every request"))
    elif len(url) > MAX_URL:
        errors.append(("url", f"must be at most {MAX_URL} characters"))
    if not login.strip():
        errors.append(("login", "is required"))
    if password is not None and not password:
        errors.append(("password", "must not be empty"))
    if errors:
        raise ValidationFailed([FieldError(field=f, message=m) for f, m in errors])


async def enrol(
    session: AsyncSession,
    sealer: Sealer,
    *,
    username: str,
    url: str,
    login: str,
    password: str | None,
    actor: str,
    now: datetime,
) -> int:
    """Watch the CalDAV calendar at ``url`` for ``username``; ``password`` ``None`` keeps the
    stored one (it is required the first time)."""
    url = collection_url(url)
    check(url=url, login=login, password=password)
    user = await session.scalar(
        select(User).where(User.username == username, User.disabled_at.is_(None))
    )
    if user is None:
        raise ValidationFailed.one("user", f"no such user: {username}")
    existing = await session.scalar(
        select(WatchedMailbox).where(WatchedMailbox.source == CALDAV, WatchedMailbox.address == url)
    )
    if password is None and (
        existing is None or existing.secret is None or existing.user_id != user.id
    ):
        # The stored password is sealed for its user: another owner needs it typed again.
        raise ValidationFailed.one("password", "is required the first time")
    mailbox_id = await mailboxes.enrol(
        session, user_id=user.id, source=CALDAV, address=url, now=now
    )
    values: dict[str, object] = {"login": login.strip()}
    if password is not None:
        kid, sealed = sealer.seal(password.encode(), _context(user.id, mailbox_id))
        values |= {"secret_key_id": kid, "secret": sealed}
    await session.execute(
        update(WatchedMailbox).where(WatchedMailbox.id == mailbox_id).values(**values)
    )
    await audit.record(
        session,
        action="mailbox.enrolled",
        at=now,
        actor=actor,
        detail={"source": CALDAV, "calendar": url, "user": username},
    )
    return mailbox_id


class Logins:
    """The login of each watched calendar, read at each poll (one small query), so a changed
    password is used from the next poll on, in every process."""

    def __init__(self, sessions: SessionFactory, sealer: Sealer) -> None:
        self._sessions = sessions
        self._sealer = sealer

    async def __call__(self, address: str) -> Login:
        async with transaction(self._sessions) as session:
            row = (
                await session.execute(
                    select(
                        WatchedMailbox.id,
                        WatchedMailbox.user_id,
                        WatchedMailbox.login,
                        WatchedMailbox.secret_key_id,
                        WatchedMailbox.secret,
                    ).where(WatchedMailbox.source == CALDAV, WatchedMailbox.address == address)
                )
            ).one_or_none()
        if row is None or row.login is None or row.secret is None or row.secret_key_id is None:
            raise SourceError("No login is stored for this calendar; enrol it again.")
        try:
            password = self._sealer.open(
                row.secret_key_id, row.secret, _context(row.user_id, row.id)
            )
        except SealedDataUnreadable as exc:
            raise SourceError(
                "The calendar's stored password cannot be read; enrol it again."
            ) from exc
        return Login(username=row.login, password=password.decode())


async def left_to_reseal(session: AsyncSession, primary_kid: str) -> int:
    """Calendar passwords still sealed under another key than ``primary_kid``."""
    count = await session.scalar(
        select(func.count())
        .select_from(WatchedMailbox)
        .where(WatchedMailbox.secret.is_not(None), WatchedMailbox.secret_key_id != primary_kid)
    )
    return int(count or 0)


async def reseal(session: AsyncSession, sealer: Sealer) -> int:
    """Re-seal every calendar password not under the primary key; each row a compare-and-swap
    on the sealed value, so a password an administrator set meanwhile is never overwritten."""
    count = 0
    rows = await session.execute(
        select(
            WatchedMailbox.id,
            WatchedMailbox.user_id,
            WatchedMailbox.secret_key_id,
            WatchedMailbox.secret,
        ).where(
            WatchedMailbox.secret.is_not(None),
            WatchedMailbox.secret_key_id != sealer.primary_kid,
        )
    )
    for mailbox_id, user_id, kid, ciphertext in rows.all():
        assert kid is not None and ciphertext is not None  # written together by enrol
        context = _context(user_id, mailbox_id)
        new_kid, sealed = sealer.seal(sealer.open(kid, ciphertext, context), context)
        result = await session.execute(
            update(WatchedMailbox)
            .where(
                WatchedMailbox.id == mailbox_id,
                WatchedMailbox.secret_key_id == kid,
                WatchedMailbox.secret == ciphertext,
            )
            .values(secret_key_id=new_kid, secret=sealed)
            .execution_options(synchronize_session=False)
        )
        count += getattr(result, "rowcount", 0)
    return count
