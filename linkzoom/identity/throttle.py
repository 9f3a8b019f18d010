"""Login throttling per user and per address, stored so every process shares it.

The arithmetic is pure (:func:`block_after`); the store functions apply it. A user key blocks
after a few failures with doubling back-off, an address after more (one office NAT serves many
people), and a success clears the user key only, so guessing from one address stays slow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.problems import TooManyAttempts
from linkzoom.store.models import LoginThrottle


@dataclass(frozen=True, kw_only=True)
class ThrottlePolicy:
    free_failures: int
    window: timedelta = timedelta(minutes=15)
    first_block: timedelta = timedelta(seconds=30)
    max_block: timedelta = timedelta(minutes=15)


USER_POLICY = ThrottlePolicy(free_failures=5)
ADDRESS_POLICY = ThrottlePolicy(free_failures=20)


def block_after(policy: ThrottlePolicy, failures: int, now: datetime) -> datetime | None:
    """When ``failures`` failures are on record, the instant until which attempts are refused."""
    excess = failures - policy.free_failures
    if excess < 0:
        return None
    block: timedelta = min(policy.first_block * (2 ** min(excess, 16)), policy.max_block)
    return now + block


def keys_for(username: str, address: str | None) -> list[tuple[str, ThrottlePolicy]]:
    keys = [(f"user:{username}", USER_POLICY)]
    if address:
        keys.append((f"addr:{address}", ADDRESS_POLICY))
    return keys


async def check(
    session: AsyncSession, keys: list[tuple[str, ThrottlePolicy]], now: datetime
) -> None:
    for key, _policy in keys:
        row = await session.get(LoginThrottle, key)
        if row is not None and row.blocked_until is not None and row.blocked_until > now:
            raise TooManyAttempts(
                "Too many failed sign-in attempts. Wait a moment and try again.",
                retry_after_seconds=(row.blocked_until - now).total_seconds(),
            )


async def record_failure(
    session: AsyncSession, keys: list[tuple[str, ThrottlePolicy]], now: datetime
) -> None:
    for key, policy in keys:
        row = await session.get(LoginThrottle, key, with_for_update=True)
        if row is None or now - row.window_started_at > policy.window:
            if row is not None:
                await session.delete(row)
                await session.flush()
            row = LoginThrottle(key=key, failures=0, window_started_at=now, blocked_until=None)
            session.add(row)
        row.failures += 1
        row.blocked_until = block_after(policy, row.failures, now)


async def clear_user(session: AsyncSession, username: str) -> None:
    await session.execute(delete(LoginThrottle).where(LoginThrottle.key == f"user:{username}"))


async def prune(session: AsyncSession, now: datetime) -> None:
    horizon = now - max(USER_POLICY.window, ADDRESS_POLICY.window) - USER_POLICY.max_block
    await session.execute(delete(LoginThrottle).where(LoginThrottle.window_started_at < horizon))
