"""One error hierarchy for the whole service, rendered as RFC 9457 problem details.

Every error a client can cause, and every Zoom failure we translate, is a :class:`Problem`.
Capability code raises these and catches only these; foreign exceptions (httpx, SQLAlchemy,
ldap3) are translated once, at the edge that calls the foreign library. The web layer renders any
``Problem`` as ``application/problem+json`` whose ``type`` is ``{PUBLIC_URL}/problems/{code}``;
those codes are a public contract and never change meaning.

    Problem
    ├── BadRequest                   400 bad-request          malformed syntax we cannot parse
    ├── NotAuthenticated             401 not-authenticated    missing/expired/revoked credentials
    ├── InvalidCredentials           401 invalid-credentials  login refused (never says which part)
    ├── WebhookRejected              401 webhook-rejected     Zoom webhook signature/timestamp bad
    ├── Forbidden                    403 forbidden            signed in but not allowed
    │   └── FeatureDisabled          403 feature-disabled     an admin has not enabled Zoom
    ├── NotFound                     404 not-found            absent, or not yours
    ├── MethodNotAllowed             405 method-not-allowed
    ├── IdempotencyKeyInUse          409 idempotency-key-in-use  a request with that key is
    │                                                        still being answered
    ├── ZoomAuthorizationNeeded      409                      the user must (re)consent at Zoom
    │   ├── ZoomNotLinked            409 zoom-not-linked          no grant, or it broke
    │   └── ReauthorizationRequired  409 reauthorization-required the yearly re-consent is due
    ├── AuthorizationFailed          400 authorization-failed OAuth callback could not complete
    ├── PayloadTooLarge              413 payload-too-large
    ├── UnsupportedMediaType         415 unsupported-media-type
    ├── ValidationFailed             422 validation-failed    field-level ``errors``
    ├── TooManyAttempts              429 too-many-attempts    login throttled (``retry_after``)
    ├── ZoomRateLimited              429 zoom-rate-limited    Zoom's QPS or daily cap
    ├── ZoomError                    502 zoom-error           Zoom refused unexpectedly
    │   ├── ZoomMeetingNotFound      404 zoom-meeting-not-found  3001: gone or expired at Zoom
    │   ├── ZoomMeetingLocked        409 zoom-meeting-locked     3000/3002/3003/3007
    │   ├── ZoomRequestInvalid       502 zoom-request-invalid    300: Zoom rejected our body
    │   ├── ZoomGrantInvalid         502 zoom-grant-invalid      invalid_grant: refresh token spent
    │   │                                                        or revoked (the vault turns this
    │   │                                                        into ZoomNotLinked for the user)
    │   └── ZoomAccessTokenRejected  502 zoom-token-rejected     124 after a fresh refresh
    ├── ZoomUnavailable              503 zoom-unavailable     network failure, timeout or 5xx
    ├── ServiceUnavailable           503 service-unavailable  our own dependency (database) is down
    └── SealedDataUnreadable         500 sealed-data-unreadable  a vault row fails authentication
                                                              (tampered, moved, or its key is gone)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from linkzoom.http.wire import iso


@dataclass(frozen=True, kw_only=True)
class FieldError:
    """One invalid input field, located the way JSON Pointer-ish clients expect (``a.b.0``)."""

    field: str
    message: str


class Problem(Exception):
    """Base of every error the service reports; subclasses set the class attributes."""

    code: ClassVar[str] = "internal-error"
    status: ClassVar[int] = 500
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title

    def extensions(self) -> dict[str, Any]:
        """Extra members of the problem object (RFC 9457 §3.2)."""
        return {}

    def headers(self) -> dict[str, str]:
        return {}

    def to_json(self, public_url: str, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"{public_url}/problems/{self.code}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extensions())
        return body


class BadRequest(Problem):
    code, status, title = "bad-request", 400, "Bad request"


class NotAuthenticated(Problem):
    code, status, title = "not-authenticated", 401, "Sign-in required"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="linkzoom"'}


class InvalidCredentials(Problem):
    """Raised for an unknown user and for a wrong password alike, so neither is revealed."""

    code, status, title = "invalid-credentials", 401, "Invalid username or password"


class WebhookRejected(Problem):
    """A webhook delivery whose ``x-zm-signature`` is missing or wrong, or whose
    ``x-zm-request-timestamp`` is outside the replay window. No ``WWW-Authenticate``: Zoom does
    not authenticate interactively, it retries."""

    code, status, title = "webhook-rejected", 401, "Webhook signature rejected"


class Forbidden(Problem):
    code, status, title = "forbidden", 403, "Not allowed"


class FeatureDisabled(Forbidden):
    code, title = "feature-disabled", "Zoom is not enabled"


class NotFound(Problem):
    code, status, title = "not-found", 404, "Not found"


class MethodNotAllowed(Problem):
    code, status, title = "method-not-allowed", 405, "Method not allowed"


class IdempotencyKeyInUse(Problem):
    """The first request with this ``Idempotency-Key`` has not been answered yet."""

    code, status, title = "idempotency-key-in-use", 409, "Request already in progress"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class ZoomAuthorizationNeeded(Problem):
    """The user must go through Zoom consent; the web layer fills in ``authorize_url``."""

    status = 409

    def __init__(self, detail: str | None = None, *, user_id: int) -> None:
        super().__init__(detail)
        self.user_id = user_id
        self.authorize_url: str | None = None

    def extensions(self) -> dict[str, Any]:
        return {"authorize_url": self.authorize_url} if self.authorize_url else {}


class ZoomNotLinked(ZoomAuthorizationNeeded):
    code, title = "zoom-not-linked", "Zoom account not connected"


class ReauthorizationRequired(ZoomAuthorizationNeeded):
    code, title = "reauthorization-required", "Zoom authorization must be renewed"


class AuthorizationFailed(Problem):
    code, status, title = "authorization-failed", 400, "Zoom authorization failed"


class PayloadTooLarge(Problem):
    code, status, title = "payload-too-large", 413, "Request body too large"


class UnsupportedMediaType(Problem):
    code, status, title = "unsupported-media-type", 415, "Unsupported media type"


class ValidationFailed(Problem):
    code, status, title = "validation-failed", 422, "Invalid input"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None) -> None:
        if detail is None:
            detail = "; ".join(f"{e.field}: {e.message}" for e in errors) or self.title
        super().__init__(detail)
        self.errors = tuple(errors)

    @classmethod
    def one(cls, field: str, message: str) -> ValidationFailed:
        return cls([FieldError(field=field, message=message)])

    def extensions(self) -> dict[str, Any]:
        return {"errors": [{"field": e.field, "message": e.message} for e in self.errors]}


class _RetryAfter(Problem):
    def __init__(self, detail: str | None = None, *, retry_after_seconds: float) -> None:
        super().__init__(detail)
        self.retry_after_seconds = max(0.0, retry_after_seconds)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(max(1, math.ceil(self.retry_after_seconds)))}

    def extensions(self) -> dict[str, Any]:
        return {"retry_after": max(1, math.ceil(self.retry_after_seconds))}


class TooManyAttempts(_RetryAfter):
    code, status, title = "too-many-attempts", 429, "Too many sign-in attempts"


class ZoomRateLimited(_RetryAfter):
    """Zoom's limit (or our own reckoning of it) refuses the call until ``retry_at``.

    ``kind`` is ``"qps"`` for the per-second account limit and ``"daily"`` for a daily cap
    (per-user meeting create/update, or an account's daily bucket); daily caps reset at 00:00 UTC.
    """

    code, status, title = "zoom-rate-limited", 429, "Zoom rate limit reached"

    def __init__(
        self, detail: str | None = None, *, kind: str, retry_at: datetime, now: datetime
    ) -> None:
        super().__init__(detail, retry_after_seconds=(retry_at - now).total_seconds())
        self.kind = kind
        self.retry_at = retry_at

    def extensions(self) -> dict[str, Any]:
        return super().extensions() | {"limit": self.kind, "retry_at": iso(self.retry_at)}


class ZoomError(Problem):
    """Zoom answered with an error we could not map more precisely."""

    code, status, title = "zoom-error", 502, "Zoom refused the request"

    def __init__(
        self, detail: str | None = None, *, zoom_code: int | None = None, http_status: int = 0
    ) -> None:
        super().__init__(detail)
        self.zoom_code = zoom_code
        self.http_status = http_status

    def extensions(self) -> dict[str, Any]:
        return {"zoom_code": self.zoom_code} if self.zoom_code is not None else {}


class ZoomMeetingNotFound(ZoomError):
    code, status, title = "zoom-meeting-not-found", 404, "Zoom meeting not found"


class ZoomMeetingLocked(ZoomError):
    code, status, title = "zoom-meeting-locked", 409, "Zoom cannot change this meeting now"


class ZoomRequestInvalid(ZoomError):
    code, title = "zoom-request-invalid", "Zoom rejected the request"


class ZoomGrantInvalid(ZoomError):
    code, title = "zoom-grant-invalid", "Zoom no longer accepts this authorization"


class ZoomAccessTokenRejected(ZoomError):
    code, title = "zoom-token-rejected", "Zoom rejected the access token"


class ZoomUnavailable(Problem):
    code, status, title = "zoom-unavailable", 503, "Zoom is unavailable"


class ServiceUnavailable(Problem):
    code, status, title = "service-unavailable", 503, "Service unavailable"


class SealedDataUnreadable(Problem):
    code, status, title = "sealed-data-unreadable", 500, "Stored data could not be read"


def field_errors(pairs: Mapping[str, str]) -> ValidationFailed:
    return ValidationFailed([FieldError(field=k, message=v) for k, v in pairs.items()])
