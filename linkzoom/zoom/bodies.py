"""The JSON bodies of the Zoom authorization API (``/api/v1/zoom/…``), as typed models."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

from linkzoom.http.typed_body import Answer, Body

MAX_CLAIM_CODE = 200


class ClaimBody(Body, frozen=True):
    """``POST /api/v1/zoom/authorizations/claim``: the code the consent dialog handed back."""

    code: Annotated[str, Meta(min_length=1, max_length=MAX_CLAIM_CODE)]


class AuthorizationAnswer(Answer, frozen=True):
    """``201``: a one-time URL that leads through Zoom consent (open it in a dialog)."""

    authorize_url: str


class ClaimAnswer(Answer, frozen=True):
    linked: bool
    account_email: str | None
    replaced_other_account: bool


class InvitationText(Answer, frozen=True):
    """A meeting's invitation, to paste into a message or an event."""

    text: str
    html: str


class WebhookAnswer(Answer, frozen=True):
    """``POST /webhooks/zoom``: ``{plainToken, encryptedToken}`` for ``endpoint.url_validation``,
    else ``{status}`` (``ok``, ``duplicate`` or ``ignored``)."""

    status: str | None = None
    # Zoom's own member names.
    plainToken: str | None = None
    encryptedToken: str | None = None


class ZoomAccountAnswer(Answer, frozen=True):
    """The connected Zoom account as Zoom reports it now."""

    id: str
    account_id: str
    email: str | None
    display_name: str | None
    timezone: str | None
