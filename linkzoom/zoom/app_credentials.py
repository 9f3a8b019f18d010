"""Which Zoom app we act as: the configured one, or the built-in sandbox's.

With no ``LINKZOOM_ZOOM_CLIENT_ID``, ``linkzoom run`` mounts the sandbox under ``/zoom-sandbox``
and talks to it over real HTTP, as it would to Zoom. The sandbox app's credentials are generated
once into the var directory (mode 0600) so grants survive a restart.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field

from linkzoom.config import Settings

SANDBOX_PREFIX = "/zoom-sandbox"


@dataclass(frozen=True, kw_only=True)
class ZoomApp:
    client_id: str
    client_secret: str = field(repr=False)
    webhook_secret: str | None = field(repr=False)
    oauth_url: str
    api_url: str
    sandboxed: bool


def resolve(settings: Settings) -> ZoomApp:
    if settings.zoom_client_id is not None:
        assert settings.zoom_client_secret is not None
        return ZoomApp(
            client_id=settings.zoom_client_id,
            client_secret=settings.zoom_client_secret,
            webhook_secret=settings.zoom_webhook_secret,
            oauth_url=settings.zoom_oauth_url,
            api_url=settings.zoom_api_url,
            sandboxed=False,
        )
    path = settings.var_dir / "sandbox-app.json"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(
                {
                    "client_id": "sandbox-" + secrets.token_hex(6),
                    "client_secret": secrets.token_urlsafe(24),
                    "webhook_secret": secrets.token_urlsafe(24),
                },
                handle,
            )
    stored = json.loads(path.read_text())
    base = settings.public_url + SANDBOX_PREFIX
    return ZoomApp(
        client_id=stored["client_id"],
        client_secret=stored["client_secret"],
        webhook_secret=stored["webhook_secret"],
        oauth_url=base,
        api_url=base + "/v2",
        sandboxed=True,
    )
