"""Settings of the Zoom sandbox, and how they are read from ``LINKZOOM_*`` variables.

The sandbox is started three ways (mounted by ``linkzoom run``, alone by ``linkzoom sandbox``,
and by end-to-end tests as ``python -m linkzoom.sandbox``); all of them build one frozen
:class:`SandboxConfig`. :func:`config_from_env` takes the environment as an argument so that the
caller, not this module, decides where the values come from.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

QPS_LABELS = ("light", "medium", "heavy")
DEFAULT_CLIENT_ID = "sandbox-client"


class SandboxConfigError(ValueError):
    """An environment variable for the sandbox holds a value we cannot use; the message names it."""


@dataclass(frozen=True, kw_only=True)
class SandboxConfig:
    """Everything the sandbox needs to know; see the module docstring for where it comes from."""

    client_id: str
    client_secret: str
    webhook_secret: str | None = None
    # Where signed events are POSTed (linkzoom's /webhooks/zoom); None sends nothing.
    webhook_url: str | None = None
    # Meeting create+update calls allowed per Zoom user per UTC day (Zoom: 100).
    daily_write_limit: int = 100
    # Per-account per-second budget by rate-limit label, e.g. {"light": 30, "medium": 20}.
    # None (or a missing label) means unlimited.
    qps: Mapping[str, int] | None = None
    access_token_ttl: int = 3600
    # Zoom's real per-user daily 429 arrives WITHOUT X-RateLimit-Type/Retry-After (devforum
    # 18928); True adds them, to exercise a client's header path as well.
    daily_limit_headers: bool = False
    # Optional JSON persistence so `make run` survives restarts (saved on a debounce).
    state_file: Path | None = None
    # Zoom also notifies about changes the app made itself through the API. Off by default
    # because benchmarks would otherwise flood the receiver; the control API always notifies.
    webhook_api_events: bool = False


def config_from_env(environ: Mapping[str, str]) -> SandboxConfig:
    """Build a :class:`SandboxConfig` from ``LINKZOOM_*`` variables in ``environ``.

    Unset client credentials default to client id ``sandbox-client`` and a random secret, so the
    standalone sandbox starts with no configuration at all.
    """

    def text(name: str) -> str | None:
        value = environ.get(name, "").strip()
        return value or None

    limit_text = text("LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT")
    state_file = text("LINKZOOM_SANDBOX_STATE_FILE")
    return SandboxConfig(
        client_id=text("LINKZOOM_ZOOM_CLIENT_ID") or DEFAULT_CLIENT_ID,
        client_secret=text("LINKZOOM_ZOOM_CLIENT_SECRET") or secrets.token_urlsafe(24),
        webhook_secret=text("LINKZOOM_ZOOM_WEBHOOK_SECRET"),
        webhook_url=text("LINKZOOM_SANDBOX_WEBHOOK_URL"),
        daily_write_limit=(
            _positive_int("LINKZOOM_SANDBOX_DAILY_WRITE_LIMIT", limit_text)
            if limit_text is not None
            else 100
        ),
        qps=parse_qps(text("LINKZOOM_SANDBOX_QPS")),
        state_file=Path(state_file) if state_file else None,
    )


def parse_qps(value: str | None) -> dict[str, int] | None:
    """Parse ``"light=30,medium=20,heavy=10"``; None or empty means unlimited."""
    if not value:
        return None
    budget: dict[str, int] = {}
    for item in value.split(","):
        label, sep, number = item.partition("=")
        label = label.strip().lower()
        if not sep or label not in QPS_LABELS:
            raise SandboxConfigError(
                f"LINKZOOM_SANDBOX_QPS: expected label=number with a label in {QPS_LABELS}, "
                f"got {item.strip()!r}"
            )
        budget[label] = _positive_int("LINKZOOM_SANDBOX_QPS", number.strip())
    return budget


def _positive_int(variable: str, value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise SandboxConfigError(f"{variable}: {value!r} is not an integer") from None
    if number < 1:
        raise SandboxConfigError(f"{variable}: must be at least 1, got {number}")
    return number
