"""Reading and checking the controller's HTML forms.

Bodies are ``application/x-www-form-urlencoded`` only (no page uploads anything), read with a
size limit and parsed once. Each ``parse_*`` is pure: a mapping of strings in, a frozen value
out, or :class:`ValidationFailed` naming every bad field so the page can mark them all.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import parse_qsl

from starlette.requests import Request

from linkzoom.audit import Cursor
from linkzoom.controller.paging import parse_page
from linkzoom.grant import reauthorization
from linkzoom.http.body import read_bytes
from linkzoom.problems import BadRequest, FieldError, UnsupportedMediaType, ValidationFailed
from linkzoom.zoom.meeting_defaults import MeetingDefaults

FORM_LIMIT = 64 * 1024
MAX_FIELDS = 100
Form = Mapping[str, str]


async def read_form(request: Request) -> dict[str, str]:
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/x-www-form-urlencoded":
        raise UnsupportedMediaType("Send the form as application/x-www-form-urlencoded.")
    raw = await read_bytes(request, FORM_LIMIT)
    try:
        pairs = parse_qsl(
            raw.decode("utf-8"),
            keep_blank_values=True,
            max_num_fields=MAX_FIELDS,
            errors="strict",
        )
    except (UnicodeDecodeError, ValueError):
        raise BadRequest("The form could not be read.") from None
    return dict(pairs)


def _clean(value: str | None) -> str:
    return unicodedata.normalize("NFC", (value or "").strip())


def _has_control(value: str) -> bool:
    return any(unicodedata.category(c).startswith("C") for c in value)


def _checked(form: Form, name: str) -> bool:
    # An unticked checkbox is simply absent from the submission.
    return name in form


def parse_meeting_defaults(form: Form) -> MeetingDefaults:
    raw = _clean(form.get("duration_minutes"))
    if not raw.isascii() or not raw.isdigit() or len(raw) > 5:
        raise ValidationFailed.one("duration_minutes", "enter a whole number of minutes")
    return MeetingDefaults(
        duration_minutes=int(raw),
        join_before_host=_checked(form, "join_before_host"),
        waiting_room=_checked(form, "waiting_room"),
        passcode=_checked(form, "passcode"),
        mute_upon_entry=_checked(form, "mute_upon_entry"),
    )


def parse_reauthorize_days(form: Form) -> int | None:
    """Days, or ``None`` for "use the deployment's default" (an empty field)."""
    raw = _clean(form.get("reauthorize_days"))
    if not raw:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 5:
        raise ValidationFailed.one("reauthorize_days", "enter a whole number of days")
    return reauthorization.check_days(int(raw))


@dataclass(frozen=True, kw_only=True)
class CredentialChange:
    """What to store; ``None`` keeps a value as it is (secret fields left empty)."""

    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    webhook_secret: str | None = field(default=None, repr=False)

    @property
    def changed(self) -> list[str]:
        names = ("client_id", "client_secret", "webhook_secret")
        return [name for name in names if getattr(self, name) is not None]


def _credential(form: Form, name: str, errors: list[FieldError], *, max_length: int) -> str:
    value = _clean(form.get(name))
    if len(value) > max_length:
        errors.append(FieldError(field=name, message=f"must be at most {max_length} characters"))
    elif _has_control(value) or any(c.isspace() for c in value):
        errors.append(FieldError(field=name, message="must not contain spaces"))
    return value


def parse_credentials(form: Form, *, current_client_id: str | None) -> CredentialChange:
    """``current_client_id`` is the app in effect, ``None`` while the sandbox stands in."""
    errors: list[FieldError] = []
    client_id = _credential(form, "client_id", errors, max_length=200)
    secret = _credential(form, "client_secret", errors, max_length=500)
    webhook = _credential(form, "webhook_secret", errors, max_length=500)
    new_id = client_id if client_id and client_id != current_client_id else None
    if not errors:
        if new_id and not secret:
            errors.append(
                FieldError(field="client_secret", message="enter the secret of this client ID")
            )
        if current_client_id is None and not client_id and (secret or webhook):
            errors.append(FieldError(field="client_id", message="enter your Zoom app's client ID"))
        if not (new_id or secret or webhook):
            errors.append(FieldError(field="client_id", message="nothing to change"))
    if errors:
        raise ValidationFailed(errors)
    return CredentialChange(
        client_id=new_id, client_secret=secret or None, webhook_secret=webhook or None
    )


@dataclass(frozen=True, kw_only=True)
class UserQuery:
    text: str | None
    page: int


def parse_user_query(params: Form) -> UserQuery:
    text = _clean(params.get("q"))[:100]
    return UserQuery(text=text or None, page=parse_page(params.get("page")))


@dataclass(frozen=True, kw_only=True)
class AuditFilter:
    action: str | None = None
    actor: str | None = None
    since: date | None = None
    until: date | None = None
    # Keyset paging: events older than ``before``, or newer than ``after`` (newest first).
    before: Cursor | None = None
    after: Cursor | None = None

    @property
    def since_at(self) -> datetime | None:
        return None if self.since is None else datetime.combine(self.since, time(), UTC)

    @property
    def until_before(self) -> datetime | None:
        """The first instant after the ``until`` day (days are whole UTC days)."""
        if self.until is None:
            return None
        return datetime.combine(self.until, time(), UTC) + timedelta(days=1)

    def query(self) -> dict[str, str]:
        """The filter as query parameters (for paging links), without the position."""
        values = {
            "action": self.action,
            "actor": self.actor,
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
        }
        return {k: v for k, v in values.items() if v}

    def query_at(self, name: str, cursor: str) -> dict[str, str]:
        """The filter with a position (``before`` or ``after``), for the Newer/Older links."""
        return self.query() | {name: cursor}


def _day(params: Form, name: str, errors: list[FieldError]) -> date | None:
    raw = _clean(params.get(name))
    if not raw:
        return None
    try:
        # Python also reads "20261122"; the date input sends YYYY-MM-DD, so ask for that only.
        if len(raw) == 10:
            return date.fromisoformat(raw)
    except ValueError:
        pass
    errors.append(FieldError(field=name, message="enter a date as YYYY-MM-DD"))
    return None


def parse_audit_filter(params: Form) -> tuple[AuditFilter, list[FieldError]]:
    """The filter, and what was wrong with it (bad fields are dropped, not fatal)."""
    errors: list[FieldError] = []
    since, until = _day(params, "since", errors), _day(params, "until", errors)
    if since and until and since > until:
        errors.append(FieldError(field="until", message="must not be before the start date"))
        until = None
    action = _clean(params.get("action"))[:64]
    actor = _clean(params.get("actor"))[:256]
    return (
        AuditFilter(
            action=action or None,
            actor=actor or None,
            since=since,
            until=until,
            before=Cursor.decode(params.get("before")),
            after=Cursor.decode(params.get("after")),
        ),
        errors,
    )
