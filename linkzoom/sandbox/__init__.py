"""A faithful in-memory stand-in for Zoom: OAuth, REST API v2 meetings, rate limits, webhooks.

It speaks Zoom's public wire contract (see ``shared/research/zoom-api.md``) so that linkzoom's
Zoom client needs no special case for it. ``linkzoom run`` mounts it under ``/zoom-sandbox`` when
no Zoom app is configured, and the mount stops answering while an administrator has configured
one; ``linkzoom sandbox`` and ``python -m linkzoom.sandbox`` run it alone; tests drive it
in-process or over loopback and steer it through ``/_sandbox/``.
"""

from .app import create_sandbox_app
from .config import SandboxConfig, SandboxConfigError, config_from_env
from .server import serve

__all__ = ["SandboxConfig", "SandboxConfigError", "config_from_env", "create_sandbox_app", "serve"]
