"""The one place that turns Zoom's failures into our :mod:`linkzoom.problems` tree.

Zoom answers in two envelopes. The REST API sends ``{"code": int, "message": str}`` (validation
errors add ``errors: [{field, message}]``); the OAuth endpoints send
``{"reason": str, "error": str}`` or sometimes ``{"code": 47xx, "message": str}``.

=======================================  ===================================================
Zoom says                                Problem
=======================================  ===================================================
any 429                                  :class:`ZoomRateLimited` (see ``ratelimit.py``)
5xx, or a body that is not a JSON object :class:`ZoomUnavailable`
``error: invalid_grant`` / "Invalid      :class:`ZoomGrantInvalid` (refresh token spent or
Token!" / 4711 4733 4734 4735 4737 4741  revoked, code expired or wrong)
other OAuth ``error`` (invalid_client)   :class:`ZoomError`
124, 4700, or 401 with any other code    :class:`ZoomAccessTokenRejected`
4702 4704 (our client id or secret)      :class:`ZoomError`
300                                      :class:`ZoomRequestInvalid`
3001                                     :class:`ZoomMeetingNotFound` (the only "gone")
3000 3002 3003 3007                      :class:`ZoomMeetingLocked`
anything else (1001, a bare 404, …)      :class:`ZoomError` with ``zoom_code``
=======================================  ===================================================

Details quote only Zoom's ``message``/``reason``/field errors, shortened: never the raw body,
never a header, so no token can reach a log or a client.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from linkzoom.problems import (
    Problem,
    ZoomAccessTokenRejected,
    ZoomError,
    ZoomGrantInvalid,
    ZoomMeetingLocked,
    ZoomMeetingNotFound,
    ZoomRequestInvalid,
    ZoomUnavailable,
)
from linkzoom.zoom.ratelimit import classify_429

__all__ = ["json_object", "problem_from_response", "problem_from_transport"]

_MAX_QUOTE = 300
_BY_CODE: dict[int, type[ZoomError]] = {
    124: ZoomAccessTokenRejected,
    4700: ZoomAccessTokenRejected,
    300: ZoomRequestInvalid,
    3001: ZoomMeetingNotFound,
    **dict.fromkeys((3000, 3002, 3003, 3007), ZoomMeetingLocked),
    # OAuth codes meaning "this grant or code can never work again": the user must re-consent.
    **dict.fromkeys((4711, 4733, 4734, 4735, 4737, 4741), ZoomGrantInvalid),
    # Our client id/secret is wrong: an operator problem, not the user's token (even as a 401).
    **dict.fromkeys((4702, 4704), ZoomError),
}


def json_object(response: httpx.Response) -> Mapping[str, Any] | None:
    """The body as a JSON object, or ``None`` if it is anything else (HTML, empty, a list)."""
    try:
        body = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return None
    return body if isinstance(body, dict) else None


def problem_from_response(response: httpx.Response, *, now: datetime) -> Problem:
    """Translate one non-2xx response (its body already read) into a Problem."""
    status = response.status_code
    body = json_object(response)
    if status == 429:
        return classify_429(response.headers, body, now)
    if body is None or status >= 500:
        message = _quote(body.get("message")) if body is not None else ""
        return ZoomUnavailable(
            _sentence(f"Zoom answered HTTP {status}{': ' if message else ''}{message}")
        )
    error = body.get("error")
    if isinstance(error, str) and not isinstance(body.get("code"), int):
        return _oauth_problem(status, error, body)
    return _rest_problem(status, body)


def _oauth_problem(status: int, error: str, body: Mapping[str, Any]) -> ZoomError:
    reason = _quote(body.get("reason")) or _quote(body.get("error_description"))
    detail = _sentence(
        f"Zoom's authorization server refused the request ({_quote(error)}): {reason}"
    )
    # cal.com saw a spent refresh token come back as invalid_request with this reason.
    if error == "invalid_grant" or reason == "Invalid Token!":
        return ZoomGrantInvalid(detail, http_status=status)
    return ZoomError(detail, http_status=status)


def _rest_problem(status: int, body: Mapping[str, Any]) -> ZoomError:
    code = body.get("code")
    zoom_code = code if isinstance(code, int) and not isinstance(code, bool) else None
    message = _quote(body.get("message")) or _quote(body.get("reason")) or "no message"
    fields = _field_errors(body.get("errors"))
    detail = _sentence(f"Zoom answered HTTP {status} (code {zoom_code}): {message}{fields}")
    kind = _BY_CODE.get(zoom_code) if zoom_code is not None else None
    if kind is None and status == 401:
        kind = ZoomAccessTokenRejected  # 401 is Zoom refusing the bearer, whatever the code
    return (kind or ZoomError)(detail, zoom_code=zoom_code, http_status=status)


def _field_errors(errors: object) -> str:
    if not isinstance(errors, list):
        return ""
    pairs = [
        f"{_quote(item.get('field'))}: {_quote(item.get('message'))}"
        for item in errors[:10]
        if isinstance(item, dict)
    ]
    return f" ({'; '.join(pairs)})" if pairs else ""


def _quote(value: object) -> str:
    """Zoom's own words, one line, bounded, trailing full stop dropped (we add our own)."""
    if not isinstance(value, str):
        return ""
    text = " ".join(value.split())
    text = text if len(text) <= _MAX_QUOTE else text[: _MAX_QUOTE - 1] + "…"
    return text[:-1] if text.endswith(".") else text


def _sentence(text: str) -> str:
    return text if text.endswith(("!", "?")) else f"{text}."


def problem_from_transport(exc: httpx.TransportError) -> ZoomUnavailable:
    """Translate a network failure; the detail names the kind, never the URL or payload."""
    if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
        return ZoomUnavailable("Could not connect to Zoom.")
    if isinstance(exc, httpx.TimeoutException):
        return ZoomUnavailable("Zoom did not answer in time.")
    return ZoomUnavailable(f"The connection to Zoom failed ({type(exc).__name__}).")
