"""Change-notification subscriptions of watched mailboxes, on their ``watched_mailboxes`` row.

The worker that holds a mailbox's lease makes and renews its subscription
(:func:`current`, :func:`save`). A notification (:func:`notified`) is trusted only as far as
"look at this mailbox now": it must name a subscription we hold and carry its client state,
compared in constant time with the digest we kept; then the mailbox becomes due, and a
lifecycle event also marks the subscription for renewal or for making anew. What changed is
always read from the mailbox by the next sync, so a forged or replayed notification can at
most cause one early poll, and a lost one delays a change only until the next poll.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom.calendar.sources.base import Subscription, SubscriptionState
from linkzoom.store.mailbox_tables import WatchedMailbox

# Graph's lifecycle events ("Reduce missing subscriptions and change notifications"); any
# other one (``missed``) only makes the mailbox due, as a change notification does.
REAUTHORIZATION_REQUIRED = "reauthorizationRequired"
SUBSCRIPTION_REMOVED = "subscriptionRemoved"


def digest(client_state: str) -> str:
    return hashlib.sha256(client_state.encode()).hexdigest()


async def current(session: AsyncSession, *, mailbox_id: int) -> SubscriptionState | None:
    row = (
        await session.execute(
            select(WatchedMailbox.subscription_id, WatchedMailbox.subscription_expires_at).where(
                WatchedMailbox.id == mailbox_id
            )
        )
    ).one_or_none()
    if row is None or row.subscription_id is None or row.subscription_expires_at is None:
        return None
    return SubscriptionState(id=row.subscription_id, expires_at=row.subscription_expires_at)


async def save(
    session: AsyncSession, *, mailbox_id: int, owner: str, subscription: Subscription
) -> bool:
    """Store a made or renewed subscription, if ``owner`` still holds the mailbox's lease."""
    values: dict[str, object] = {
        "subscription_id": subscription.id,
        "subscription_expires_at": subscription.expires_at,
    }
    if subscription.client_state is not None:
        values["client_state_digest"] = digest(subscription.client_state)
    result = await session.execute(
        update(WatchedMailbox)
        .where(WatchedMailbox.id == mailbox_id, WatchedMailbox.lease_owner == owner)
        .values(**values)
    )
    return bool(getattr(result, "rowcount", 0))


async def notified(
    session: AsyncSession,
    *,
    subscription_id: str,
    client_state: str,
    lifecycle_event: str | None,
    now: datetime,
) -> bool:
    """Make the subscribed mailbox due now; ``False`` (and nothing changed) when the
    subscription is not ours or the client state is not its own."""
    row = (
        await session.execute(
            select(WatchedMailbox.id, WatchedMailbox.client_state_digest).where(
                WatchedMailbox.subscription_id == subscription_id
            )
        )
    ).first()
    presented = digest(client_state)
    expected = row.client_state_digest if row is not None else None
    # Compared whether or not the subscription exists, so timing tells nothing either way.
    matches = hmac.compare_digest(presented, expected or "0" * len(presented))
    if row is None or expected is None or not matches:
        return False
    values: dict[str, object] = {"due_at": now}
    if lifecycle_event == REAUTHORIZATION_REQUIRED:
        values["subscription_expires_at"] = now  # renewed (reauthorized) at the next poll
    elif lifecycle_event == SUBSCRIPTION_REMOVED:
        values |= {"subscription_id": None, "subscription_expires_at": None}
    await session.execute(
        update(WatchedMailbox).where(WatchedMailbox.id == row.id).values(**values)
    )
    return True
