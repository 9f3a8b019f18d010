"""Zoom consent, one pass at a time: ticket → state + PKCE → code → stored grant.

1. The add-in asks for an authorization (``POST /api/v1/zoom/authorizations``) and gets a
   one-time URL holding a *ticket* bound to the signed-in user, valid ten minutes. The add-in
   opens it in a dialog whose browser has no session of ours: the ticket is the binding.
2. ``/oauth/zoom/start`` spends the ticket, creates the OAuth ``state`` and a PKCE verifier
   (sealed by the vault), and redirects to Zoom's consent page with the S256 challenge.
3. ``/oauth/zoom/callback`` spends the state, exchanges the code with the verifier, asks Zoom who
   consented, and stores the grant. Connecting a different Zoom account revokes the old grant.

Tickets and states are stored as SHA-256 digests, so the database cannot replay a consent.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.clock import Clock
from linkzoom.problems import AuthorizationFailed, Problem
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.models import User, ZoomAuthorization
from linkzoom.vault import zoom_grant
from linkzoom.vault.rotation import verifier_context
from linkzoom.vault.seal import Sealer
from linkzoom.zoom import reauthorization, revocations
from linkzoom.zoom.auth import ZoomBearerAuth
from linkzoom.zoom.client import ZoomClient
from linkzoom.zoom.models import ZoomUser
from linkzoom.zoom.oauth import ZoomOAuth
from linkzoom.zoom.pkce import challenge_s256, new_verifier

log = logging.getLogger(__name__)

TICKET_LIFETIME = timedelta(minutes=10)
START_PATH = "/oauth/zoom/start"
CALLBACK_PATH = "/oauth/zoom/callback"


@dataclass(frozen=True, kw_only=True)
class Linked:
    user_id: int
    zoom_user: ZoomUser
    replaced_other_account: bool


class _FixedToken:
    """Token provider for the single call made with a just-issued token (users/me)."""

    def __init__(self, token: str) -> None:
        self._token = token

    async def access_token(self) -> str:
        return self._token

    async def refreshed_access_token(self, rejected: str) -> str:
        raise AuthorizationFailed("Zoom refused the token it just issued; try connecting again.")


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


class Authorizations:
    def __init__(
        self,
        sessions: SessionFactory,
        sealer: Sealer,
        *,
        oauth: Callable[[], ZoomOAuth],
        zoom: ZoomClient,
        clock: Clock,
        public_url: str,
        reauthorize_after: timedelta,
        revoke_owed: Callable[[str], Awaitable[None]],
    ) -> None:
        self._revoke_owed = revoke_owed
        self._sessions = sessions
        self._sealer = sealer
        self._oauth = oauth
        self._zoom = zoom
        self._clock = clock
        self._public_url = public_url
        self._reauthorize_after = reauthorize_after

    async def mint_for(self, user_id: int) -> str:
        """A one-time URL that starts Zoom consent for ``user_id``."""
        ticket = secrets.token_urlsafe(32)
        now = self._clock()
        async with transaction(self._sessions) as session:
            session.add(
                ZoomAuthorization(
                    user_id=user_id,
                    ticket_hash=_digest(ticket),
                    created_at=now,
                    expires_at=now + TICKET_LIFETIME,
                )
            )
        return f"{self._public_url}{START_PATH}?{urlencode({'ticket': ticket})}"

    async def start(self, ticket: str) -> str:
        """Spend the ticket; returns Zoom's consent URL for this pass."""
        now = self._clock()
        state = secrets.token_urlsafe(32)
        verifier = new_verifier()
        async with transaction(self._sessions) as session:
            row = await session.scalar(
                select(ZoomAuthorization)
                .where(ZoomAuthorization.ticket_hash == _digest(ticket))
                .with_for_update()
            )
            if row is None or row.expires_at <= now or row.started_at is not None:
                raise AuthorizationFailed(
                    "This Zoom connection link has expired or was already used. "
                    "Start again from the add-in."
                )
            row.started_at = now
            row.state_hash = _digest(state)
            row.verifier_key_id, row.sealed_verifier = self._sealer.seal(
                verifier.encode(), verifier_context(row.user_id, row.id)
            )
        return self._oauth().authorize_url(state=state, code_challenge=challenge_s256(verifier))

    async def complete(
        self, *, state: str | None, code: str | None, error: str | None, address: str | None
    ) -> Linked:
        user_id, verifier = await self._spend_state(state)
        if error or not code:
            raise AuthorizationFailed(
                "Zoom authorization was declined."
                if error == "access_denied"
                else "Zoom did not return an authorization code."
            )
        try:
            tokens = await self._oauth().exchange_code(code=code, code_verifier=verifier)
            zoom_user = await self._zoom.get_me(
                auth=ZoomBearerAuth(_FixedToken(tokens.access_token))
            )
        except AuthorizationFailed:
            raise
        except Problem as exc:
            raise AuthorizationFailed(
                f"Zoom could not complete the authorization: {exc.detail}"
            ) from exc
        now = self._clock()
        owed: str | None = None
        async with transaction(self._sessions) as session:
            previous = await _previous(session, self._sealer, user_id)
            replaced = previous is not None and previous.zoom_user_id != zoom_user.id
            if replaced and previous is not None:
                # Zoom itself invalidates older tokens when the *same* account consents again;
                # a different account's grant would live on at Zoom unless we revoke it. The
                # revoke is owed from this commit on, and retried if Zoom cannot be reached.
                owed = await revocations.enqueue(session, self._sealer, state=previous, now=now)
            user = await session.get(User, user_id)
            await zoom_grant.store_new(
                session,
                self._sealer,
                user_id=user_id,
                tokens=tokens,
                zoom_user=zoom_user,
                now=now,
                reauthorize_after=await reauthorization.period(
                    session, default=self._reauthorize_after
                ),
            )
            await audit.record(
                session,
                action="zoom.granted",
                at=now,
                actor=user.username if user is not None else f"user:{user_id}",
                actor_user_id=user_id,
                subject_user_id=user_id,
                address=address,
                detail={"zoom_user_id": zoom_user.id, "zoom_account_id": zoom_user.account_id},
            )
        if owed is not None:
            await self._revoke_owed(owed)
        return Linked(user_id=user_id, zoom_user=zoom_user, replaced_other_account=replaced)

    async def _spend_state(self, state: str | None) -> tuple[int, str]:
        now = self._clock()
        async with transaction(self._sessions) as session:
            row = None
            if state:
                row = await session.scalar(
                    select(ZoomAuthorization)
                    .where(ZoomAuthorization.state_hash == _digest(state))
                    .with_for_update()
                )
            if (
                row is None
                or row.completed_at is not None
                or row.expires_at <= now
                or row.sealed_verifier is None
                or row.verifier_key_id is None
            ):
                raise AuthorizationFailed(
                    "This Zoom authorization is unknown, expired or already completed. "
                    "Start again from the add-in."
                )
            row.completed_at = now
            verifier = self._sealer.open(
                row.verifier_key_id, row.sealed_verifier, verifier_context(row.user_id, row.id)
            ).decode()
            row.sealed_verifier = None
            return row.user_id, verifier


async def _previous(
    session: AsyncSession, sealer: Sealer, user_id: int
) -> zoom_grant.GrantState | None:
    try:
        return await zoom_grant.load(session, sealer, user_id=user_id)
    except Problem:
        return None  # an unreadable old grant is simply replaced
