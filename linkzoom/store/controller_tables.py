"""Tables of the controller capability."""

from __future__ import annotations

from linkzoom.store.models import Base

__all__ = ["Base"]
