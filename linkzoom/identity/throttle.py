"""Login throttling per account, per account-and-address and per address, shared by processes.

The arithmetic is pure (:func:`block_after`); the store functions apply it. Three keys:

- ``pair:NAME@ADDR`` blocks soonest: one client guessing one account;
- ``user:NAME`` allows more, so a stranger elsewhere cannot lock a user out as fast as the
  user's own client would be, while guesses spread over many addresses still slow down;
- ``addr:ADDR`` allows the most (one office NAT serves many people) and catches one client
  spraying many accounts. Behind a proxy it is only useful with the proxy named in
  ``LINKZOOM_TRUSTED_PROXIES``; otherwise every client shares the proxy's address.

An attempt is *counted before the password is checked* (:func:`admit`, one atomic upsert per key),
so a burst of parallel guesses cannot all pass the check before any is recorded: the sixth of
fifty parallel guesses is refused while the first five are still being verified. A success takes
its count back (:func:`succeeded`): the account's keys are cleared, the address keeps the rest,
so guessing from one address stays slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import TooManyAttempts
from linkzoom.store.db import dialect_insert
from linkzoom.store.models import LoginThrottle


@dataclass(frozen=True, kw_only=True)
class ThrottlePolicy:
    free_failures: int
    window: timedelta = timedelta(minutes=15)
    first_block: timedelta = timedelta(seconds=30)
    max_block: timedelta = timedelta(minutes=15)


PAIR_POLICY = ThrottlePolicy(free_failures=5)
USER_POLICY = ThrottlePolicy(free_failures=10)
ADDRESS_POLICY = ThrottlePolicy(free_failures=20)
_REFUSED = "Too many failed sign-in attempts. Wait a moment and try again."


def block_after(policy: ThrottlePolicy, failures: int, now: datetime) -> datetime | None:
    """When ``failures`` failures are on record, the instant until which attempts are refused."""
    excess = failures - policy.free_failures
    if excess < 0:
        return None
    block: timedelta = min(policy.first_block * (2 ** min(excess, 16)), policy.max_block)
    return now + block


def keys_for(username: str, address: str | None) -> list[tuple[str, ThrottlePolicy]]:
    """The buckets of a sign-in; ``username`` in the one form
    :func:`~linkzoom.identity.usernames.normalise_username` gives, so a person typing their name
    two ways fills one bucket."""
    keys = [(f"user:{username}", USER_POLICY)]
    if address:
        keys += [(f"pair:{username}@{address}", PAIR_POLICY), (f"addr:{address}", ADDRESS_POLICY)]
    return keys


async def admit(
    session: AsyncSession, keys: list[tuple[str, ThrottlePolicy]], now: datetime
) -> None:
    """Count this attempt against every key, or refuse it (``TooManyAttempts``, nothing
    counted) while a key is blocked. An attempt that reaches a key's limit blocks the key at
    once, as if it had failed, so the attempts racing it are refused while it is checked.
    Commit the caller's transaction before checking the password, so others see the count."""
    for key, policy in keys:
        # The upsert locks the row until commit: attempts on one key pass here one at a time.
        failures, blocked_until = await _count(session, key, policy, now)
        if blocked_until is not None and blocked_until > now:
            wait = (blocked_until - now).total_seconds()
            raise TooManyAttempts(_REFUSED, retry_after_seconds=wait)
        if (until := block_after(policy, failures, now)) is not None:
            await session.execute(
                update(LoginThrottle).where(LoginThrottle.key == key).values(blocked_until=until)
            )


async def failed(
    session: AsyncSession, keys: list[tuple[str, ThrottlePolicy]], now: datetime
) -> None:
    """The attempt :func:`admit` counted failed: block each key its count now calls for."""
    for key, policy in keys:
        row = await session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if row is not None:
            row.blocked_until = block_after(policy, row.failures, now)


async def succeeded(
    session: AsyncSession, keys: list[tuple[str, ThrottlePolicy]], username: str, now: datetime
) -> None:
    """Clear the account's keys; the address takes back only this attempt's count."""
    await session.execute(
        delete(LoginThrottle).where(
            (LoginThrottle.key == f"user:{username}")
            | LoginThrottle.key.startswith(f"pair:{username}@", autoescape=True)
        )
    )
    for key, policy in keys:
        if not key.startswith("addr:"):
            continue
        row = await session.get(LoginThrottle, key, with_for_update=True, populate_existing=True)
        if row is not None and row.failures > 0:
            row.failures -= 1
            row.blocked_until = block_after(policy, row.failures, now)


async def _count(
    session: AsyncSession, key: str, policy: ThrottlePolicy, now: datetime
) -> tuple[int, datetime | None]:
    """One atomic upsert: a new key starts at one, a key past its window starts again. Returns
    the count and the block in force before this attempt."""
    table = LoginThrottle.__table__.c
    insert = dialect_insert(session)
    lapsed = table.window_started_at < now - policy.window
    upsert = (
        insert(LoginThrottle)
        .values(key=key, failures=1, window_started_at=now, blocked_until=None)
        .on_conflict_do_update(
            index_elements=[table.key],
            set_={
                "failures": case((lapsed, 1), else_=table.failures + 1),
                "window_started_at": case((lapsed, now), else_=table.window_started_at),
                "blocked_until": case((lapsed, None), else_=table.blocked_until),
            },
        )
        .returning(table.failures, table.blocked_until)
    )
    failures, blocked_until = (await session.execute(upsert)).one()
    return int(failures), blocked_until


async def prune(session: AsyncSession, now: datetime) -> None:
    horizon = now - max(USER_POLICY.window, ADDRESS_POLICY.window) - USER_POLICY.max_block
    await session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at < horizon))
