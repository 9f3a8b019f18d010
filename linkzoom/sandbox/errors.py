"""Errors the sandbox answers with, each already in Zoom's wire shape.

```
SandboxError                 status + JSON body + headers, rendered verbatim by the app
├── OAuthError               {"reason", "error"}: the OAuth endpoints (zoom.us/oauth/*)
└── ApiError                 {"code", "message"[, "errors"]}: the REST API (api.zoom.us/v2)
```

The helpers below build the specific answers, with the messages Zoom uses (see
``shared/research/zoom-api.md``); nothing here imports Starlette.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SandboxError(Exception):
    """An error answer: HTTP ``status``, JSON ``body`` and extra ``headers``."""

    def __init__(
        self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {dict(body)}")
        self.status = status
        self.body = dict(body)
        self.headers = dict(headers or {})


class OAuthError(SandboxError):
    """Raised by the token and revoke endpoints; body ``{"reason", "error"}``."""

    def __init__(self, reason: str, error: str, status: int = 400) -> None:
        super().__init__(status, {"reason": reason, "error": error})
        self.error = error


class ApiError(SandboxError):
    """Raised by the REST API; body ``{"code", "message"}`` plus ``errors`` on validation."""

    def __init__(
        self,
        status: int,
        code: int,
        message: str,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        super().__init__(status, body, headers)
        self.code = code


def invalid_client() -> OAuthError:
    return OAuthError("Invalid client_id or client_secret", "invalid_client", 401)


def invalid_refresh_token() -> OAuthError:
    # Zoom's answer to a spent or unknown refresh token (raycast #10896).
    return OAuthError("Invalid Token!", "invalid_grant")


def invalid_access_token() -> ApiError:
    return ApiError(401, 124, "Invalid access token.")


def expired_access_token() -> ApiError:
    return ApiError(401, 124, "Access token is expired.")


def user_not_found(user_id: str) -> ApiError:
    return ApiError(404, 1001, f"User does not exist: {user_id}.")


def meeting_not_found(meeting_id: str | int) -> ApiError:
    return ApiError(404, 3001, f"Meeting {meeting_id} is not found or has expired.")


def invalid_occurrence() -> ApiError:
    return ApiError(400, 3000, "Invalid occurrence_id.")


def bad_json() -> ApiError:
    return ApiError(400, 300, "Request Body should be a valid JSON object.")


def validation_failed(errors: list[dict[str, str]]) -> ApiError:
    return ApiError(400, 300, "Validation Failed.", errors=errors)
