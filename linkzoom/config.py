"""Typed settings, read once from ``LINKZOOM_*`` environment variables.

This is the only module that reads the environment. :func:`load_settings` validates every value
and raises :class:`ConfigError` naming the variable, so a bad deployment stops at start-up with
one clear line instead of failing at the first request that needs the value.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "LINKZOOM_"


class ConfigError(ValueError):
    """A ``LINKZOOM_*`` variable holds a value we cannot use; the message names it."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{PREFIX}{variable}: {problem}")
        self.variable = PREFIX + variable


@dataclass(frozen=True, kw_only=True)
class LdapSettings:
    """Directory login (Active Directory or any LDAPv3 server)."""

    url: str
    base_dn: str
    upn_suffix: str | None = None
    user_dn_template: str | None = None
    admin_group: str | None = None
    timeout_seconds: float = 5.0


@dataclass(frozen=True, kw_only=True)
class Settings:
    database_url: str = "sqlite:///./var/linkzoom.db"
    public_url: str = "http://127.0.0.1:8000"
    var_dir: Path = Path("./var")
    keys: str | None = None
    zoom_client_id: str | None = None
    zoom_client_secret: str | None = None
    zoom_webhook_secret: str | None = None
    zoom_oauth_url: str = "https://zoom.us"
    zoom_api_url: str = "https://api.zoom.us/v2"
    zoom_timeout_seconds: float = 10.0
    reauthorize_days: int = 365
    zoom_refresh_token_days: int = 90
    zoom_daily_write_limit: int = 100
    session_days: int = 30
    controller_idle_minutes: int = 30
    controller_session_hours: int = 12
    max_body_bytes: int = 1_048_576
    log_level: str = "INFO"
    log_format: str = "json"
    worker_interval_seconds: float = 30.0
    trusted_proxies: tuple[str, ...] = ()
    audit_retention_days: int = 400
    compose_draft_days: int = 30
    mailbox_poll_seconds: float = 60.0
    device_sessions_per_user: int = 20
    addin_id: str | None = None  # unset: generated once and kept with the settings
    ldap: LdapSettings | None = None

    @property
    def zoom_sandboxed(self) -> bool:
        """No Zoom app configured: ``linkzoom run`` mounts the built-in sandbox instead."""
        return self.zoom_client_id is None

    @property
    def secure_cookies(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default: the process environment)."""
    env = _Env(os.environ if environ is None else environ)
    defaults = Settings()
    client_id = env.text("ZOOM_CLIENT_ID")
    client_secret = env.text("ZOOM_CLIENT_SECRET")
    if client_id and not client_secret:
        raise ConfigError("ZOOM_CLIENT_SECRET", "required when LINKZOOM_ZOOM_CLIENT_ID is set")
    log_format = env.text("LOG_FORMAT") or defaults.log_format
    if log_format not in ("json", "text"):
        raise ConfigError("LOG_FORMAT", "must be 'json' or 'text'")
    log_level = (env.text("LOG_LEVEL") or defaults.log_level).upper()
    if log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ConfigError("LOG_LEVEL", "must be one of DEBUG, INFO, WARNING, ERROR")
    idle_minutes = env.integer("CONTROLLER_IDLE_MINUTES", defaults.controller_idle_minutes, 1, 1440)
    session_hours = env.integer(
        "CONTROLLER_SESSION_HOURS", defaults.controller_session_hours, 1, 720
    )
    if idle_minutes > session_hours * 60:
        raise ConfigError(
            "CONTROLLER_IDLE_MINUTES", "must not be longer than LINKZOOM_CONTROLLER_SESSION_HOURS"
        )
    return Settings(
        database_url=env.database_url("DATABASE_URL", defaults.database_url),
        public_url=env.url("PUBLIC_URL", defaults.public_url),
        var_dir=Path(env.text("VAR_DIR") or defaults.var_dir),
        keys=env.text("KEYS"),
        zoom_client_id=client_id,
        zoom_client_secret=client_secret,
        zoom_webhook_secret=env.text("ZOOM_WEBHOOK_SECRET"),
        zoom_oauth_url=env.url("ZOOM_OAUTH_URL", defaults.zoom_oauth_url),
        zoom_api_url=env.url("ZOOM_API_URL", defaults.zoom_api_url),
        zoom_timeout_seconds=env.number("ZOOM_TIMEOUT_SECONDS", defaults.zoom_timeout_seconds),
        reauthorize_days=env.integer("REAUTHORIZE_DAYS", defaults.reauthorize_days, 1, 3650),
        zoom_refresh_token_days=env.integer(
            "ZOOM_REFRESH_TOKEN_DAYS", defaults.zoom_refresh_token_days, 2, 5500
        ),
        zoom_daily_write_limit=env.integer(
            "ZOOM_DAILY_WRITE_LIMIT", defaults.zoom_daily_write_limit, 1, 10_000_000
        ),
        session_days=env.integer("SESSION_DAYS", defaults.session_days, 1, 400),
        controller_idle_minutes=idle_minutes,
        controller_session_hours=session_hours,
        max_body_bytes=env.integer("MAX_BODY_BYTES", defaults.max_body_bytes, 1024, 64 << 20),
        log_level=log_level,
        log_format=log_format,
        worker_interval_seconds=env.number(
            "WORKER_INTERVAL_SECONDS", defaults.worker_interval_seconds
        ),
        trusted_proxies=_trusted_proxies(env),
        addin_id=_addin_id(env),
        audit_retention_days=env.integer(
            "AUDIT_RETENTION_DAYS", defaults.audit_retention_days, 1, 36500
        ),
        mailbox_poll_seconds=env.number("MAILBOX_POLL_SECONDS", defaults.mailbox_poll_seconds),
        compose_draft_days=env.integer("COMPOSE_DRAFT_DAYS", defaults.compose_draft_days, 1, 3650),
        device_sessions_per_user=env.integer(
            "DEVICE_SESSIONS_PER_USER", defaults.device_sessions_per_user, 1, 1000
        ),
        ldap=_ldap(env),
    )


def _addin_id(env: _Env) -> str | None:
    """The add-in's id: a GUID, the same in every manifest of a deployment (Exchange stores
    the add-in's custom properties under ``cecp-<id>``, so it must never change)."""
    raw = env.text("ADDIN_ID")
    if raw is None:
        return None
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ConfigError("ADDIN_ID", "must be a GUID such as 3f2b8c1e-…") from None


def _trusted_proxies(env: _Env) -> tuple[str, ...]:
    """Addresses or networks of the reverse proxies whose ``X-Forwarded-For``/``-Proto`` are
    believed; any other client's forwarded headers are ignored."""
    raw = env.text("TRUSTED_PROXIES")
    if raw is None:
        return ()
    proxies = []
    for item in (part.strip() for part in raw.split(",")):
        if not item:
            continue
        try:
            proxies.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                "TRUSTED_PROXIES", f"{item!r} is not an IP address or network (e.g. 10.0.0.0/8)"
            ) from None
    return tuple(proxies)


def _ldap(env: _Env) -> LdapSettings | None:
    url = env.text("LDAP_URL")
    if url is None:
        return None
    scheme = urlsplit(url).scheme
    if scheme not in ("ldap", "ldaps"):
        raise ConfigError("LDAP_URL", "must be an ldap:// or ldaps:// URL")
    base_dn = env.text("LDAP_BASE_DN")
    if base_dn is None:
        raise ConfigError("LDAP_BASE_DN", "required when LINKZOOM_LDAP_URL is set")
    template = env.text("LDAP_USER_DN_TEMPLATE")
    if template is not None and "{username}" not in template:
        raise ConfigError("LDAP_USER_DN_TEMPLATE", "must contain {username}")
    upn_suffix = env.text("LDAP_UPN_SUFFIX")
    if template is None and upn_suffix is None:
        raise ConfigError(
            "LDAP_UPN_SUFFIX", "set it (Active Directory) or LINKZOOM_LDAP_USER_DN_TEMPLATE"
        )
    return LdapSettings(
        url=url,
        base_dn=base_dn,
        upn_suffix=upn_suffix.lstrip("@") if upn_suffix else None,
        user_dn_template=template,
        admin_group=env.text("LDAP_ADMIN_GROUP"),
        timeout_seconds=env.number("LDAP_TIMEOUT_SECONDS", 5.0),
    )


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ

    def text(self, name: str) -> str | None:
        value = self._environ.get(PREFIX + name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(name, f"expected an integer, got {raw!r}") from None
        if not low <= value <= high:
            raise ConfigError(name, f"must be between {low} and {high}, got {value}")
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(name, f"expected a number, got {raw!r}") from None
        if not 0 < value < 86_400:
            raise ConfigError(name, f"must be a positive number of seconds, got {raw}")
        return value

    def url(self, name: str, default: str) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        parts = urlsplit(raw)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(name, f"expected an http(s) URL, got {raw!r}")
        if parts.query or parts.fragment:
            raise ConfigError(name, "must not carry a query or fragment")
        return raw.rstrip("/")

    def database_url(self, name: str, default: str) -> str:
        raw = self.text(name)
        if raw is None:
            return default
        scheme = raw.split(":", 1)[0]
        if not (scheme.startswith("sqlite") or scheme.startswith("postgresql")):
            raise ConfigError(name, "expected a sqlite:// or postgresql:// URL")
        return raw
