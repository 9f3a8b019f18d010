"""Small values every HTTP answer writes the same way: instants, origins, cache headers.

No Starlette here, so domain modules (the problem tree) may use them too.
"""

from __future__ import annotations

from datetime import datetime
from typing import overload
from urllib.parse import urlsplit

# Answers carrying secrets or per-user state (join links, passcodes, tokens) are never cached.
NO_STORE = {"Cache-Control": "no-store"}
# The OAuth pages also keep their URLs (states, codes) out of the next site's Referer.
NO_STORE_NO_REFERRER = NO_STORE | {"Referrer-Policy": "no-referrer"}


@overload
def iso(moment: datetime) -> str: ...
@overload
def iso(moment: None) -> None: ...
def iso(moment: datetime | None) -> str | None:
    """ISO 8601 as the API writes instants: UTC as ``Z``, other offsets as they are."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"
