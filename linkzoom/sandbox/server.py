"""``serve``: run the sandbox alone under uvicorn (``linkzoom sandbox``, end-to-end tests)."""

from __future__ import annotations

import logging

import uvicorn

from .app import create_sandbox_app
from .config import SandboxConfig

log = logging.getLogger(__name__)


def serve(config: SandboxConfig, *, host: str = "127.0.0.1", port: int = 8900) -> None:
    """Serve the sandbox until interrupted.

    The access log stays off: OAuth redirects and the consent form carry codes and states in
    their URLs, and those must not end up in logs.
    """
    log.warning(
        "Zoom sandbox on http://%s:%d: meetings are simulated (client_id=%s)",
        host,
        port,
        config.client_id,
    )
    uvicorn.run(
        create_sandbox_app(config),
        host=host,
        port=port,
        access_log=False,
        log_level="info",
        lifespan="on",
    )
