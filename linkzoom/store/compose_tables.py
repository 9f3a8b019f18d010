"""Tables of the compose capability."""

from __future__ import annotations

from linkzoom.store.models import Base

__all__ = ["Base"]
