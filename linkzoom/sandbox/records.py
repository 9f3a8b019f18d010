"""The sandbox's mutable records: what Zoom would keep about users, grants, tokens and meetings.

These are plain slotted dataclasses mutated in place by the books (:mod:`.oauth_book`,
:mod:`.meeting_book`). Every mutation happens in synchronous code between two awaits, which is
what keeps read-modify-write sequences atomic in the single asyncio process.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

JSONObject = dict[str, Any]


@dataclass(slots=True, kw_only=True)
class User:
    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    pmi: int
    timezone: str
    created_at: datetime

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(slots=True, kw_only=True)
class Grant:
    """One user's authorization of the app; its tokens live and die with it."""

    id: str
    user_id: str
    client_id: str
    scope: str
    created_at: datetime
    revoked: bool = False


@dataclass(slots=True, kw_only=True)
class AuthCode:
    code: str
    client_id: str
    redirect_uri: str
    user_id: str
    code_challenge: str | None
    challenge_method: str
    expires_at: datetime
    used: bool = False


@dataclass(slots=True, kw_only=True)
class AccessToken:
    # Tokens are kept as SHA-256 digests only, so the state file holds no usable secret and
    # a leak search over a deployment's files does not trip over the sandbox's own store.
    digest: str
    grant_id: str
    expires_at: datetime


@dataclass(slots=True, kw_only=True)
class RefreshToken:
    digest: str
    grant_id: str
    spent: bool = False


@dataclass(slots=True, kw_only=True)
class Occurrence:
    occurrence_id: str
    start_time: datetime
    duration: int
    deleted: bool = False
    # Per-occurrence overrides set by PATCH ?occurrence_id=; None/empty means "as the series".
    agenda: str | None = None
    settings: JSONObject = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Meeting:
    id: int
    uuid: str
    host_id: str
    topic: str
    type: int
    start_time: datetime | None
    duration: int
    timezone: str
    agenda: str
    created_at: datetime
    password: str
    h323_password: str
    pstn_password: str
    encrypted_password: str
    start_zak: str
    settings: JSONObject
    recurrence: JSONObject | None = None
    occurrences: dict[str, Occurrence] = field(default_factory=dict)
    pre_schedule: bool = False
    tracking_fields: list[JSONObject] = field(default_factory=list)
    deleted: bool = False
    # Creation order, used as the paging cursor of the list endpoint.
    seq: int = 0
