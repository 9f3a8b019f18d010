"""The running sandbox: books, limits, clock, faults, counters and webhook delivery in one place.

Routes receive one :class:`Sandbox` and call it synchronously between awaits. The gates here
(:meth:`Sandbox.authenticate`, :meth:`Sandbox.admit`, :meth:`Sandbox.check_daily_write`) raise
Zoom-shaped :class:`~.errors.ApiError` answers in the order Zoom's gateway applies them: token,
then per-second budget, then the per-user daily cap.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import httpx

from .clock import SandboxClock
from .config import SandboxConfig
from .errors import ApiError, expired_access_token, invalid_access_token
from .faults import QPS_MESSAGE, FaultBook
from .limits import (
    ACCOUNT_DAILY_LIGHT,
    OPERATION_LABELS,
    DailyCounter,
    DayCount,
    QpsLimiter,
    next_utc_midnight,
)
from .meeting_book import MeetingBook
from .oauth_book import OAuthBook, TokenProblem
from .persistence import (
    FORMAT_VERSION,
    StateFile,
    encode,
    meeting_from_json,
    meeting_to_json,
)
from .records import AccessToken, Grant, RefreshToken, User
from .stats import RequestLog, Stats
from .webhooks import WebhookDispatcher


class Sandbox:
    """All sandbox state; one per app."""

    def __init__(
        self, config: SandboxConfig, *, webhook_transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        self.config = config
        self.clock = SandboxClock()
        self.stats = Stats()
        self.requests = RequestLog()
        self.faults = FaultBook()
        self.webhooks = WebhookDispatcher(
            url=config.webhook_url,
            secret=config.webhook_secret,
            stats=self.stats,
            transport=webhook_transport,
        )
        self._new_books()
        self.state_file = StateFile(config.state_file, self.snapshot)
        saved = self.state_file.read()
        if saved is not None:
            self.restore(saved)

    def _new_books(self) -> None:
        self.oauth = OAuthBook(
            client_id=self.config.client_id,
            client_secret=self.config.client_secret,
            access_token_ttl=self.config.access_token_ttl,
        )
        self.meetings = MeetingBook()
        self.daily_writes = DailyCounter()
        self.account_calls = DailyCounter()
        self.qps = QpsLimiter(self.config.qps)

    def now(self) -> datetime:
        return self.clock.now()

    def changed(self) -> None:
        """Something worth persisting changed; the state file saves on a debounce."""
        self.state_file.mark_dirty()

    def reset(self) -> None:
        """Forget everything: users, tokens, meetings, faults, counters, logs and clock offset."""
        self._new_books()
        self.faults = FaultBook()
        self.stats.reset()
        self.requests.clear()
        self.webhooks.deliveries.clear()
        self.clock.offset = timedelta()
        self.changed()

    def authenticate(self, authorization: str | None) -> User:
        """The user behind ``Authorization: Bearer …``; Zoom's 401/124 otherwise."""
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise invalid_access_token()
        try:
            return self.oauth.authenticate(token.strip(), self.now())
        except TokenProblem as problem:
            if problem.kind == "expired":
                raise expired_access_token() from None
            raise invalid_access_token() from None

    def admit(self, user: User, operation: str) -> None:
        """Charge the account's per-second budget for ``operation``'s label."""
        label = OPERATION_LABELS[operation]
        if not self.qps.try_acquire(user.account_id, label, self.clock.monotonic()):
            self.stats.rate_limited["qps"] += 1
            raise ApiError(
                429,
                429,
                QPS_MESSAGE,
                headers={
                    "X-RateLimit-Category": label.capitalize(),
                    "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Limit": str(self.qps.budget[label]),
                    "X-RateLimit-Remaining": "0",
                    "Retry-After": "1",
                },
            )
        self.account_calls.add(user.account_id, self.now())

    def check_daily_write(self, user: User) -> None:
        """Refuse a meeting create/update over the user's daily cap."""
        now = self.now()
        limit = self.config.daily_write_limit
        if self.daily_writes.used(user.id, now) < limit:
            return
        self.stats.rate_limited["daily"] += 1
        message = (
            f"You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API "
            "requests permitted for this particular user. You may resume these requests at "
            "GMT 00:00:00."
        )
        if self.config.daily_limit_headers:
            headers = {
                "X-RateLimit-Category": "Light",
                "X-RateLimit-Type": "Daily-limit",
                "X-RateLimit-Limit": str(limit),
                "X-RateLimit-Remaining": "0",
                "Retry-After": next_utc_midnight(now).strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        else:
            # As observed (devforum 18928): only the account Light bucket's numbers.
            used = self.account_calls.used(user.account_id, now)
            headers = {
                "X-RateLimit-Category": "Light",
                "X-RateLimit-Limit": str(ACCOUNT_DAILY_LIGHT),
                "X-RateLimit-Remaining": str(max(ACCOUNT_DAILY_LIGHT - used, 0)),
            }
        raise ApiError(429, 429, message, headers=headers)

    def record_write(self, user: User) -> None:
        self.daily_writes.add(user.id, self.now())

    def snapshot(self) -> dict[str, Any]:
        """Everything worth keeping across restarts, JSON-ready."""
        oauth = self.oauth
        return {
            "version": FORMAT_VERSION,
            "clock_offset_seconds": self.clock.offset.total_seconds(),
            "users": encode(list(oauth.users.values())),
            "accounts_by_domain": dict(oauth.accounts_by_domain),
            "grants": encode(list(oauth.grants.values())),
            "current_grant": [[u, c, g] for (u, c), g in oauth.current_grant.items()],
            "access_tokens": encode(list(oauth.access_tokens.values())),
            "refresh_tokens": encode(list(oauth.refresh_tokens.values())),
            "meetings": [meeting_to_json(m) for m in self.meetings.meetings.values()],
            "daily_writes": {
                key: [entry.day.isoformat(), entry.count]
                for key, entry in self.daily_writes.counts.items()
            },
        }

    def restore(self, data: dict[str, Any]) -> None:
        """Load what :meth:`snapshot` produced (already decoded by the state file)."""
        self.clock.offset = timedelta(seconds=float(data.get("clock_offset_seconds", 0)))
        oauth = self.oauth
        for user in (User(**d) for d in data["users"]):
            oauth.users[user.id] = user
            oauth.user_ids_by_email[user.email] = user.id
        oauth.accounts_by_domain.update(data["accounts_by_domain"])
        for grant in (Grant(**d) for d in data["grants"]):
            oauth.grants[grant.id] = grant
        for user_id, client_id, grant_id in data["current_grant"]:
            oauth.current_grant[(user_id, client_id)] = grant_id
        for access in (AccessToken(**d) for d in data["access_tokens"]):
            oauth.access_tokens[access.digest] = access
        for refresh in (RefreshToken(**d) for d in data["refresh_tokens"]):
            oauth.refresh_tokens[refresh.digest] = refresh
        for meeting_data in data["meetings"]:
            self.meetings.add(meeting_from_json(meeting_data))
        for key, (day, count) in data.get("daily_writes", {}).items():
            self.daily_writes.counts[key] = DayCount(date.fromisoformat(day), int(count))

    async def aclose(self) -> None:
        """Finish webhook deliveries and save the state file (shutdown)."""
        await self.webhooks.aclose()
        await self.state_file.aclose()
