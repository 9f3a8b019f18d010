"""The environment the benchmarks start linkzoom, its workers and the Zoom sandbox with."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.support.keys import new_keyring
from tests.support.processes import python_env

NO_LIMIT = "10000000"  # daily create/update cap, raised for a run (Zoom's is 100)


def service_env(
    *,
    database_url: str,
    sandbox_url: str,
    var_dir: Path,
    client_id: str,
    client_secret: str | None = None,
    public_url: str | None = None,
    write_limits: bool = False,
    log_level: str = "WARNING",
    **extra: str,
) -> dict[str, str]:
    """One key ring, one Zoom app at the sandbox, fresh secrets; the daily write caps of both
    sides raised to :data:`NO_LIMIT` unless ``write_limits``. ``extra``: more ``LINKZOOM_*``
    settings, named without the prefix."""
    settings = {
        "DATABASE_URL": database_url,
        "KEYS": new_keyring(),
        "VAR_DIR": str(var_dir),
        "ZOOM_CLIENT_ID": client_id,
        "ZOOM_CLIENT_SECRET": client_secret or secrets.token_urlsafe(24),
        "ZOOM_WEBHOOK_SECRET": secrets.token_urlsafe(24),
        "ZOOM_OAUTH_URL": sandbox_url,
        "ZOOM_API_URL": sandbox_url + "/v2",
        "LOG_LEVEL": log_level,
    }
    if public_url is not None:
        settings["PUBLIC_URL"] = public_url
    if not write_limits:
        settings |= {"ZOOM_DAILY_WRITE_LIMIT": NO_LIMIT, "SANDBOX_DAILY_WRITE_LIMIT": NO_LIMIT}
    return python_env({f"LINKZOOM_{k}": v for k, v in (settings | extra).items()})
