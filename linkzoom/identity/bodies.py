"""The JSON bodies of device sign-in (``/api/v1/sessions``) and ``/api/v1/me``, as typed models."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from linkzoom.http.typed_body import Answer, Body, Instant

MAX_USERNAME = 256
MAX_PASSWORD = 1024
MAX_DEVICE_NAME = 200


class SessionBody(Body, frozen=True):
    """``POST /api/v1/sessions``: local or directory credentials, and what to call the device."""

    username: Annotated[str, Meta(min_length=1, max_length=MAX_USERNAME)]
    password: Annotated[str, Meta(min_length=1, max_length=MAX_PASSWORD)]
    device_name: Annotated[str, Meta(max_length=MAX_DEVICE_NAME)] | None = None


class SessionAnswer(Answer, frozen=True):
    """``201``: the device token (shown once; send it as ``Authorization: Bearer``)."""

    token: str
    session_id: str
    expires_at: Instant


class ZoomState(Answer, frozen=True):
    enabled: bool
    linked: bool
    broken: bool
    account_email: str | None
    authorized_at: Instant | None
    reauthorize_by: Instant | None
    reauthorization_required: bool


class MeAnswer(Answer, frozen=True):
    """``GET /api/v1/me``: the signed-in user and the state of their Zoom link."""

    username: str
    display_name: str
    email: str | None
    is_admin: bool
    zoom: ZoomState
