"""Zoom's JSON, parsed once: frozen keyword-only values with Zoom's field names.

Response models are parsed from their annotations, since the field names *are* Zoom's keys (as
mashumaro does for python-peblar): ``str``/``int``/``bool`` must have that JSON type, ``X | None``
and fields with a default may be absent, ``datetime`` is an ISO-8601 instant with an offset
(kept as aware UTC), ``M`` and ``tuple[M, ...]`` are nested models; ``""`` in an optional
field reads as absent, as Zoom means it. Unknown keys are ignored, since Zoom adds fields often.
Any failure is a :class:`ZoomError` naming the field, never echoing its value (values can be
tokens).

``start_url`` is deliberately not modelled: it logs whoever holds it in as the host, so it is
never stored or logged. Request values check Zoom's documented limits (zoom-api.md §2) as a last
guard and raise ``ValueError``; callers validate user input earlier and report it properly.
"""

from __future__ import annotations

import dataclasses
import re
import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Self, get_args, get_origin, get_type_hints

from linkzoom.problems import ZoomError
from linkzoom.zoom.text import TOPIC_LIMIT, utf16_length

_PASSWORD = re.compile(r"[A-Za-z0-9@\-_*]{1,10}")
_WEEKLY_DAYS = re.compile(r"[1-7](,[1-7])*")
_MAX_REPEAT_INTERVAL = {1: 90, 2: 12, 3: 3}  # days, weeks, months
_SETTING_CHOICES: dict[str, tuple[object, ...]] = {
    "jbh_time": (0, 5, 10),
    "approval_type": (0, 1, 2),
    "audio": ("both", "telephony", "voip", "thirdParty"),
    "auto_recording": ("local", "cloud", "none"),
}


def _malformed(where: str, why: str) -> ZoomError:
    return ZoomError(f"Zoom sent malformed data: {where} {why}.")


class _Parsed:
    """Base of response models: ``from_json`` reads the fields the subclass annotates."""

    __slots__ = ()
    _what: ClassVar[str]  # names the payload in error messages

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Self:
        """Parse Zoom's JSON object; raises :class:`ZoomError` if it is unusable."""
        return cls._parse(data, cls._what)

    @classmethod
    def _parse(cls, data: object, where: str) -> Self:
        if not isinstance(data, Mapping):
            raise _malformed(where, "is not an object")
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):  # type: ignore[arg-type]
            raw = data.get(item.name)
            defaulted = dataclasses.MISSING is not item.default or (
                dataclasses.MISSING is not item.default_factory
            )
            if raw is None and defaulted:
                continue
            values[item.name] = _read(raw, _hints(cls)[item.name], f"{where}.{item.name}")
        try:
            return cls(**values)
        except ValueError as exc:  # a __post_init__ check refused the value
            raise _malformed(where, f"is invalid ({exc})") from exc


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    # Resolved lazily: get_type_hints needs every nested model defined first.
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


def _read(raw: object, hint: Any, where: str) -> Any:
    args = get_args(hint)
    optional = get_origin(hint) is types.UnionType and type(None) in args
    if optional:
        (hint,) = (arg for arg in args if arg is not type(None))
    if raw is None or (raw == "" and optional):  # Zoom says "unset" with "" in many places
        if optional:
            return None
        raise _malformed(where, "is missing")
    if get_origin(hint) is tuple:
        if not isinstance(raw, list):
            raise _malformed(where, "is not a list")
        item_hint = get_args(hint)[0]
        return tuple(_read(item, item_hint, f"{where}[{i}]") for i, item in enumerate(raw))
    if isinstance(hint, type) and issubclass(hint, _Parsed):
        return hint._parse(raw, where)
    if hint is datetime:
        return _instant(raw, where)
    # isinstance(True, int) holds in Python, but a JSON boolean is never a number.
    if isinstance(raw, hint) and (hint is bool or not isinstance(raw, bool)):
        return raw
    raise _malformed(where, "has the wrong type")


def _instant(raw: object, where: str) -> datetime:
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise _malformed(where, "is not an ISO-8601 instant")
    return moment.astimezone(UTC)


def render_time(moment: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ssZ`` in UTC; refuses naive datetimes rather than guessing a zone."""
    _require_aware("a datetime sent to Zoom", moment)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _require_aware(name: str, moment: datetime | None) -> None:
    if moment is not None and moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def _check(ok: bool, message: str) -> None:
    if not ok:
        raise ValueError(message)


def _body(value: Any, **rendered: Any) -> dict[str, Any]:
    """A request value as a JSON object: its fields minus ``None``s, some rendered by the caller."""
    pairs = {item.name: getattr(value, item.name) for item in dataclasses.fields(value)}
    return {key: item for key, item in (pairs | rendered).items() if item is not None}


@dataclass(frozen=True, kw_only=True, slots=True)
class TokenSet(_Parsed):
    """One answer of Zoom's token endpoint. Token values are kept out of ``repr``."""

    _what = "token response"
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    scope: str = ""
    token_type: str = "bearer"

    def __post_init__(self) -> None:
        _check(self.expires_in > 0, "expires_in must be positive")

    def expires_at(self, now: datetime) -> datetime:
        """When the access token stops working, counted from ``now`` (the receipt time)."""
        _require_aware("now", now)
        return now + timedelta(seconds=self.expires_in)


@dataclass(frozen=True, kw_only=True, slots=True)
class ZoomUser(_Parsed):
    """``GET /users/me``: who granted us access."""

    _what = "user"
    id: str
    account_id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    timezone: str | None = None
    type: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DialInNumber(_Parsed):
    """One entry of ``settings.global_dial_in_numbers`` (read-only; Zoom fills it in)."""

    _what = "dial-in number"
    country: str | None = None
    country_name: str | None = None
    city: str | None = None
    number: str
    type: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MeetingSettings(_Parsed):
    """The ``settings`` we set or read; ``None`` means "leave it to Zoom's defaults"."""

    _what = "meeting settings"
    host_video: bool | None = None
    participant_video: bool | None = None
    join_before_host: bool | None = None
    jbh_time: int | None = None
    waiting_room: bool | None = None
    mute_upon_entry: bool | None = None
    approval_type: int | None = None
    audio: str | None = None
    auto_recording: str | None = None
    email_notification: bool | None = None
    meeting_authentication: bool | None = None
    global_dial_in_numbers: tuple[DialInNumber, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The request form: writable fields only (never ``global_dial_in_numbers``)."""
        for name, choices in _SETTING_CHOICES.items():
            value = getattr(self, name)
            _check(value is None or value in choices, f"settings.{name} must be one of {choices}")
        return _body(self, global_dial_in_numbers=None)


@dataclass(frozen=True, kw_only=True, slots=True)
class Recurrence(_Parsed):
    """``recurrence`` of a type-8 meeting. ``weekly_days`` is Zoom's string, ``"2,4"`` = Monday
    and Wednesday (1 = Sunday); ``end_times`` and ``end_date_time`` are mutually exclusive."""

    _what = "recurrence"
    type: int
    repeat_interval: int | None = None
    weekly_days: str | None = None
    monthly_day: int | None = None
    monthly_week: int | None = None
    monthly_week_day: int | None = None
    end_times: int | None = None
    end_date_time: datetime | None = None

    def __post_init__(self) -> None:
        _require_aware("recurrence.end_date_time", self.end_date_time)

    def to_json(self) -> dict[str, Any]:
        """The request form, after checking Zoom's documented ranges."""
        _check(self.type in _MAX_REPEAT_INTERVAL, "recurrence.type must be 1, 2 or 3")
        most = _MAX_REPEAT_INTERVAL[self.type]
        _check(
            self.repeat_interval in (None, *range(1, most + 1)),
            f"recurrence.repeat_interval must be 1 to {most} for type {self.type}",
        )
        _check(
            self.weekly_days is None or bool(_WEEKLY_DAYS.fullmatch(self.weekly_days)),
            "recurrence.weekly_days must be digits 1-7 separated by commas",
        )
        _check(self.monthly_day in (None, *range(1, 32)), "recurrence.monthly_day is 1-31")
        _check(self.monthly_week in (None, -1, 1, 2, 3, 4), "recurrence.monthly_week is -1, 1-4")
        _check(self.monthly_week_day in (None, *range(1, 8)), "recurrence.monthly_week_day is 1-7")
        _check(self.end_times in (None, *range(1, 61)), "recurrence.end_times is 1-60")
        _check(
            self.end_times is None or self.end_date_time is None,
            "recurrence takes end_times or end_date_time, not both",
        )
        end = self.end_date_time
        return _body(self, end_date_time=None if end is None else render_time(end))


@dataclass(frozen=True, kw_only=True, slots=True)
class Occurrence(_Parsed):
    """One instance of a recurring meeting, as listed in ``occurrences``."""

    _what = "occurrence"
    occurrence_id: str
    start_time: datetime
    duration: int
    status: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MeetingRequest:
    """The body of create (``POST /users/{userId}/meetings``) and update (``PATCH``).

    ``start_time`` must be timezone-aware and is sent as a UTC instant (``…Z``); ``timezone`` only
    tells Zoom how to display it. Fields left ``None`` are not sent (on PATCH: not changed).
    """

    topic: str | None = None
    type: int | None = None
    start_time: datetime | None = None
    duration: int | None = None
    timezone: str | None = None
    password: str | None = None
    agenda: str | None = None
    default_password: bool | None = None
    recurrence: Recurrence | None = None
    settings: MeetingSettings | None = None

    def __post_init__(self) -> None:
        _require_aware("start_time", self.start_time)
        _check(
            self.topic is None or utf16_length(self.topic) <= TOPIC_LIMIT,
            f"topic is at most {TOPIC_LIMIT} characters (UTF-16 units)",
        )
        _check(self.agenda is None or len(self.agenda) <= 2000, "agenda is at most 2000 characters")
        _check(
            self.password is None or bool(_PASSWORD.fullmatch(self.password)),
            "password is 1-10 characters: letters, digits, @ - _ *",
        )
        _check(self.type in (None, 1, 2, 3, 8), "type must be 1, 2, 3 or 8")
        _check(self.duration is None or self.duration > 0, "duration must be positive")

    def to_json(self, *, for_update: bool = False) -> dict[str, Any]:
        """The JSON body; every key is one the Zoom spec declares for this request. Zoom's PATCH
        has no ``default_password``, so ``for_update`` refuses it rather than drop it unseen."""
        if for_update and self.default_password is not None:
            raise ValueError("default_password can only be set when creating a meeting")
        start, recurrence, settings = self.start_time, self.recurrence, self.settings
        return _body(
            self,
            start_time=None if start is None else render_time(start),
            recurrence=None if recurrence is None else recurrence.to_json(),
            settings=None if settings is None else settings.to_json(),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Meeting(_Parsed):
    """A meeting as Zoom returns it from create (201) or get (200). No ``start_url``, by design.

    ``uuid``, ``host_id`` and ``status`` come only from GET; after create they are ``None``.
    """

    _what = "meeting"
    id: int
    uuid: str | None = None
    host_id: str | None = None
    host_email: str | None = None
    topic: str
    type: int
    start_time: datetime | None = None
    duration: int | None = None
    timezone: str | None = None
    agenda: str | None = None
    created_at: datetime | None = None
    join_url: str
    password: str | None = None
    h323_password: str | None = None
    pstn_password: str | None = None
    encrypted_password: str | None = None
    occurrences: tuple[Occurrence, ...] = ()
    recurrence: Recurrence | None = None
    settings: MeetingSettings | None = None
    status: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MeetingSummary(_Parsed):
    """One item of ``GET /users/{userId}/meetings`` (agenda is truncated there, so omitted)."""

    _what = "meeting summary"
    id: int
    uuid: str | None = None
    host_id: str | None = None
    topic: str
    type: int
    start_time: datetime | None = None
    duration: int | None = None
    timezone: str | None = None
    join_url: str
    created_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class MeetingList(_Parsed):
    """One page of the meeting list; ``next_page_token`` is ``None`` on the last page."""

    _what = "meeting list"
    meetings: tuple[MeetingSummary, ...] = ()
    next_page_token: str | None = None  # Zoom's "" on the last page is read as None
    total_records: int | None = None
