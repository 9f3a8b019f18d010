"""Users, grants, authorization codes and tokens: Zoom's OAuth server state, without HTTP.

Theory of operation. A consent creates (or finds) the sandbox user and issues a single-use code
that lives five minutes. Redeeming it creates a *grant* (user + app) holding one access and one
refresh token, and revokes any earlier grant of the same user and app: Zoom's "the last token
issued is considered valid". A refresh spends its refresh token and issues a new pair on the same
grant (rotation); a spent refresh token is answered ``invalid_grant``. Revoking any token of a
grant, or deauthorizing the user, revokes the whole grant.

Every method is synchronous and takes ``now``: each one is a complete read-modify-write, so 200
concurrent refreshes of one token in the asyncio process see exactly one winner.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from . import ids
from .errors import OAuthError, invalid_refresh_token
from .records import AccessToken, AuthCode, Grant, RefreshToken, User

SCOPE = "meeting:read meeting:write user:read"
CODE_LIFETIME = timedelta(minutes=5)
DEFAULT_TIMEZONE = "America/New_York"


@dataclass(frozen=True, kw_only=True)
class IssuedTokens:
    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    user_id: str


class TokenProblem(Exception):
    """Why a bearer token was refused: ``expired`` or ``invalid``."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class OAuthBook:
    """The OAuth side of the sandbox; see the module docstring."""

    def __init__(self, *, client_id: str, client_secret: str, access_token_ttl: int) -> None:
        self.client_id = client_id
        self._client_secret = client_secret
        self.access_token_ttl = access_token_ttl
        self.users: dict[str, User] = {}
        self.user_ids_by_email: dict[str, str] = {}
        self.accounts_by_domain: dict[str, str] = {}
        self.grants: dict[str, Grant] = {}
        self.current_grant: dict[tuple[str, str], str] = {}
        self.codes: dict[str, AuthCode] = {}
        # Keyed by token digest (see records.AccessToken).
        self.access_tokens: dict[str, AccessToken] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        # Every secret ever handed out, so tests can search logs and databases for leaks.
        self.issued: dict[str, list[str]] = {
            "access_tokens": [],
            "refresh_tokens": [],
            "authorization_codes": [],
        }

    def client_matches(self, client_id: str, client_secret: str) -> bool:
        id_ok = hmac.compare_digest(client_id.encode(), self.client_id.encode())
        secret_ok = hmac.compare_digest(client_secret.encode(), self._client_secret.encode())
        return id_ok and secret_ok

    def user_for_email(self, email: str, now: datetime) -> User:
        """The sandbox user with this email, created on first sight (like a first consent)."""
        email = email.strip().lower()
        existing = self.user_ids_by_email.get(email)
        if existing is not None:
            return self.users[existing]
        local, _, domain = email.partition("@")
        account_id = self.accounts_by_domain.setdefault(domain, ids.zoom_user_id())
        first, last = _names_from_local_part(local)
        user = User(
            id=ids.zoom_user_id(),
            account_id=account_id,
            email=email,
            first_name=first,
            last_name=last,
            pmi=ids.pmi(),
            timezone=DEFAULT_TIMEZONE,
            created_at=now,
        )
        self.users[user.id] = user
        self.user_ids_by_email[email] = user.id
        return user

    def issue_code(
        self,
        *,
        user: User,
        redirect_uri: str,
        code_challenge: str | None,
        challenge_method: str,
        now: datetime,
    ) -> str:
        code = ids.token("sbxcode_")
        self.codes[code] = AuthCode(
            code=code,
            client_id=self.client_id,
            redirect_uri=redirect_uri,
            user_id=user.id,
            code_challenge=code_challenge,
            challenge_method=challenge_method,
            expires_at=now + CODE_LIFETIME,
        )
        self.issued["authorization_codes"].append(code)
        return code

    def redeem_code(
        self, *, code: str, redirect_uri: str, code_verifier: str | None, now: datetime
    ) -> IssuedTokens:
        """Exchange a code for the first token pair of a new grant."""
        record = self.codes.get(code)
        if record is None or record.used:
            raise OAuthError("Invalid authorization code", "invalid_grant")
        # Single use even when this attempt fails, so a verifier cannot be guessed repeatedly.
        record.used = True
        if record.expires_at <= now:
            raise OAuthError("Authorization code is expired", "invalid_grant")
        if redirect_uri != record.redirect_uri:
            raise OAuthError("Redirect URI mismatch.", "invalid_grant")
        if record.code_challenge is not None and not _verifier_matches(
            code_verifier, record.code_challenge, record.challenge_method
        ):
            raise OAuthError("Invalid code_verifier", "invalid_grant")
        key = (record.user_id, record.client_id)
        previous = self.current_grant.get(key)
        if previous is not None:
            self.grants[previous].revoked = True
        grant = Grant(
            id=ids.short_secret(),
            user_id=record.user_id,
            client_id=record.client_id,
            scope=SCOPE,
            created_at=now,
        )
        self.grants[grant.id] = grant
        self.current_grant[key] = grant.id
        return self._issue_pair(grant, now)

    def refresh(self, *, refresh_token: str, now: datetime) -> IssuedTokens:
        """Spend ``refresh_token`` and issue a new pair on its grant (rotation)."""
        record = self.refresh_tokens.get(token_digest(refresh_token))
        if record is None or record.spent or self.grants[record.grant_id].revoked:
            raise invalid_refresh_token()
        record.spent = True
        return self._issue_pair(self.grants[record.grant_id], now)

    def revoke(self, token: str) -> Grant | None:
        """Revoke the grant that ``token`` (access or refresh) belongs to."""
        digest = token_digest(token)
        record: AccessToken | RefreshToken | None = self.access_tokens.get(digest)
        if record is None:
            record = self.refresh_tokens.get(digest)
        if record is None:
            return None
        grant = self.grants[record.grant_id]
        grant.revoked = True
        return grant

    def deauthorize(self, user_id: str) -> list[Grant]:
        """Revoke every live grant of ``user_id`` (the user removed the app)."""
        revoked = [g for g in self.grants.values() if g.user_id == user_id and not g.revoked]
        for grant in revoked:
            grant.revoked = True
            self.current_grant.pop((grant.user_id, grant.client_id), None)
        return revoked

    def authenticate(self, access_token: str, now: datetime) -> User:
        """The user behind a bearer token, or :class:`TokenProblem`."""
        record = self.access_tokens.get(token_digest(access_token))
        if record is None or self.grants[record.grant_id].revoked:
            raise TokenProblem("invalid")
        if record.expires_at <= now:
            raise TokenProblem("expired")
        return self.users[self.grants[record.grant_id].user_id]

    def expire_access_tokens(self, user_id: str | None, now: datetime) -> int:
        """Make access tokens (all, or one user's) expire now; returns how many changed."""
        changed = 0
        for record in self.access_tokens.values():
            if record.expires_at <= now:
                continue
            if user_id is None or self.grants[record.grant_id].user_id == user_id:
                record.expires_at = now
                changed += 1
        return changed

    def _issue_pair(self, grant: Grant, now: datetime) -> IssuedTokens:
        access_token, refresh_token = ids.token("sbxat_"), ids.token("sbxrt_")
        access = AccessToken(
            digest=token_digest(access_token),
            grant_id=grant.id,
            expires_at=now + timedelta(seconds=self.access_token_ttl),
        )
        refresh = RefreshToken(digest=token_digest(refresh_token), grant_id=grant.id)
        self.access_tokens[access.digest] = access
        self.refresh_tokens[refresh.digest] = refresh
        self.issued["access_tokens"].append(access_token)
        self.issued["refresh_tokens"].append(refresh_token)
        return IssuedTokens(
            access_token=access_token,
            refresh_token=refresh_token,
            # Zoom reports 3599 for its one-hour tokens (cal.com #729).
            expires_in=max(self.access_token_ttl - 1, 0),
            scope=grant.scope,
            user_id=grant.user_id,
        )


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def _verifier_matches(verifier: str | None, challenge: str, method: str) -> bool:
    if not verifier:
        return False
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        expected = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return hmac.compare_digest(expected, challenge)
    return hmac.compare_digest(verifier.encode(), challenge.encode())


def _names_from_local_part(local: str) -> tuple[str, str]:
    parts = [p for p in local.replace("_", ".").replace("-", ".").split(".") if p]
    parts = [p.split("+", 1)[0] for p in parts if p.split("+", 1)[0]]
    if not parts:
        return "Sandbox", "User"
    first = parts[0].capitalize()
    last = " ".join(p.capitalize() for p in parts[1:])
    return first, last
