"""Values the controller's use cases hand to its pages: frozen, no ORM objects, no secrets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from linkzoom.controller.forms import AuditFilter
from linkzoom.controller.notices import ReauthorizationNotice
from linkzoom.controller.paging import PageWindow
from linkzoom.grant.service import ZoomStatus
from linkzoom.zoom.app_credentials import Sources
from linkzoom.zoom.meeting_defaults import MeetingDefaults


@dataclass(frozen=True, kw_only=True)
class Viewer:
    """Who is looking at a controller page, and the CSRF token their forms carry."""

    user_id: int
    username: str
    display_name: str
    is_admin: bool
    session_id: str
    csrf_token: str


@dataclass(frozen=True, kw_only=True)
class PreferenceRow:
    id: int
    resource: str
    tag: str
    created_at: datetime
    last_used_at: datetime | None
    is_zoom_grant: bool


@dataclass(frozen=True, kw_only=True)
class DeviceRow:
    id: str
    name: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    address: str | None


@dataclass(frozen=True, kw_only=True)
class AccountView:
    zoom_enabled: bool
    zoom: ZoomStatus
    notice: ReauthorizationNotice | None
    preferences: list[PreferenceRow]
    devices: list[DeviceRow]


@dataclass(frozen=True, kw_only=True)
class UserRow:
    id: int
    username: str
    display_name: str
    email: str | None
    source: str
    is_admin: bool
    disabled: bool
    last_login_at: datetime | None
    zoom: ZoomStatus


@dataclass(frozen=True, kw_only=True)
class UsersView:
    query: str | None
    window: PageWindow
    users: list[UserRow]


@dataclass(frozen=True, kw_only=True)
class AuditRow:
    id: int
    at: datetime
    action: str
    actor: str
    subject: str | None
    address: str | None
    detail: dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class AuditView:
    filter: AuditFilter
    events: list[AuditRow]
    actions: list[str]
    matching: int  # events the filter matches, counted up to ``matching_cap`` only
    matching_cap: int
    newer: str | None  # cursor for the page of newer events, if there are any
    older: str | None


@dataclass(frozen=True, kw_only=True)
class ZoomSettingsView:
    enabled: bool
    sandboxed: bool
    client_id: str | None  # None while the sandbox stands in
    sources: Sources
    has_stored_values: bool
    redirect_url: str
    webhook_url: str
    defaults: MeetingDefaults
    reauthorize_days: int | None  # stored; None means the environment's default applies
    default_reauthorize_days: int
    revokes_owed: int
    revokes_unreadable: int  # of those, sealed under a key no longer in LINKZOOM_KEYS


@dataclass(frozen=True, kw_only=True)
class Check:
    """One line of the connection test: what was checked, whether it passed, and why."""

    name: str
    ok: bool
    detail: str
