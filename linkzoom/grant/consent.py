"""Zoom consent, one pass at a time: ticket → state + PKCE → code → pending grant → claim.

1. The add-in asks for an authorization (``POST /api/v1/zoom/authorizations``) and gets a
   one-time URL holding a *ticket*, valid ten minutes. The pass remembers who asked: the add-in's
   device session, or the My Account browser session that pressed "Connect Zoom".
2. ``/oauth/zoom/start`` spends the ticket, creates the OAuth ``state`` and a PKCE verifier
   (sealed by the vault), and redirects to Zoom's consent page with the S256 challenge.
3. ``/oauth/zoom/callback`` spends the state, exchanges the code with the verifier and asks Zoom
   who consented, but stores nothing under the user yet: the grant waits, sealed, on the pass.
4. The party that asked claims it. A pass started by a device hands its dialog a one-time claim
   code, and only that device's token can spend it (``POST …/authorizations/claim``); a pass
   started on My Account is claimed by the callback itself when it arrives in that same browser
   session. Connecting a different Zoom account revokes the old grant.

Why the claim: the ticket alone would let anyone mint a start link for their own linkzoom account
and send it to a victim, whose consent (or Zoom skipping it for an app already authorised) would
then attach the victim's Zoom account to the sender. Possession of the link proves nothing; the
claim ties the grant to the session that asked for it.

Tickets, states and claim codes are stored as SHA-256 digests, so the database cannot replay a
consent; a pending grant nobody claims expires with its pass.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from linkzoom import audit
from linkzoom.clock import Clock
from linkzoom.grant import reauthorization, revocations
from linkzoom.grant import store as grant_store
from linkzoom.problems import AuthorizationFailed, Problem
from linkzoom.store.db import SessionFactory, transaction
from linkzoom.store.grant_tables import ZoomAuthorization
from linkzoom.store.models import User
from linkzoom.vault.rotation import pending_grant_context, verifier_context
from linkzoom.vault.seal import Sealer
from linkzoom.zoom.auth import ZoomBearerAuth
from linkzoom.zoom.client import ZoomClient
from linkzoom.zoom.models import TokenSet, ZoomUser
from linkzoom.zoom.oauth import ZoomOAuth
from linkzoom.zoom.pkce import challenge_s256, new_verifier

log = logging.getLogger(__name__)

TICKET_LIFETIME = timedelta(minutes=10)  # also bounds the claim: a pass lives ten minutes
START_PATH = "/oauth/zoom/start"
CALLBACK_PATH = "/oauth/zoom/callback"


@dataclass(frozen=True, kw_only=True)
class Linked:
    user_id: int
    username: str
    zoom_user: ZoomUser
    replaced_other_account: bool


@dataclass(frozen=True, kw_only=True)
class Consented:
    """Zoom said yes; the grant waits on the pass until the device that asked claims it."""

    user_id: int
    username: str
    zoom_user: ZoomUser
    claim_code: str = field(repr=False)


@dataclass(frozen=True, kw_only=True)
class _Pending:
    """What the callback sealed on the pass for the claim."""

    user_id: int
    tokens: TokenSet
    received_at: datetime
    zoom_user: ZoomUser


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


_EXPIRED = "This Zoom connection has expired or was already used. Start again from the add-in."
_OTHER_BROWSER = (
    "This Zoom connection was started in another browser session. Open My Account in the "
    "browser you started from and press Connect Zoom again."
)


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

    async def mint_for(
        self,
        user_id: int,
        *,
        device_session_id: str | None = None,
        controller_session_id: str | None = None,
    ) -> str:
        """A one-time URL that starts Zoom consent for ``user_id``, claimable only by the
        device session or the browser session named (exactly one of them)."""
        if (device_session_id is None) == (controller_session_id is None):
            raise ValueError("a consent pass belongs to exactly one device or browser session")
        ticket = secrets.token_urlsafe(32)
        now = self._clock()
        async with transaction(self._sessions) as session:
            session.add(
                ZoomAuthorization(
                    user_id=user_id,
                    ticket_hash=_digest(ticket),
                    created_at=now,
                    expires_at=now + TICKET_LIFETIME,
                    device_session_id=device_session_id,
                    controller_session_id=controller_session_id,
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
        self,
        *,
        state: str | None,
        code: str | None,
        error: str | None,
        address: str | None,
        browser_session_id: str | None = None,
    ) -> Consented | Linked:
        """The callback: trade the code for tokens and hold them for the claim. A pass started
        on My Account is claimed here when ``browser_session_id`` is the session that started
        it (the same browser came back); any other browser is refused and nothing is kept."""
        pass_id, user_id, controller_session_id, verifier = await self._spend_state(state)
        if error or not code:
            raise AuthorizationFailed(
                "Zoom authorization was declined."
                if error == "access_denied"
                else "Zoom did not return an authorization code."
            )
        if controller_session_id is not None and not _same(
            browser_session_id, controller_session_id
        ):
            # Refused before the code is spent: the tokens are never issued to us.
            raise AuthorizationFailed(_OTHER_BROWSER)
        try:
            tokens = await self._oauth().exchange_code(code=code, code_verifier=verifier)
            received_at = self._clock()
            zoom_user = await self._zoom.get_me(
                auth=ZoomBearerAuth(_FixedToken(tokens.access_token))
            )
        except AuthorizationFailed:
            raise
        except Problem as exc:
            raise AuthorizationFailed(
                f"Zoom could not complete the authorization: {exc.detail}"
            ) from exc
        pending = _Pending(
            user_id=user_id, tokens=tokens, received_at=received_at, zoom_user=zoom_user
        )
        if controller_session_id is not None:
            return await self._link(pending, address=address)
        claim_code = secrets.token_urlsafe(32)
        async with transaction(self._sessions) as session:
            row = await session.get(ZoomAuthorization, pass_id, with_for_update=True)
            user = await session.get(User, user_id)
            if row is None or user is None:
                raise AuthorizationFailed(_EXPIRED)  # the device signed out meanwhile
            row.claim_hash = _digest(claim_code)
            row.grant_key_id, row.sealed_grant = self._sealer.seal(
                _pending_json(pending), pending_grant_context(user_id, pass_id)
            )
            username = user.username
        return Consented(
            user_id=user_id, username=username, zoom_user=zoom_user, claim_code=claim_code
        )

    async def claim(self, code: str, *, device_session_id: str, address: str | None) -> Linked:
        """Store the grant of a pass this device started (``POST …/authorizations/claim``).
        Another device's code, a spent or expired one: one answer, which says nothing more."""
        now = self._clock()
        async with transaction(self._sessions) as session:
            row = await session.scalar(
                select(ZoomAuthorization)
                .where(ZoomAuthorization.claim_hash == _digest(code))
                .with_for_update()
            )
            if (
                row is None
                or row.claimed_at is not None
                or row.expires_at <= now
                or row.sealed_grant is None
                or row.grant_key_id is None
                or not _same(row.device_session_id, device_session_id)
            ):
                raise AuthorizationFailed(_EXPIRED)
            pending = _pending_from(
                row.user_id,
                self._sealer.open(
                    row.grant_key_id, row.sealed_grant, pending_grant_context(row.user_id, row.id)
                ),
            )
            row.claimed_at = now
            row.sealed_grant = row.grant_key_id = None
        return await self._link(pending, address=address)

    async def _link(self, pending: _Pending, *, address: str | None) -> Linked:
        now = self._clock()
        user_id, zoom_user = pending.user_id, pending.zoom_user
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
            if user is None:
                raise AuthorizationFailed(_EXPIRED)
            await grant_store.store_new(
                session,
                self._sealer,
                user_id=user_id,
                tokens=_aged(pending.tokens, pending.received_at, now),
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
                actor=user.username,
                actor_user_id=user_id,
                subject_user_id=user_id,
                address=address,
                detail={"zoom_user_id": zoom_user.id, "zoom_account_id": zoom_user.account_id},
            )
            username = user.username
        if owed is not None:
            await self._revoke_owed(owed)
        return Linked(
            user_id=user_id,
            username=username,
            zoom_user=zoom_user,
            replaced_other_account=replaced,
        )

    async def _spend_state(self, state: str | None) -> tuple[int, int, str | None, str]:
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
            return row.id, row.user_id, row.controller_session_id, verifier


def _same(given: str | None, expected: str | None) -> bool:
    return given is not None and expected is not None and hmac.compare_digest(given, expected)


def _pending_json(pending: _Pending) -> bytes:
    tokens, user = pending.tokens, pending.zoom_user
    return json.dumps(
        {
            "tokens": {
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "expires_in": tokens.expires_in,
                "scope": tokens.scope,
                "token_type": tokens.token_type,
            },
            "received_at": pending.received_at.isoformat(),
            "zoom_user": {
                "id": user.id,
                "account_id": user.account_id,
                "email": user.email,
                "display_name": user.display_name,
                "timezone": user.timezone,
            },
        }
    ).encode()


def _pending_from(user_id: int, plaintext: bytes) -> _Pending:
    data = json.loads(plaintext)
    return _Pending(
        user_id=user_id,
        tokens=TokenSet.from_json(data["tokens"]),
        received_at=datetime.fromisoformat(data["received_at"]),
        zoom_user=ZoomUser.from_json(data["zoom_user"]),
    )


def _aged(tokens: TokenSet, received_at: datetime, now: datetime) -> TokenSet:
    """The token set as if received ``now``: the access token's life counts from its issue."""
    left = tokens.expires_in - int((now - received_at).total_seconds())
    return dataclasses.replace(tokens, expires_in=max(left, 1))


async def _previous(
    session: AsyncSession, sealer: Sealer, user_id: int
) -> grant_store.GrantState | None:
    try:
        return await grant_store.load(session, sealer, user_id=user_id)
    except Problem:
        return None  # an unreadable old grant is simply replaced
