"""``python -m linkzoom.sandbox [--host H] [--port P]``: the sandbox as its own process.

Settings come from ``LINKZOOM_*`` variables (see :func:`.config.config_from_env`). When no client
secret is set, the generated one is printed once so that a client can be configured with it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from .config import config_from_env
from .server import serve


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m linkzoom.sandbox", description="Run the simulated Zoom."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8900)
    args = parser.parse_args(argv)
    environ = dict(os.environ)
    config = config_from_env(environ)
    if not environ.get("LINKZOOM_ZOOM_CLIENT_SECRET", "").strip():
        print(f"sandbox client secret (generated): {config.client_secret}", file=sys.stderr)
    serve(config, host=args.host, port=args.port)


if __name__ == "__main__":
    main()
